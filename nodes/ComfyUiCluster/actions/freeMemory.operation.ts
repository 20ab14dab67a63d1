import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { Runtime } from '../../../src/cluster';
import { freeMemory } from '../../../src/cluster';
import { DEFAULT_FREE_MEMORY, DEFAULT_UNLOAD_MODELS } from '../helpers/defaults';

const properties: INodeProperties[] = [
	{
		displayName: 'Servers',
		name: 'servers',
		type: 'string',
		default: '',
		placeholder: 'http://gpu-1:8188, http://gpu-2:8188',
		description: 'Comma-separated addresses (or server IDs) of the servers to free; empty = every server',
	},
	{
		displayName: 'Unload Models',
		name: 'unloadModels',
		type: 'boolean',
		// Literals, as n8n's community-package scanner wants; test/workflow/description.test.ts keeps them the defaults of helpers/defaults.ts.
		default: true,
		description: 'Whether to unload the models from GPU memory',
	},
	{
		displayName: 'Free Memory',
		name: 'freeMemory',
		type: 'boolean',
		default: true,
		description: 'Whether to also drop ComfyUI\'s caches (the next run recomputes everything)',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['freeMemory'] } }, properties);

/** POST /free on all or chosen servers; one item per server. */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const wanted = String(this.getNodeParameter('servers', 0, '') ?? '')
		.split(',')
		.map((s) => s.trim().replace(/\/+$/, ''))
		.filter(Boolean);
	const unknown = wanted.filter((w) => !runtime.servers.some((s) => s.id === w || s.url === w));
	if (unknown.length > 0) {
		throw new NodeOperationError(this.getNode(), `Servers: ${unknown.join(', ')} not in the credential's server list`, {
			itemIndex: 0,
			description: `Known servers: ${runtime.servers.map((s) => s.url).join(', ')}`,
		});
	}
	const targets = wanted.length ? runtime.servers.filter((s) => wanted.includes(s.id) || wanted.includes(s.url)) : runtime.servers;
	const results = await freeMemory(runtime, targets, {
		unloadModels: this.getNodeParameter('unloadModels', 0, DEFAULT_UNLOAD_MODELS) as boolean,
		freeMemory: this.getNodeParameter('freeMemory', 0, DEFAULT_FREE_MEMORY) as boolean,
		signal: this.getExecutionCancelSignal(),
	});
	return results.map((r) => ({ json: { ...r }, pairedItem: { item: 0 } }));
}
