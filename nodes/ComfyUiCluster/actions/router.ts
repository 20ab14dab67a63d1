/**
 * Runs the chosen operation on the cluster runtime, fetched once per run from the credentials, and
 * takes every secret of those credentials out of whatever leaves the node (items, errors with their causes).
 */
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import type { Runtime } from '../../../src/cluster';
import { own } from '../../../src/util';
import { redactDeep, redactError } from '../../../src/util';
import { clusterConfigOf, configSecrets, runtimeFor } from '../helpers/engine';
import { nodeError } from '../helpers/errors';
import * as cancel from './cancel.operation';
import * as clusterStatus from './clusterStatus.operation';
import * as collect from './collect.operation';
import * as freeMemory from './freeMemory.operation';
import * as generate from './generate.operation';
import * as submit from './submit.operation';

interface Operation {
	execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]>;
}

export const operations: Record<string, Operation> = { generate, submit, collect, cancel, clusterStatus, freeMemory };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const handler = resource === 'cluster' ? own(operations, operation) : undefined;
	if (!handler) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`, {
			description: `ComfyUI Cluster can ${Object.keys(operations).join(', ')}; pick one of them in Operation.`,
		});
	}
	let secrets: string[] = [];
	try {
		const config = await clusterConfigOf(this);
		secrets = configSecrets(config);
		const runtime = await runtimeFor(this, config);
		const items = await handler.execute.call(this, runtime);
		return [items.map((item) => ({ ...item, json: redactDeep(item.json, secrets) }))];
	} catch (error) {
		throw redactError(nodeError(this, error), secrets);
	}
}
