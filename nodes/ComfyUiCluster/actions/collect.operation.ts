import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { collectScenes, type SceneHandle } from '../../../src/cluster';
import { discardOutcomes } from '../../../src/cluster';
import type { Runtime } from '../../../src/cluster';
import type { SceneOutcome } from '../../../src/cluster';
import { sceneError } from '../helpers/errors';
import { itemOrError } from '../helpers/items';
import { errorItem } from '../../shared/errorItem';
import { readItemOptions } from '../helpers/options';
import { parseHandle, type SceneOptions } from '../helpers/params';
import {
	handlesField,
	inactivityTimeoutOption,
	maxOutputSizeOption,
	outputKindsOption,
	outputModeOption,
	queueWaitTimeoutOption,
	totalTimeoutOption,
} from './common.descriptions';

const properties: INodeProperties[] = [
	handlesField,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [inactivityTimeoutOption, maxOutputSizeOption, outputKindsOption, outputModeOption, queueWaitTimeoutOption, totalTimeoutOption],
	},
];

export const description = updateDisplayOptions({ show: { operation: ['collect'] } }, properties);

/**
 * Waits for scenes submitted earlier (this or another execution) and returns outputs like Generate.
 * Options are evaluated per item: items whose options agree are collected together.
 */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const continueOnFail = this.continueOnFail();
	const options = readItemOptions(this, items.length);
	const handles: Array<SceneHandle | undefined> = [];
	const out: Array<INodeExecutionData | undefined> = items.map(() => undefined);
	for (let i = 0; i < items.length; i++) {
		try {
			if (options[i] instanceof Error) throw options[i];
			handles[i] = parseHandle(this.getNodeParameter('handles', i));
		} catch (error) {
			const failure = error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), `Item ${i}: ${(error as Error).message}`, { itemIndex: i });
			if (!continueOnFail) throw failure;
			out[i] = errorItem(failure, i, { scene: i });
		}
	}
	const groups = new Map<string, number[]>();
	handles.forEach((handle, i) => {
		if (!handle) return;
		const o = options[i] as SceneOptions;
		const key = JSON.stringify([o.timeouts, o.download, o.outputKinds, o.maxOutputBytes]);
		groups.set(key, [...(groups.get(key) ?? []), i]);
	});
	const signal = this.getExecutionCancelSignal();
	const settled = await Promise.allSettled(
		[...groups.values()].map(async (positions) => {
			const o = options[positions[0]] as SceneOptions;
			const outcomes = await collectScenes(
				runtime,
				positions.map((i) => handles[i]!),
				{ timeouts: o.timeouts, download: o.download, outputKinds: o.outputKinds, maxOutputBytes: o.maxOutputBytes, signal },
			);
			return outcomes.map((outcome, k) => ({ item: positions[k], outcome }));
		}),
	);
	const collected = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : [])).sort((a, b) => a.item - b.item);
	const outcomes: SceneOutcome[] = collected.map((c) => c.outcome);
	try {
		const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
		if (failed) throw failed.reason;
		for (const { item: i, outcome } of collected) {
			if (!outcome.ok && !continueOnFail) throw sceneError(this, outcome.error, i, runtime.secrets ?? [], runtime.servers);
			out[i] = await itemOrError(this, outcome, i, runtime, continueOnFail);
		}
		return out.filter((item): item is INodeExecutionData => item !== undefined);
	} finally {
		// Outputs spooled to temporary files are removed however the items ended.
		await discardOutcomes(outcomes);
	}
}
