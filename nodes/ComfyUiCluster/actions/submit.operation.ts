import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { submitScenes } from '../../../src/cluster';
import type { Runtime } from '../../../src/cluster';
import type { SceneRequest } from '../../../src/cluster';
import { UrlFetcher } from '../../../src/cluster';
import { asItemError, sceneError } from '../helpers/errors';
import { CatalogueSource, sceneFromItem } from '../helpers/items';
import { errorItem } from '../../shared/errorItem';
import { readSceneOptions } from '../helpers/options';
import { nodeLogger } from '../helpers/engine';
import { inputImagesField, overridesField, placeholdersField, sceneOptionsField, workflowField } from './common.descriptions';

const properties: INodeProperties[] = [workflowField, overridesField, inputImagesField, placeholdersField, sceneOptionsField];

export const description = updateDisplayOptions({ show: { operation: ['submit'] } }, properties);

/** Queues every scene and returns its handle at once; Collect (later, any execution) waits for the outputs. */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const continueOnFail = this.continueOnFail();
	const signal = this.getExecutionCancelSignal();
	// Per item; Strategy and Concurrency are checked as in Generate, though Submit places every scene at once by expected finish.
	const { perItem } = readSceneOptions(this, items.length);
	const catalogue = new CatalogueSource(runtime);
	const fetcher = new UrlFetcher({ signal });
	const scenes: SceneRequest[] = [];
	const out: Array<INodeExecutionData | undefined> = items.map(() => undefined);
	for (let i = 0; i < items.length; i++) {
		try {
			const options = perItem[i];
			if (options instanceof Error) throw options;
			scenes.push(await sceneFromItem(this, i, options, catalogue, fetcher));
		} catch (error) {
			const failure = asItemError(this, error, i);
			if (!continueOnFail) throw failure;
			out[i] = errorItem(failure, i, { scene: i });
		}
	}
	const outcomes = await submitScenes(runtime, scenes, signal);
	const log = nodeLogger(this, runtime);
	for (const outcome of outcomes) {
		if (outcome.ok) {
			log.info(`${this.getNode().name}: scene ${outcome.index} queued on ${outcome.handle.server} as ${outcome.handle.promptId}`);
			out[outcome.index] = {
				json: { handle: { ...outcome.handle }, server: outcome.handle.server, promptId: outcome.handle.promptId, submittedAt: outcome.handle.submittedAt },
				pairedItem: { item: outcome.index },
			};
		} else {
			const failure = sceneError(this, outcome.error, outcome.index, runtime.secrets ?? [], runtime.servers);
			if (!continueOnFail) throw failure;
			out[outcome.index] = errorItem(failure, outcome.index, { scene: outcome.index });
		}
	}
	return out.filter((item): item is INodeExecutionData => item !== undefined);
}
