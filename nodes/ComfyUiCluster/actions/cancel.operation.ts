import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { cancelScenes, type SceneHandle } from '../../../src/cluster';
import type { Runtime } from '../../../src/cluster';
import { parseHandle } from '../helpers/params';
import { handlesField } from './common.descriptions';
import { errorItem } from '../../shared/errorItem';

export const description = updateDisplayOptions({ show: { operation: ['cancel'] } }, [handlesField] as INodeProperties[]);

/** Removes submitted scenes from their queues, or interrupts them when they already run. */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const continueOnFail = this.continueOnFail();
	const handles: SceneHandle[] = [];
	const positions: number[] = [];
	const out: Array<INodeExecutionData | undefined> = items.map(() => undefined);
	for (let i = 0; i < items.length; i++) {
		try {
			handles.push(parseHandle(this.getNodeParameter('handles', i)));
			positions.push(i);
		} catch (error) {
			const failure = new NodeOperationError(this.getNode(), `Item ${i}: ${(error as Error).message}`, { itemIndex: i });
			if (!continueOnFail) throw failure;
			out[i] = errorItem(failure, i, { scene: i });
		}
	}
	const results = await cancelScenes(runtime, handles);
	for (const [k, result] of results.entries()) {
		const i = positions[k];
		const found = { server: result.handle.server, promptId: result.handle.promptId, outcome: result.outcome };
		if (result.error) {
			const failure = new NodeOperationError(this.getNode(), `Item ${i}: cancelling ${result.handle.promptId} on ${result.handle.server} failed: ${result.error}`, {
				itemIndex: i,
				description: 'The scene may still be queued or running there: check the server (Cluster Status) and cancel again.',
			});
			if (!continueOnFail) throw failure;
			out[i] = errorItem(failure, i, { scene: i, ...found });
			continue;
		}
		out[i] = { json: found, pairedItem: { item: i } };
	}
	return out.filter((item): item is INodeExecutionData => item !== undefined);
}
