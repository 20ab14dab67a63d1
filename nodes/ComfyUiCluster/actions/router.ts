import { NodeApiError, NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { ServerSpecError } from '../../../src/cluster/serverSpec';
import { redactDeep, redactError } from '../../../src/util/redact';
import { credentialSecrets } from '../transport';
import * as cancel from './cancel.operation';
import * as clusterStatus from './clusterStatus.operation';
import * as collect from './collect.operation';
import * as freeMemory from './freeMemory.operation';
import * as generate from './generate.operation';
import * as submit from './submit.operation';

export const operations = { generate, submit, collect, cancel, clusterStatus, freeMemory };

export type OperationName = keyof typeof operations;

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as OperationName;
	const handler = operations[operation];
	if (!handler) throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`);
	// Whatever leaves the node (items, errors with their causes) passes through here without a secret.
	const secrets = await credentialSecrets(this).catch(() => []);
	try {
		const items = await handler.execute.call(this);
		return [items.map((item) => ({ ...item, json: redactDeep(item.json, secrets) }))];
	} catch (error) {
		throw redactError(nodeError(this, error), secrets);
	}
}

function nodeError(ctx: IExecuteFunctions, error: unknown): NodeOperationError | NodeApiError {
	if (error instanceof ServerSpecError) {
		return new NodeOperationError(ctx.getNode(), `ComfyUI Cluster credential, Servers: ${error.message}`, {
			description: 'Fix the server list in the ComfyUI Cluster API credential: one URL per line, e.g. http://10.0.0.5:8188 weight=2 max=2',
		});
	}
	return error instanceof NodeOperationError || error instanceof NodeApiError ? error : new NodeOperationError(ctx.getNode(), error as Error);
}
