/** Delete: removes one object (S3) or image (Cloudflare) per item. */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { deleteAll, type DeleteSpec } from '../../../src/storage';
import type { StorageEngine } from '../helpers/engine';
import { itemError } from '../helpers/errors';
import { bucketField, cfOnly, s3Only } from './common.descriptions';

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

export async function execute(this: IExecuteFunctions, engine: StorageEngine, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const provider = engine.provider;
	const failed = new Map<number, unknown>();
	const specs: DeleteSpec[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			specs.push({ itemIndex: i, key: String(this.getNodeParameter(provider === 's3' ? 'key' : 'imageId', i) ?? '') });
		} catch (error) {
			failed.set(i, error);
		}
	}
	const results = await deleteAll(specs, engine, { signal: this.getExecutionCancelSignal(), log: engine.log });
	const byItem = new Map(results.map((r) => [r.itemIndex, r]));
	return items.map((_item, i) => {
		const result = byItem.get(i);
		if (!result || !result.ok) return itemError(this, result ? result.error : failed.get(i), i);
		const where = engine.provider === 's3' ? { bucket: engine.storage.bucket, key: result.key } : { account: engine.client.account, id: result.key };
		return { json: { provider, ...where, deleted: result.deleted }, pairedItem: { item: i } };
	});
}
