/**
 * `pinned`: the server planning/ already chose. The caller excludes every other server, so the one
 * candidate left gets the lease (the first in list order, should the caller leave more).
 */
import type { PickFunction } from '../types';

export const pickPinned: PickFunction = (candidates) => {
	const [first] = candidates;
	const note = candidates.length > 1 ? ` (first of ${candidates.length} allowed)` : '';
	return { candidate: first, reason: `pinned: the planned server ${first.server.id}${note}`, rr: {} };
};
