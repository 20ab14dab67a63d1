/**
 * Cloud Image Storage: the node's face (a hidden resource, the provider, the operations).
 * actions/router.ts runs the chosen operation (actions/<op>.operation.ts: its parameters and its
 * execute) on the storage engine it builds once per run (helpers/engine.ts); helpers/errors.ts maps
 * engine errors to n8n's; methods/ holds the credential tests.
 */
import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import * as deleteOperation from './actions/delete.operation';
import * as getUrlOperation from './actions/getUrl.operation';
import { router } from './actions/router';
import * as uploadOperation from './actions/upload.operation';
import { credentialTest } from './methods';
import { codexOf } from '../shared/codex';
import codexFile from './CloudImageStorage.node.json';

export class CloudImageStorage implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Cloud Image Storage',
		name: 'cloudImageStorage',
		icon: { light: 'file:../../icons/cloudImageStorage.svg', dark: 'file:../../icons/cloudImageStorage.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ {upload: "Upload", delete: "Delete", getUrl: "Get URL"}[$parameter["operation"]] + ": " + ($parameter["provider"] === "s3" ? "S3" : "Cloudflare Images") }}',
		description: 'Upload images, video and audio to S3-compatible storage or Cloudflare Images, many files at once, with retries',
		defaults: { name: 'Cloud Image Storage' },
		usableAsTool: true,
		codex: codexOf(codexFile),
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 's3CompatibleApi', displayName: 'S3-Compatible Storage', required: true, testedBy: 's3CompatibleApiTest', displayOptions: { show: { provider: ['s3'] } } },
			{ name: 'cloudflareImagesApi', displayName: 'Cloudflare Images Account', required: true, testedBy: 'cloudflareImagesApiTest', displayOptions: { show: { provider: ['cloudflareImages'] } } },
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'hidden',
				noDataExpression: true,
				options: [{ name: 'File', value: 'file' }],
				default: 'file',
			},
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
				displayOptions: { show: { resource: ['file'] } },
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

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
