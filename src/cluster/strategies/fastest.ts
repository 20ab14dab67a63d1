import { leastLoadedScore, pickLeastLoaded, round } from './leastLoaded';
import type { Candidate, Strategy } from './types';

/** Expected seconds until a new scene would finish here: (load + 1) × EWMA ÷ slow-start factor. */
export function expectedFinishSeconds(candidate: Candidate): number {
	return ((candidate.load + 1) * (candidate.server.ewmaSeconds ?? 0)) / candidate.slowFactor;
}

/**
 * Earliest expected finish for this workflow. Until every candidate holds `minSamples` measurements it
 * explores: leastLoaded, with unmeasured servers winning ties, so each server gets measured once it is
 * as free as the others instead of being starved by the first server that happened to report.
 */
export const fastest: Strategy = (candidates, snapshot) => {
	const minSamples = snapshot.options.minSamples;
	const unmeasured = candidates.filter((c) => c.server.samples < minSamples || c.server.ewmaSeconds === undefined);
	if (unmeasured.length > 0) {
		const best = pickLeastLoaded(candidates, -1);
		return {
			candidate: best,
			reason: `fastest: exploring (${unmeasured.length} of ${candidates.length} candidate(s) not yet measured for this workflow), least loaded`,
			rr: {},
		};
	}
	let best = candidates[0];
	let bestFinish = expectedFinishSeconds(best);
	for (const candidate of candidates.slice(1)) {
		const finish = expectedFinishSeconds(candidate);
		if (finish < bestFinish || (finish === bestFinish && tieBreak(candidate, best) < 0)) {
			best = candidate;
			bestFinish = finish;
		}
	}
	return {
		candidate: best,
		reason: `fastest: expected finish ${round(bestFinish)} s ((load ${best.load} + 1) × ${round(best.server.ewmaSeconds ?? 0)} s)`,
		rr: {},
	};
};

function tieBreak(a: Candidate, b: Candidate): number {
	const sa = leastLoadedScore(a);
	const sb = leastLoadedScore(b);
	if (sa !== sb) return sa < sb ? -1 : 1;
	return a.server.id < b.server.id ? -1 : a.server.id > b.server.id ? 1 : 0;
}
