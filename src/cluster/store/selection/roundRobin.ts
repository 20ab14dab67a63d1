/** `roundRobin`: which candidate is next at or after the shared cursor, in server-list order. */
import type { PickFunction } from '../types';

export const pickRoundRobin: PickFunction = (candidates, snapshot) => {
	const n = snapshot.servers.length;
	const cursor = ((snapshot.rrCursor % n) + n) % n;
	let best = candidates[0];
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of candidates) {
		const distance = (candidate.index - cursor + n) % n;
		if (distance < bestDistance) {
			bestDistance = distance;
			best = candidate;
		}
	}
	return { candidate: best, reason: `roundRobin: next in turn (position ${best.index + 1} of ${n})`, rr: { cursor: (best.index + 1) % n } };
};
