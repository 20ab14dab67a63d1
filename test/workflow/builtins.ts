/**
 * Minimal stand-ins for the n8n built-in nodes our example workflows use (Manual Trigger, Code,
 * Sticky Note), so the examples run in n8n's engine here without n8n-nodes-base. In real n8n the
 * real nodes run; `scripts/e2e-n8n.sh` checks the examples there.
 */
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import type { NodeTypes } from './harness';

class ManualTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Manual Trigger',
		name: 'manualTrigger',
		group: ['trigger'],
		version: 1,
		description: 'Starts the workflow',
		defaults: { name: 'When clicking Execute workflow' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [[{ json: {} }]];
	}
}

/** Runs the node's `jsCode` once for all items, like the Code node's default mode (trusted example code only). */
class Code implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Code',
		name: 'code',
		group: ['transform'],
		version: [1, 2],
		description: 'Runs JavaScript',
		defaults: { name: 'Code' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [{ displayName: 'JavaScript', name: 'jsCode', type: 'string', default: '' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const code = this.getNodeParameter('jsCode', 0) as string;
		const $input = { all: () => this.getInputData(), first: () => this.getInputData()[0] };
		const run = new Function('$input', `return (async () => { ${code} })();`) as (input: typeof $input) => Promise<unknown>;
		const result = (await run($input)) as Array<{ json?: Record<string, unknown> } | Record<string, unknown>>;
		return [
			result.map((entry, i) => ({
				json: ('json' in entry ? entry.json : entry) as INodeExecutionData['json'],
				pairedItem: { item: Math.min(i, this.getInputData().length - 1) },
			})),
		];
	}
}

class StickyNote implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Sticky Note',
		name: 'stickyNote',
		group: ['input'],
		version: 1,
		description: 'A note on the canvas',
		defaults: { name: 'Sticky Note' },
		inputs: [],
		outputs: [],
		properties: [{ displayName: 'Content', name: 'content', type: 'string', default: '' }],
	};

	async execute(): Promise<INodeExecutionData[][]> {
		return [[]];
	}
}

export function registerBuiltins(types: NodeTypes): NodeTypes {
	types.register('n8n-nodes-base.manualTrigger', new ManualTrigger());
	types.register('n8n-nodes-base.code', new Code());
	types.register('n8n-nodes-base.stickyNote', new StickyNote());
	return types;
}
