/** Delete: removes one object (S3) or image (Cloudflare) per item. */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { deleteAll, type DeleteSpec, type DeleteTarget } from '../../../src/storage';
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

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const provider = this.getNodeParameter('provider', 0) as Provider;
	const signal = this.getExecutionCancelSignal();
	const failed = new Map<number, unknown>();
	const specs: DeleteSpec[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			specs.push({ itemIndex: i, key: String(this.getNodeParameter(provider === 's3' ? 'key' : 'imageId', i) ?? '') });
		} catch (error) {
			failed.set(i, error);
		}
	}
	let target: DeleteTarget;
	let close: () => Promise<void> | void;
	if (provider === 's3') {
		const storage = await createS3(this, this.getNodeParameter('bucket', 0, '') as string);
		target = { provider, storage };
		close = () => storage.destroy();
	} else {
		const client = await createCloudflare(this);
		target = { provider, client };
		close = () => client.close();
	}
	let results;
	try {
		results = await deleteAll(specs, target, { signal });
	} finally {
		await close();
	}
	const byItem = new Map(results.map((r) => [r.itemIndex, r]));
	return items.map((_item, i) => {
		const result = byItem.get(i);
		if (!result || !result.ok) return itemError(this, result ? result.error : failed.get(i), i);
		const where = target.provider === 's3' ? { bucket: target.storage.bucket, key: result.key } : { account: target.client.account, id: result.key };
		return { json: { provider, ...where, deleted: result.deleted }, pairedItem: { item: i } };
	});
}
