import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class S3CompatibleApi implements ICredentialType {
	name = 's3CompatibleApi';

	displayName = 'S3 Compatible Storage API';

	documentationUrl = 'https://github.com/n8n-nodes-comfyui-cluster/n8n-nodes-comfyui-cluster#credential-s3-compatible';

	icon: Icon = { light: 'file:../icons/cloudImageStorage.svg', dark: 'file:../icons/cloudImageStorage.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Provider',
			name: 'preset',
			type: 'options',
			default: 'aws',
			description: 'Fills the endpoint, region, addressing style and checksum mode that this provider needs',
			options: [
				{ name: 'AWS S3', value: 'aws' },
				{ name: 'Backblaze B2', value: 'b2' },
				{ name: 'Cloudflare R2', value: 'r2' },
				{ name: 'Custom S3-Compatible Endpoint', value: 'custom' },
				{ name: 'Google Cloud Storage (Interoperability)', value: 'gcs' },
				{ name: 'MinIO', value: 'minio' },
				{ name: 'Wasabi', value: 'wasabi' },
			],
		},
		{
			displayName: 'Cloudflare Account ID',
			name: 'accountId',
			type: 'string',
			default: '',
			required: true,
			displayOptions: { show: { preset: ['r2'] } },
			description: 'Builds the endpoint https://ACCOUNT_ID.r2.cloudflarestorage.com',
		},
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://s3.example.com',
			description: 'Leave empty to use the provider\'s endpoint (required for MinIO and custom endpoints)',
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: '',
			placeholder: 'us-east-1',
			description: 'Leave empty for the provider\'s default (auto for R2 and Google Cloud Storage, us-east-1 elsewhere)',
		},
		{
			displayName: 'Access Key ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Secret Access Key',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Only for temporary credentials',
		},
		{
			displayName: 'Default Bucket',
			name: 'bucket',
			type: 'string',
			default: '',
			description: 'Used when the node leaves the bucket empty; the credential test checks this bucket',
		},
		{
			displayName: 'Public URL Base',
			name: 'publicUrlBase',
			type: 'string',
			default: '',
			placeholder: 'https://cdn.example.com',
			description: 'Base of public object URLs (CDN, custom domain or r2.dev URL); the key is appended, or put {key} where it goes. Required for public R2 URLs.',
		},
		{
			displayName: 'Addressing Style',
			name: 'addressingStyle',
			type: 'options',
			default: 'preset',
			options: [
				{ name: 'Provider Default', value: 'preset' },
				{ name: 'Path Style (Endpoint/Bucket/Key)', value: 'path' },
				{ name: 'Virtual-Hosted Style (Bucket.endpoint/Key)', value: 'virtual' },
			],
			description: 'Path style is needed for MinIO, IP addresses and most self-hosted endpoints',
		},
		{
			displayName: 'Checksum Mode',
			name: 'checksumMode',
			type: 'options',
			default: 'preset',
			options: [
				{ name: 'Provider Default', value: 'preset' },
				{ name: 'When Required (Safe for S3-Compatible Providers)', value: 'WHEN_REQUIRED' },
				{ name: 'When Supported (AWS Default)', value: 'WHEN_SUPPORTED' },
			],
			description: 'Extra CRC32 checksums break many non-AWS providers; the default sends them only to AWS',
		},
	];
}
