import {
	NodeOperationError,
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';
import { runBatch, type BatchEvent, type EngineLogger } from '../../../src/cluster';
import type { Runtime } from '../../../src/cluster';
import type { SceneRequest } from '../../../src/cluster';
import { UrlFetcher } from '../../../src/cluster';
import { discardOutcomes } from '../../../src/cluster';
import { asItemError, sceneError } from '../helpers/errors';
import { CatalogueSource, itemOrError, sceneFromItem } from '../helpers/items';
import { errorItem } from '../../shared/errorItem';
import { readSceneOptions } from '../helpers/options';
import { nodeLogger } from '../helpers/engine';
import { inputImagesField, overridesField, placeholdersField, sceneOptionsField, workflowField } from './common.descriptions';

const properties: INodeProperties[] = [workflowField, overridesField, inputImagesField, placeholdersField, sceneOptionsField];

export const description = updateDisplayOptions({ show: { operation: ['generate'] } }, properties);

/** Every input item is a scene; all scenes run in parallel over the cluster; item i's result is output i. */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const continueOnFail = this.continueOnFail();
	const cancelSignal = this.getExecutionCancelSignal();
	// Per item; Strategy and Concurrency are the batch's (refused when an expression gives items different values).
	const { perItem, batch } = readSceneOptions(this, items.length);
	const catalogue = new CatalogueSource(runtime);
	const fetcher = new UrlFetcher({ signal: cancelSignal });

	const scenes: Array<SceneRequest | undefined> = [];
	const prepared = new Map<number, INodeExecutionData>();
	for (let i = 0; i < items.length; i++) {
		try {
			const options = perItem[i];
			if (options instanceof Error) throw options;
			scenes[i] = await sceneFromItem(this, i, options, catalogue, fetcher);
		} catch (error) {
			const failure = asItemError(this, error, i);
			if (!continueOnFail) throw failure;
			prepared.set(i, errorItem(failure, i, { scene: i }));
		}
	}

	const runnable = scenes.filter((s): s is SceneRequest => s !== undefined);
	const failFast = new AbortController();
	const signals = [failFast.signal, ...(cancelSignal ? [cancelSignal] : [])];
	let firstFailure: { index: number; error: Error } | undefined;
	const log = progressLogger(this.getNode().name, nodeLogger(this, runtime), items.length);
	const outcomes = await runBatch(runtime, runnable, {
		strategy: batch.strategy,
		concurrency: batch.concurrency || undefined,
		affinity: batch.modelAffinity,
		memoryAware: batch.memoryAware,
		heavyPerServer: batch.heavyPerServer,
		signal: AbortSignal.any(signals),
		onEvent: (event) => {
			log(event);
			if (event.type === 'finish' && !event.ok && !continueOnFail && !firstFailure && !cancelSignal?.aborted) {
				// Without "continue on fail" the node fails: stop the other scenes now and clean up on the servers.
				const outcome = event.index;
				firstFailure = { index: outcome, error: new Error(event.message) };
				failFast.abort();
			}
		},
	});

	try {
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			const pre = prepared.get(i);
			if (pre) {
				out.push(pre);
				continue;
			}
			const outcome = outcomes.find((o) => (o.ok ? o.result.index : o.error.index) === i);
			if (!outcome) continue;
			if (!outcome.ok && !continueOnFail) {
				if (cancelSignal?.aborted) throw new NodeOperationError(this.getNode(), 'The execution was cancelled', { itemIndex: i });
				const first = outcomes.find((o) => !o.ok && o.error.index === firstFailure?.index);
				const failed = first && !first.ok ? first.error : outcome.error;
				throw sceneError(this, failed, failed.index, runtime.secrets ?? [], runtime.servers);
			}
			out.push(await itemOrError(this, outcome, i, runtime, continueOnFail));
		}
		return out;
	} finally {
		// Outputs spooled to temporary files are removed however the items ended.
		await discardOutcomes(outcomes);
	}
}

/** Start, progress (every 25 %) and finish lines through n8n's logger, so long batches can be followed. */
export function progressLogger(node: string, logger: EngineLogger, total: number): (event: BatchEvent) => void {
	const lastQuarter = new Map<number, number>();
	let done = 0;
	return (event) => {
		switch (event.type) {
			case 'start':
				logger.info(`${node}: scene ${event.index} started on ${event.server} (attempt ${event.attempt})`);
				break;
			case 'progress': {
				if (event.percent === undefined) break;
				const quarter = Math.floor(event.percent / 25);
				if ((lastQuarter.get(event.index) ?? -1) >= quarter) break;
				lastQuarter.set(event.index, quarter);
				logger.info(`${node}: scene ${event.index} on ${event.server}: ${Math.round(event.percent)} %`);
				break;
			}
			case 'retry':
				logger.warn(`${node}: scene ${event.index} failed on ${event.server} (${event.reason}); retrying in ${Math.round(event.delayMs / 100) / 10} s`);
				break;
			case 'moved':
				logger.info(`${node}: scene ${event.index} moved off ${event.from} to a server that was idle`);
				break;
			case 'finish':
				done++;
				if (event.ok) logger.info(`${node}: scene ${event.index} finished on ${event.server} (${done}/${total})`);
				else logger.warn(`${node}: scene ${event.index} failed (${done}/${total}): ${event.message}`);
				break;
		}
	};
}
