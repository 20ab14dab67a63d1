/**
 * A small seeded PRNG (mulberry32) so a soak or fuzz run can be replayed from its printed seed.
 */
import { seededRandom } from '../sim/http-util';

export interface Prng {
	/** Uniform in [0, 1). */
	next(): number;
	/** Whole number in [min, max]. */
	int(min: number, max: number): number;
	/** true with probability p. */
	chance(p: number): boolean;
	pick<T>(items: readonly T[]): T;
	/** Picks by weight: [[value, weight], …]. */
	weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T;
}

export function prng(seed: number): Prng {
	const next = seededRandom(seed);
	const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
	return {
		next,
		int,
		chance: (p) => next() < p,
		pick: (items) => items[Math.floor(next() * items.length)],
		weighted: (entries) => {
			const total = entries.reduce((sum, [, w]) => sum + w, 0);
			let r = next() * total;
			for (const [value, weight] of entries) {
				r -= weight;
				if (r < 0) return value;
			}
			return entries[entries.length - 1][0];
		},
	};
}
