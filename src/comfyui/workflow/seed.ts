/** Which seeds a graph holds and what they become per scene (kept, or random within ComfyUI's range). */
import { own } from '../../util/own';
import { findInputSpec, specOptions, type ObjectInfo } from './objectInfo';
import { cloneGraph, type ApiGraph } from './types';

export type SeedMode = 'keep' | 'random';

export const SEED_INPUTS: ReadonlySet<string> = new Set(['seed', 'noise_seed']);

/** ComfyUI's seeds go up to 2^64-1, but a JSON number only keeps integers exact up to 2^53-1. */
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

export interface SeedValue {
	nodeId: string;
	input: string;
	value: number;
}

/** The literal seeds of the graph (`seed` / `noise_seed` inputs that are numbers, not links). */
export function readSeeds(graph: ApiGraph): SeedValue[] {
	const seeds: SeedValue[] = [];
	for (const [nodeId, node] of Object.entries(graph)) {
		for (const [input, value] of Object.entries(node.inputs)) {
			if (SEED_INPUTS.has(input) && typeof value === 'number') seeds.push({ nodeId, input, value });
		}
	}
	return seeds;
}

/**
 * `keep` leaves seeds as they are; `random` gives every literal `seed` / `noise_seed` input a new random
 * whole number within its declared range (when `objectInfo` is given) and returns a new graph.
 * `random()` returns [0, 1) like Math.random; pass a seeded one to make it reproducible.
 */
export function applySeedMode(
	graph: ApiGraph,
	mode: SeedMode,
	random: () => number = Math.random,
	objectInfo?: ObjectInfo,
): ApiGraph {
	const result = cloneGraph(graph);
	if (mode === 'keep') return result;
	for (const node of Object.values(result)) {
		for (const [input, value] of Object.entries(node.inputs)) {
			if (!SEED_INPUTS.has(input) || typeof value !== 'number') continue;
			const spec = findInputSpec(own(objectInfo, node.class_type), input);
			const options = spec ? specOptions(spec) : {};
			const min = typeof options.min === 'number' ? Math.max(0, Math.ceil(options.min)) : 0;
			const max = typeof options.max === 'number' ? Math.min(SAFE_MAX, Math.floor(options.max)) : SAFE_MAX;
			node.inputs[input] = randomInteger(min, Math.max(min, max), random);
		}
	}
	return result;
}

/** A whole number in [min, max], using 53 bits of randomness from two draws where the range needs it. */
export function randomInteger(min: number, max: number, random: () => number): number {
	const span = max - min + 1;
	if (span <= 2 ** 32) return min + Math.floor(random() * span);
	const high = Math.floor(random() * 2 ** 21);
	const low = Math.floor(random() * 2 ** 32);
	const draw = high * 2 ** 32 + low;
	return min + (draw % span);
}
