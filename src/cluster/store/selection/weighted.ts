/**
 * `weighted`: which candidate takes the next turn of smooth weighted round robin, exactly as nginx
 * does it: every candidate's current weight grows by its effective weight, the largest current wins
 * (first in list order on ties) and gives back the total. Weights 5, 1, 1 give a a b a c a a.
 */
import type { PickFunction } from '../types';

export const pickWeighted: PickFunction = (candidates) => {
	let total = 0;
	let best = candidates[0];
	let bestCurrent = Number.NEGATIVE_INFINITY;
	const swrr: Record<string, number> = {};
	for (const candidate of candidates) {
		const current = candidate.server.swrrCurrent + candidate.effectiveWeight;
		swrr[candidate.server.id] = current;
		total += candidate.effectiveWeight;
		if (current > bestCurrent) {
			bestCurrent = current;
			best = candidate;
		}
	}
	swrr[best.server.id] = bestCurrent - total;
	return {
		candidate: best,
		reason: `weighted: smooth weighted round robin turn (weight ${round2(best.effectiveWeight)} of ${round2(total)})`,
		rr: { swrr },
	};
};

/** Two decimals at most, as `round2` in Lua prints them. */
export function round2(value: number): string {
	return (Math.round(value * 100) / 100).toString();
}
