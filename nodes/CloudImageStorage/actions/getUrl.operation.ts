/** Get URL: a public or presigned URL for an object, or a Cloudflare delivery URL for an image. */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { isFlexibleVariant, normalizeKey, signingKeyMissing } from '../../../src/storage';
import { DEFAULT_GET_URL_KIND, DEFAULT_PRESIGN_EXPIRY_S, DEFAULT_SIGNED_URL_EXPIRY_S, DEFAULT_VARIANT } from '../helpers/defaults';
import type { StorageEngine } from '../helpers/engine';
import { itemError } from '../helpers/errors';
import { bucketField, cfOnly, presignExpiryField, s3Only } from './common.descriptions';

const show = { operation: ['getUrl'] };

export const description: INodeProperties[] = [
	{ ...bucketField, displayOptions: { show: { ...show, ...s3Only } } },
	{
		displayName: 'Object Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { ...show, ...s3Only } },
		description: 'Key of the object',
	},
	{
		displayName: 'URL',
		name: 'urlKind',
		type: 'options',
		default: DEFAULT_GET_URL_KIND,
		displayOptions: { show: { ...show, ...s3Only } },
		options: [
			{ name: 'Presigned URL', value: 'presigned' },
			{ name: 'Public URL', value: 'public' },
		],
		description: 'Which URL to build',
	},
	presignExpiryField(show, 'Lifetime of the presigned URL, at most 7 days (604800 seconds)'),
	{
		displayName: 'Content-Disposition',
		name: 'contentDisposition',
		type: 'string',
		default: '',
		placeholder: 'attachment; filename="image.png"',
		displayOptions: { show: { ...show, ...s3Only, urlKind: ['presigned'] } },
		description: 'Content-Disposition the server sends for this URL (for downloads with a file name)',
	},
	{
		displayName: 'Image ID',
		name: 'imageId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { ...show, ...cfOnly } },
		description: 'ID of the image',
	},
	{
		displayName: 'Variant',
		name: 'variant',
		type: 'string',
		default: DEFAULT_VARIANT,
		displayOptions: { show: { ...show, ...cfOnly } },
		description: 'Variant of the delivery URL',
	},
	{
		displayName: 'Signed URL',
		name: 'signed',
		type: 'boolean',
		default: false,
		displayOptions: { show: { ...show, ...cfOnly } },
		description: 'Whether to sign the URL, for images uploaded with Require Signed URLs (needs the credential\'s URL Signing Key; named variants only)',
	},
	{
		displayName: 'Expires In (Seconds)',
		name: 'signedUrlExpiry',
		type: 'number',
		default: DEFAULT_SIGNED_URL_EXPIRY_S,
		typeOptions: { minValue: 1 },
		displayOptions: { show: { ...show, ...cfOnly, signed: [true] } },
		description: 'How long the signed URL stays valid',
	},
];

export async function execute(this: IExecuteFunctions, engine: StorageEngine, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const provider = engine.provider;
	const out: INodeExecutionData[] = [];
	if (engine.provider === 's3') {
		const storage = engine.storage;
		for (let i = 0; i < items.length; i++) {
			try {
				const key = normalizeKey(this.getNodeParameter('key', i) as string);
				const kind = this.getNodeParameter('urlKind', i) as 'public' | 'presigned';
				let url: string;
				let expiresAt: string | null = null;
				if (kind === 'presigned') {
					const seconds = this.getNodeParameter('presignExpiry', i, DEFAULT_PRESIGN_EXPIRY_S) as number;
					url = await storage.presignGet(key, seconds, { contentDisposition: this.getNodeParameter('contentDisposition', i, '') as string });
					expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
				} else url = storage.publicUrl(key);
				out.push({ json: { provider, bucket: storage.bucket, key, url, kind, expiresAt }, pairedItem: { item: i } });
			} catch (error) {
				out.push(itemError(this, error, i));
			}
		}
		return out;
	}
	const client = engine.client;
	const signal = this.getExecutionCancelSignal();
	for (let i = 0; i < items.length; i++) {
		try {
			const id = (this.getNodeParameter('imageId', i) as string).trim();
			if (!id) throw new Error('The image ID is empty');
			const variant = (this.getNodeParameter('variant', i, DEFAULT_VARIANT) as string).trim() || DEFAULT_VARIANT;
			const signed = this.getNodeParameter('signed', i, false) as boolean;
			const seconds = signed ? (this.getNodeParameter('signedUrlExpiry', i, DEFAULT_SIGNED_URL_EXPIRY_S) as number) : undefined;
			if (signed && !client.canSign) throw new Error(signingKeyMissing('Signed URL'));
			if (signed && isFlexibleVariant(variant)) throw new Error(`Cloudflare Images cannot sign flexible variants ("${variant}"): pick a named variant such as public`);
			let url = client.deliveryUrl(id, variant, [], seconds);
			if (!url) {
				// No account hash configured: one GET teaches it (from the image's variant URLs).
				const image = await client.get(id, signal);
				if (!image) throw new Error(`Cloudflare Images has no image "${id}"`);
				url = client.deliveryUrl(id, variant, image.variants, seconds);
			}
			if (!url) throw new Error('Could not find the account hash: set it in the Cloudflare Images credential');
			const exp = seconds === undefined ? null : new URL(url).searchParams.get('exp');
			const expiresAt = exp === null ? null : new Date(Number(exp) * 1000).toISOString();
			out.push({ json: { provider, account: client.account, id, variant, url, signed, expiresAt }, pairedItem: { item: i } });
		} catch (error) {
			out.push(itemError(this, error, i));
		}
	}
	return out;
}
