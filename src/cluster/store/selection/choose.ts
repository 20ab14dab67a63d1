/**
 * Which server a reservation gets: the one selection decision every store shares (the Redis store
 * runs its Lua twin, `lua/includes/choose.lua`; the shared store suite proves both pick the same).
 * The filters first (filter.ts), panic or none when nothing passes (noCandidate.ts), then the pick of
 * the request's strategy among the candidates, servers under memory pressure only when no other is
 * left. The store then reserves on it and writes back the pick state (`rr`).
 */
import type { Choice, PickFunction, SelectionRequest, SelectionSnapshot, StoreStrategy } from '../types';
import { filterCandidates } from './filter';
import { noCandidate } from './noCandidate';
import { pickPinned } from './pinned';
import { pickRoundRobin } from './roundRobin';
import { pickWeighted } from './weighted';

const PICKS: Record<StoreStrategy, PickFunction> = { weighted: pickWeighted, roundRobin: pickRoundRobin, pinned: pickPinned };

export function choose(snapshot: SelectionSnapshot, request: SelectionRequest): Choice {
	const filtered = filterCandidates(snapshot, request);
	const { admitted } = filtered;
	if (admitted.length === 0) return noCandidate(filtered, request.now);
	const unpressured = admitted.filter((c) => !c.pressured);
	const pool = unpressured.length > 0 ? unpressured : admitted;
	const pick = PICKS[request.strategy](pool, snapshot);
	const note = pool.length < admitted.length ? ` (${admitted.length - pool.length} skipped for memory pressure)` : '';
	return {
		serverId: pick.candidate.server.id,
		reason: pick.reason + note + (pick.candidate.trial ? '; half-open trial' : ''),
		trial: pick.candidate.trial,
		panic: false,
		rr: pick.rr,
	};
}
