import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class CloudflareImagesApi implements ICredentialType {
	name = 'cloudflareImagesApi';

	displayName = 'Cloudflare Images API';

	documentationUrl = 'https://github.com/n8n-nodes-comfyui-cluster/n8n-nodes-comfyui-cluster#credential-cloudflare-images';

	icon: Icon = { light: 'file:../icons/cloudImageStorage.svg', dark: 'file:../icons/cloudImageStorage.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Account ID',
			name: 'accountId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'API Token',
			name: 'apiToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'A token with the "Cloudflare Images: Edit" permission',
		},
		{
			displayName: 'URL Signing Key',
			name: 'signingSecretKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Only for private images (Require Signed URLs, signed Get URL): a key from Images → Keys in the Cloudflare dashboard. Delivery URLs are signed with it (HMAC-SHA256); it is never sent anywhere.',
		},
		{
			displayName: 'Delivery Domain',
			name: 'deliveryDomain',
			type: 'string',
			default: '',
			placeholder: 'images.example.com',
			description: 'A domain of the same account for https://DOMAIN/cdn-cgi/imagedelivery/... URLs; empty = imagedelivery.net',
		},
		{
			displayName: 'Account Hash',
			name: 'accountHash',
			type: 'string',
			default: '',
			description: 'The hash in delivery URLs (not the account ID); empty = read from the first upload',
		},
		{
			displayName: 'API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: 'https://api.cloudflare.com/client/v4',
			description: 'Change only to go through a proxy',
		},
		{
			displayName: 'Batch API Base URL',
			name: 'batchBaseUrl',
			type: 'string',
			default: 'https://batch.imagedelivery.net',
			description: 'Host used with batch tokens; change only to go through a proxy',
		},
	];
}
