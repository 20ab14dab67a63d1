/**
 * One source for the defaults, limits and choices of the node's scene options: the descriptions
 * (actions/common.descriptions.ts) show them, the parameter schema (params.ts) applies them.
 */
import type { OutputKind } from '../../../src/comfyui';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../../../src/cluster';
import type { StrategyName } from '../../../src/cluster';

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

// What every scene option is when the author does not set it (n8n's lint wants a plain name in a description's default).
export const DEFAULT_CONCURRENCY = 0;
export const DEFAULT_FREE_MEMORY_AFTER = false;
export const DEFAULT_HEAVY_PER_SERVER = 1;
export const DEFAULT_MEMORY_AWARE = true;
export const DEFAULT_MODEL_AFFINITY = true;
export const DEFAULT_INACTIVITY_TIMEOUT_S = 300;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_OUTPUT_SIZE_MB = DEFAULT_MAX_OUTPUT_BYTES / MB;
export const DEFAULT_OUTPUT_KINDS: OutputKind[] = valuesOf(OUTPUT_KINDS);
export const DEFAULT_OUTPUT_MODE: (typeof OUTPUT_MODES)[number]['value'] = 'binary';
export const DEFAULT_PRIORITY = 5;
export const DEFAULT_QUEUE_WAIT_TIMEOUT_S = 600;
export const DEFAULT_SEED_MODE: (typeof SEED_MODES)[number]['value'] = 'keep';
export const DEFAULT_STRATEGY: StrategyName = 'leastLoaded';
export const DEFAULT_TOTAL_TIMEOUT_S = 3600;

/** Bounds the descriptions show (minValue / maxValue) and the schema enforces. */
export const SCENE_OPTION_LIMITS = {
	maxAttempts: { min: 1, max: 10 },
	priority: { min: 1, max: 10 },
};

export const INPUT_IMAGE_SOURCES = [
	{ name: 'Binary Property', value: 'binary' },
	{ name: 'URL', value: 'url' },
] as const satisfies Choices<string>;

// What an input image entry is when the author leaves a field out.
export const DEFAULT_INPUT_IMAGE_SOURCE: (typeof INPUT_IMAGE_SOURCES)[number]['value'] = 'binary';
export const DEFAULT_INPUT_IMAGE_INPUT = 'image';
export const DEFAULT_INPUT_IMAGE_PROPERTY = 'data';

// Free Memory
export const DEFAULT_UNLOAD_MODELS = true;
export const DEFAULT_FREE_MEMORY = true;
