import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { chain, node, NodeTypes, runWorkflow } from './harness';

/** A node that echoes a per-item expression, fails on demand, and waits on the cancel signal. */
class Probe implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Probe',
		name: 'probe',
		group: ['transform'],
		version: 1,
		description: 'harness self-test',
		defaults: { name: 'Probe' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: 'probeApi', required: false }],
		properties: [
			{ displayName: 'Value', name: 'value', type: 'string', default: '' },
			{ displayName: 'Wait', name: 'wait', type: 'boolean', default: false },
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		if (this.getNodeParameter('wait', 0) as boolean) {
			const signal = this.getExecutionCancelSignal();
			await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
			return [[]];
		}
		const creds = await this.getCredentials('probeApi').catch(() => undefined);
		for (let i = 0; i < items.length; i++) {
			const value = this.getNodeParameter('value', i) as string;
			try {
				if (value === 'bad') throw new NodeOperationError(this.getNode(), 'bad value', { itemIndex: i });
				out.push({ json: { value, token: creds?.token ?? null }, pairedItem: { item: i } });
			} catch (error) {
				if (this.continueOnFail()) {
					out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
					continue;
				}
				throw error;
			}
		}
		return [out];
	}
}

const types = new NodeTypes([new Probe()]);
const items = JSON.stringify([{ json: { v: 'a' } }, { json: { v: 'bad' } }, { json: { v: 'c' } }]);

describe('n8n engine harness', () => {
	it('runs expressions per item, passes credentials and keeps item order', async () => {
		const result = await runWorkflow({
			nodeTypes: types,
			nodes: [
				node('Items', 'test.items', { items: JSON.stringify([{ json: { v: 'a' } }, { json: { v: 'b' } }]) }),
				node('Probe', 'probe', { value: '={{ $json.v + "!" }}' }, { credentials: { probeApi: { id: '1', name: 'p' } } }),
			],
			connections: chain('Items', 'Probe'),
			credentials: { probeApi: { token: 'tok' } },
		});

		expect(result.status).toBe('success');
		expect(result.output('Probe').map((i) => i.json)).toEqual([
			{ value: 'a!', token: 'tok' },
			{ value: 'b!', token: 'tok' },
		]);
	});

	it('reports a node error, and continueOnFail turns it into an error item', async () => {
		const nodes = [node('Items', 'test.items', { items }), node('Probe', 'probe', { value: '={{ $json.v }}' })];
		const failed = await runWorkflow({ nodeTypes: types, nodes, connections: chain('Items', 'Probe') });
		expect(failed.status).toBe('error');
		expect(failed.nodeError('Probe')?.message).toBe('bad value');

		nodes[1] = node('Probe', 'probe', { value: '={{ $json.v }}' }, { onError: 'continueRegularOutput' });
		const continued = await runWorkflow({ nodeTypes: types, nodes, connections: chain('Items', 'Probe') });
		expect(continued.status).toBe('success');
		expect(continued.output('Probe').map((i) => i.json.error ?? i.json.value)).toEqual(['a', 'bad value', 'c']);
	});

	it('cancels a run through the execution cancel signal', async () => {
		const result = await runWorkflow({
			nodeTypes: types,
			nodes: [node('Items', 'test.items', { items }), node('Probe', 'probe', { wait: true })],
			connections: chain('Items', 'Probe'),
			onStart: (cancel) => setTimeout(cancel, 200),
		});
		expect(result.status).toBe('canceled');
	});
});
