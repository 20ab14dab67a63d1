import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { collectScenes, type SceneHandle } from '../../../src/cluster/handles';
import { discardOutcomes } from '../../../src/cluster/outputs';
import type { Runtime } from '../../../src/cluster/runtime';
import { sceneError } from '../helpers/errors';
import { itemOrError } from '../helpers/items';
import { errorItem } from '../../shared/errorItem';
import { parseHandle, parseSceneOptions } from '../helpers/params';
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

/** Waits for scenes submitted earlier (this or another execution) and returns outputs like Generate. */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const continueOnFail = this.continueOnFail();
	const options = parseSceneOptions(this.getNodeParameter('options', 0, {}));
	const handles: Array<SceneHandle | undefined> = [];
	const out: Array<INodeExecutionData | undefined> = items.map(() => undefined);
	for (let i = 0; i < items.length; i++) {
		try {
			handles[i] = parseHandle(this.getNodeParameter('handles', i));
		} catch (error) {
			const failure = new NodeOperationError(this.getNode(), `Item ${i}: ${(error as Error).message}`, { itemIndex: i });
			if (!continueOnFail) throw failure;
			out[i] = errorItem(failure, i, { scene: i });
		}
	}
	const positions = handles.map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
	const outcomes = await collectScenes(
		runtime,
		positions.map((i) => handles[i]!),
		{
			timeouts: options.timeouts,
			download: options.download,
			outputKinds: options.outputKinds,
			maxOutputBytes: options.maxOutputBytes,
			signal: this.getExecutionCancelSignal(),
		},
	);
	try {
		for (const [k, outcome] of outcomes.entries()) {
			const i = positions[k];
			if (!outcome.ok && !continueOnFail) throw sceneError(this, outcome.error, i, runtime.secrets ?? []);
			out[i] = await itemOrError(this, outcome, i, runtime, continueOnFail);
		}
		return out.filter((item): item is INodeExecutionData => item !== undefined);
	} finally {
		// Outputs spooled to temporary files are removed however the items ended.
		await discardOutcomes(outcomes);
	}
}
