/**
 * Runs the chosen operation: builds the provider's client once for the whole run (and closes it
 * after), and takes the credential's secrets out of whatever leaves the node.
 */
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { own } from '../../../src/util';
import { redactDeep, redactError } from '../../../src/util';
import { closeEngine, createEngine, providerCredential, secretsIn, type EngineSettings, type Provider, type StorageEngine } from '../helpers/engine';
import { sameForEveryItem } from '../../shared/runWide';
import * as deleteOperation from './delete.operation';
import * as getUrl from './getUrl.operation';
import * as upload from './upload.operation';

interface Operation {
	execute(this: IExecuteFunctions, engine: StorageEngine, items: INodeExecutionData[]): Promise<INodeExecutionData[]>;
	/** Settings of the client that this operation's parameters decide. */
	engineSettings?(this: IExecuteFunctions): EngineSettings;
}

export const operations: Record<string, Operation> = { upload, delete: deleteOperation, getUrl };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const handler = resource === 'file' ? own(operations, operation) : undefined;
	if (!handler) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`, {
			description: `Cloud Image Storage can ${Object.keys(operations).join(', ')}; pick one of them in Operation.`,
		});
	}
	const provider = this.getNodeParameter('provider', 0) as Provider;
	let secrets: { all: string[]; outputs: string[] } = { all: [], outputs: [] };
	try {
		const credential = await providerCredential(this, provider);
		// Items may carry presigned URLs, which hold the session token by design; errors and logs never do.
		secrets = { all: secretsIn(provider, credential), outputs: secretsIn(provider, credential, { inUrls: true }) };
		// One client per run: its bucket is the same for every item.
		const bucket = provider === 's3' ? sameForEveryItem(this, 'Bucket', (i) => this.getNodeParameter('bucket', i, '') as string) : '';
		const engine = createEngine(this, provider, credential, bucket, handler.engineSettings?.call(this));
		let out: INodeExecutionData[];
		try {
			out = await handler.execute.call(this, engine, items);
		} finally {
			await closeEngine(engine);
		}
		return [out.map((item) => ({ ...item, json: redactDeep(item.json, item.json.error === undefined ? secrets.outputs : secrets.all) }))];
	} catch (error) {
		throw redactError(error, secrets.all);
	}
}
