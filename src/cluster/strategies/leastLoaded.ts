import type { Candidate, Strategy } from './types';

/** (load + 1) ÷ effective weight: the load this server would carry per unit of weight with the new scene. */
export function leastLoadedScore(candidate: Candidate): number {
	return (candidate.load + 1) / candidate.effectiveWeight;
}

/**
 * Orders by score, then speed (lower EWMA first; `unknownEwma` stands in for servers without samples),
 * then server id, so every store and every worker breaks ties the same way.
 */
export function compareLeastLoaded(a: Candidate, b: Candidate, unknownEwma: number): number {
	const sa = leastLoadedScore(a);
	const sb = leastLoadedScore(b);
	if (sa !== sb) return sa < sb ? -1 : 1;
	const ea = a.server.ewmaSeconds ?? unknownEwma;
	const eb = b.server.ewmaSeconds ?? unknownEwma;
	if (ea !== eb) return ea < eb ? -1 : 1;
	return a.server.id < b.server.id ? -1 : a.server.id > b.server.id ? 1 : 0;
}

export function pickLeastLoaded(candidates: Candidate[], unknownEwma: number): Candidate {
	let best = candidates[0];
	for (const candidate of candidates.slice(1)) {
		if (compareLeastLoaded(candidate, best, unknownEwma) < 0) best = candidate;
	}
	return best;
}

/** Default strategy: fewest scenes per unit of weight (in-flight and last seen queue), ties by speed, then id. */
export const leastLoaded: Strategy = (candidates) => {
	const best = pickLeastLoaded(candidates, Number.POSITIVE_INFINITY);
	return {
		candidate: best,
		reason: `leastLoaded: load ${best.load} at weight ${round(best.effectiveWeight)} is the lowest of ${candidates.length} candidate(s)`,
		rr: {},
	};
};

export function round(value: number): string {
	return (Math.round(value * 100) / 100).toString();
}
