/**
 * ComfyUI Cluster: the node's face (a hidden resource, the operations). actions/router.ts runs the
 * chosen operation (actions/<op>.operation.ts: its parameters and its execute) on the cluster runtime
 * it fetches once per run (helpers/engine.ts); helpers/ also turns items into scenes and outcomes into
 * items, reads the parameters (zod) and maps errors; methods/ holds the credential tests.
 */
import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { router } from './actions/router';
import * as cancel from './actions/cancel.operation';
import * as clusterStatus from './actions/clusterStatus.operation';
import * as collect from './actions/collect.operation';
import * as freeMemory from './actions/freeMemory.operation';
import * as generate from './actions/generate.operation';
import * as submit from './actions/submit.operation';
import { credentialTest } from './methods';
import { codexOf } from '../shared/codex';
import codexFile from './ComfyUiCluster.node.json';

export class ComfyUiCluster implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'ComfyUI Cluster',
		name: 'comfyUiCluster',
		icon: { light: 'file:../../icons/comfyui.svg', dark: 'file:../../icons/comfyui.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ {generate: "Generate", submit: "Submit", collect: "Collect", cancel: "Cancel", clusterStatus: "Cluster Status", freeMemory: "Free Memory"}[$parameter["operation"]] }}',
		description: 'Run ComfyUI workflows on a pool of GPU servers with load balancing, failover and shared health',
		defaults: { name: 'ComfyUI Cluster' },
		usableAsTool: true,
		codex: codexOf(codexFile),
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'comfyUiClusterApi', displayName: 'ComfyUI Servers', required: true, testedBy: 'comfyUiClusterConnectionTest' },
			{ name: 'comfyUiClusterRedisApi', displayName: 'Shared State (Redis)', required: false, testedBy: 'comfyUiClusterRedisTest' },
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'hidden',
				noDataExpression: true,
				options: [{ name: 'Cluster', value: 'cluster' }],
				default: 'cluster',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				default: 'generate',
				displayOptions: { show: { resource: ['cluster'] } },
				options: [
					{ name: 'Cancel', value: 'cancel', action: 'Cancel submitted scenes', description: 'Remove submitted scenes from their queues or interrupt them' },
					{ name: 'Cluster Status', value: 'clusterStatus', action: 'Get the cluster status', description: 'One item per server: health, queue, in-flight, speeds, memory' },
					{ name: 'Collect', value: 'collect', action: 'Collect submitted scenes', description: 'Wait for submitted scenes and return their outputs' },
					{ name: 'Free Memory', value: 'freeMemory', action: 'Free server memory', description: 'Unload models and free memory on all or chosen servers' },
					{ name: 'Generate', value: 'generate', action: 'Generate images or video', description: 'Run every item as a scene on the cluster and return its outputs' },
					{ name: 'Submit', value: 'submit', action: 'Submit scenes and return handles', description: 'Queue every item as a scene and return its handle at once' },
				],
			},
			{
				// n8n shows or hides a parameter by other parameters only, never by whether a credential is set:
				// the notice reads true with and without one.
				displayName:
					'Shared State (Redis) is optional: without it the cluster state (health, in-flight, speeds) lives in this n8n process only. Set it when n8n runs in queue mode with several workers.',
				name: 'redisNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { operation: ['generate', 'submit'] } },
			},
			...generate.description,
			...submit.description,
			...collect.description,
			...cancel.description,
			...clusterStatus.description,
			...freeMemory.description,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
