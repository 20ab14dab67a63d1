import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { collectScenes, type SceneHandle } from '../../../src/cluster/handles';
import { itemFromOutcome, sceneError } from '../items';
import { parseHandle, parseSceneOptions } from '../params';
import { runtimeFor } from '../transport';
import {
	handlesField,
	inactivityTimeoutOption,
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
		options: [inactivityTimeoutOption, outputKindsOption, outputModeOption, queueWaitTimeoutOption, totalTimeoutOption],
	},
];

export const description = updateDisplayOptions({ show: { operation: ['collect'] } }, properties);

/** Waits for scenes submitted earlier (this or another execution) and returns outputs like Generate. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const runtime = await runtimeFor(this);
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
			out[i] = { json: { error: failure.message }, pairedItem: { item: i } };
		}
	}
	const positions = handles.map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
	const outcomes = await collectScenes(
		runtime,
		positions.map((i) => handles[i]!),
		{ timeouts: options.timeouts, download: options.download, outputKinds: options.outputKinds, signal: this.getExecutionCancelSignal() },
	);
	for (const [k, outcome] of outcomes.entries()) {
		const i = positions[k];
		if (!outcome.ok && !continueOnFail) throw sceneError(this, outcome.error, i, runtime.secrets ?? []);
		out[i] = await itemFromOutcome(this, outcome, i, runtime);
	}
	return out.filter((item): item is INodeExecutionData => item !== undefined);
}
