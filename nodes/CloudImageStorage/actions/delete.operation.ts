/** Delete: removes one object (S3) or image (Cloudflare) per item. */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import pLimit from 'p-limit';
import { retry } from '../../../src/util/backoff';
import { StorageError, normalizeKey } from '../../../src/storage';
import { bucketField, cfOnly, createCloudflare, createS3, itemError, s3Only, type Provider } from './common';

const show = { operation: ['delete'] };

export const description: INodeProperties[] = [
	{ ...bucketField, displayOptions: { show: { ...show, ...s3Only } } },
	{
		displayName: 'Object Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		placeholder: '={{ $json.key }}',
		displayOptions: { show: { ...show, ...s3Only } },
		description: 'Key of the object to delete',
	},
	{
		displayName: 'Image ID',
		name: 'imageId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '={{ $json.key }}',
		displayOptions: { show: { ...show, ...cfOnly } },
		description: 'ID of the image to delete',
	},
];

const RETRY = { attempts: 4, backoff: { initialMs: 1000, maxMs: 30_000 } };
const classify = (error: unknown) =>
	error instanceof StorageError && error.retryable ? { retry: true as const, afterMs: error.retryAfterMs } : { retry: false as const };

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const provider = this.getNodeParameter('provider', 0) as Provider;
	const signal = this.getExecutionCancelSignal();
	const limit = pLimit(8);
	if (provider === 's3') {
		const storage = await createS3(this, this.getNodeParameter('bucket', 0, '') as string);
		try {
			const settled = await Promise.allSettled(
				items.map((_item, i) =>
					limit(async () => {
						const key = normalizeKey(this.getNodeParameter('key', i) as string);
						await retry(() => storage.delete(key, signal), { ...RETRY, classify, signal });
						return { provider, bucket: storage.bucket, key, deleted: true };
					}),
				),
			);
			return settled.map((s, i) => (s.status === 'fulfilled' ? { json: s.value, pairedItem: { item: i } } : itemError(this, s.reason, i)));
		} finally {
			storage.destroy();
		}
	}
	const client = await createCloudflare(this);
	try {
		const settled = await Promise.allSettled(
			items.map((_item, i) =>
				limit(async () => {
					const id = (this.getNodeParameter('imageId', i) as string).trim();
					if (!id) throw new Error('The image ID is empty');
					const deleted = await retry(() => client.delete(id, signal), { ...RETRY, classify, signal });
					return { provider, account: client.account, id, deleted };
				}),
			),
		);
		return settled.map((s, i) => (s.status === 'fulfilled' ? { json: s.value, pairedItem: { item: i } } : itemError(this, s.reason, i)));
	} finally {
		await client.close();
	}
}
