import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { redactDeep, redactError } from '../../src/util/redact';
import { storageSecrets, type Provider } from './actions/common';
import * as deleteOperation from './actions/delete.operation';
import * as getUrlOperation from './actions/getUrl.operation';
import * as uploadOperation from './actions/upload.operation';
import { cloudflareImagesApiTest, s3CompatibleApiTest } from './methods/credentialTest';

export class CloudImageStorage implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Cloud Image Storage',
		name: 'cloudImageStorage',
		icon: { light: 'file:../../icons/cloudImageStorage.svg', dark: 'file:../../icons/cloudImageStorage.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + ($parameter["provider"] === "s3" ? "S3" : "Cloudflare Images") }}',
		description: 'Upload images, video and audio to S3-compatible storage or Cloudflare Images, many files at once, with retries',
		defaults: { name: 'Cloud Image Storage' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 's3CompatibleApi', required: true, testedBy: 's3CompatibleApiTest', displayOptions: { show: { provider: ['s3'] } } },
			{ name: 'cloudflareImagesApi', required: true, testedBy: 'cloudflareImagesApiTest', displayOptions: { show: { provider: ['cloudflareImages'] } } },
		],
		properties: [
			{
				displayName: 'Provider',
				name: 'provider',
				type: 'options',
				noDataExpression: true,
				default: 's3',
				options: [
					{ name: 'S3 Compatible (AWS, R2, GCS, MinIO, B2, Wasabi)', value: 's3' },
					{ name: 'Cloudflare Images', value: 'cloudflareImages' },
				],
				description: 'Where the files go',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				default: 'upload',
				options: [
					{ name: 'Upload', value: 'upload', action: 'Upload binary files', description: 'Upload the binary files of every item' },
					{ name: 'Delete', value: 'delete', action: 'Delete a file', description: 'Delete an object or image' },
					{ name: 'Get URL', value: 'getUrl', action: 'Get a file URL', description: 'Build a public, presigned or delivery URL' },
				],
			},
			...uploadOperation.description,
			...deleteOperation.description,
			...getUrlOperation.description,
		],
	};

	methods = {
		credentialTest: { s3CompatibleApiTest, cloudflareImagesApiTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;
		const run = operation === 'upload' ? uploadOperation.execute : operation === 'delete' ? deleteOperation.execute : getUrlOperation.execute;
		// Whatever leaves the node (items, errors with their causes) passes through here without a secret.
		const secrets = await storageSecrets(this, this.getNodeParameter('provider', 0) as Provider).catch(() => ({ all: [], outputs: [] }));
		try {
			const out = await run.call(this, items);
			return [out.map((item) => ({ ...item, json: redactDeep(item.json, item.json.error === undefined ? secrets.outputs : secrets.all) }))];
		} catch (error) {
			throw redactError(error, secrets.all);
		}
	}
}
