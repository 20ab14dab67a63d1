/**
 * The scene options of a run, evaluated per item: each scene gets its own timeouts, attempts,
 * priority, seed mode and outputs. Strategy, Concurrency, Model Affinity, Memory-Aware Admission and
 * Heavy Scenes per Server decide for the batch as a whole, so an expression that gives items
 * different values for them is refused.
 */
import type { IExecuteFunctions, NodeOperationError } from 'n8n-workflow';
import type { StrategyName } from '../../../src/cluster';
import { oneValueForTheRun } from '../../shared/runWide';
import { DEFAULT_CONCURRENCY, DEFAULT_HEAVY_PER_SERVER, DEFAULT_MEMORY_AWARE, DEFAULT_MODEL_AFFINITY, DEFAULT_STRATEGY } from './defaults';
import { optionError } from './errors';
import { parseSceneOptions, type SceneOptions } from './params';

/** Item i's options, or the error naming the option of item i that does not validate. */
export type ItemOptions = Array<SceneOptions | NodeOperationError>;

export function readItemOptions(ctx: IExecuteFunctions, itemCount: number): ItemOptions {
	return Array.from({ length: itemCount }, (_, i) => {
		try {
			return parseSceneOptions(ctx.getNodeParameter('options', i, {}));
		} catch (error) {
			return optionError(ctx, error, i);
		}
	});
}

export interface BatchOptions {
	strategy: StrategyName;
	/** 0 = the sum of the servers' max. */
	concurrency: number;
	modelAffinity: boolean;
	memoryAware: boolean;
	/** 0 = no limit of its own. */
	heavyPerServer: number;
}

/** Every item's options, and the batch's Strategy and Concurrency (the same for every item whose options validate). */
export function readSceneOptions(ctx: IExecuteFunctions, itemCount: number): { perItem: ItemOptions; batch: BatchOptions } {
	const perItem = readItemOptions(ctx, itemCount);
	const valid = perItem.flatMap((options, itemIndex) => (options instanceof Error ? [] : [{ itemIndex, options }]));
	const runWide = <K extends keyof BatchOptions>(key: K, label: string, fallback: BatchOptions[K]): BatchOptions[K] =>
		oneValueForTheRun(ctx, `Options → ${label}`, valid.map(({ itemIndex, options }) => ({ itemIndex, value: options[key] }))) ?? fallback;
	const batch: BatchOptions = {
		strategy: runWide('strategy', 'Strategy', DEFAULT_STRATEGY),
		concurrency: runWide('concurrency', 'Concurrency', DEFAULT_CONCURRENCY),
		modelAffinity: runWide('modelAffinity', 'Model Affinity', DEFAULT_MODEL_AFFINITY),
		memoryAware: runWide('memoryAware', 'Memory-Aware Admission', DEFAULT_MEMORY_AWARE),
		heavyPerServer: runWide('heavyPerServer', 'Heavy Scenes per Server', DEFAULT_HEAVY_PER_SERVER),
	};
	return { perItem, batch };
}
