/**
 * One source for the defaults, limits and choices of the node's scene options: the descriptions
 * (actions/common.descriptions.ts) show them, the parameter schema (params.ts) applies them.
 */
import type { OutputKind } from '../../../src/comfyui/client';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../../../src/cluster/sceneBuilder';
import type { StrategyName } from '../../../src/cluster/strategies/types';

export const MB = 1024 * 1024;

/** One choice of an options parameter: its value, the name n8n shows, and what it does. */
export interface Choice<V extends string> {
	name: string;
	value: V;
	description?: string;
}

type Choices<V extends string> = readonly [Choice<V>, ...Array<Choice<V>>];

export const STRATEGIES = [
	{ name: 'Least Loaded', value: 'leastLoaded', description: 'Fewest prompts queued and in flight per weight' },
	{ name: 'Fastest', value: 'fastest', description: 'Earliest expected finish from measured speed per workflow' },
	{ name: 'Weighted', value: 'weighted', description: 'Smooth weighted round robin by server weight' },
	{ name: 'Round Robin', value: 'roundRobin', description: 'Each server in turn' },
] as const satisfies Choices<StrategyName>;

export const OUTPUT_KINDS = [
	{ name: 'Images', value: 'image' },
	{ name: 'Animated Images', value: 'animated' },
	{ name: 'Video', value: 'video' },
	{ name: 'Audio', value: 'audio' },
] as const satisfies Choices<OutputKind>;

export const OUTPUT_MODES = [
	{ name: 'Binary Data', value: 'binary', description: 'Download every output file into the item\'s binary data' },
	{ name: 'References Only', value: 'references', description: 'Return server, file name and /view URL of every output without downloading' },
] as const satisfies Choices<string>;

export const SEED_MODES = [
	{ name: 'Keep', value: 'keep', description: 'Use the seeds in the workflow and overrides' },
	{ name: 'Random per Scene', value: 'random', description: 'Set a new random value on every seed and noise_seed input' },
] as const satisfies Choices<string>;

/** The values of a list of choices, as zod's `z.enum` takes them. */
export function valuesOf<V extends string>(choices: Choices<V>): [V, ...V[]] {
	return choices.map((choice) => choice.value) as [V, ...V[]];
}

/** What every scene option is when the author does not set it. */
export const SCENE_OPTION_DEFAULTS = {
	concurrency: 0,
	freeMemoryAfter: false,
	inactivityTimeout: 300,
	maxAttempts: 3,
	maxOutputSize: DEFAULT_MAX_OUTPUT_BYTES / MB,
	outputKinds: valuesOf(OUTPUT_KINDS) as OutputKind[],
	outputMode: 'binary' as (typeof OUTPUT_MODES)[number]['value'],
	priority: 5,
	queueWaitTimeout: 600,
	seedMode: 'keep' as (typeof SEED_MODES)[number]['value'],
	strategy: 'leastLoaded' as StrategyName,
	totalTimeout: 3600,
};

/** Bounds the descriptions show (minValue / maxValue) and the schema enforces. */
export const SCENE_OPTION_LIMITS = {
	maxAttempts: { min: 1, max: 10 },
	priority: { min: 1, max: 10 },
};

export const INPUT_IMAGE_SOURCES = [
	{ name: 'Binary Property', value: 'binary' },
	{ name: 'URL', value: 'url' },
] as const satisfies Choices<string>;

/** What an input image entry is when the author leaves a field out. */
export const INPUT_IMAGE_DEFAULTS = {
	source: 'binary' as (typeof INPUT_IMAGE_SOURCES)[number]['value'],
	input: 'image',
	binaryProperty: 'data',
};

export const FREE_MEMORY_DEFAULTS = {
	unloadModels: true,
	freeMemory: true,
};
