/**
 * What a reservation gets when no server passed the filters: panic mode when every breaker that
 * could be tried is open (the least recently failed server is tried anyway, so breakers alone never
 * leave the cluster with zero servers), else none, with the reasons counted.
 */
import type { Choice } from '../types';
import type { Filtered } from './filter';

export function noCandidate(filtered: Filtered, now: number): Choice {
	const { blocked, atMax, memory, excluded } = filtered;
	if (!filtered.anyAdmitting && blocked.length > 0) {
		let best = blocked[0];
		for (const candidate of blocked.slice(1)) {
			if (candidate.server.breaker.lastFailureAt < best.server.breaker.lastFailureAt) best = candidate;
		}
		return {
			serverId: best.server.id,
			reason: 'panic: every server breaker is open; trying the least recently failed one',
			trial: false,
			panic: true,
			rr: {},
		};
	}
	const parts: string[] = [];
	if (atMax) parts.push(`${atMax} at their max in-flight`);
	if (blocked.length) parts.push(`${blocked.length} with an open breaker (next retry in ${Math.max(0, Math.ceil((filtered.soonestOpenEnd - now) / 1000))} s)`);
	if (memory) parts.push(`${memory} short of memory`);
	if (excluded) parts.push(`${excluded} excluded for this scene`);
	return { none: `no server is free: ${parts.join(', ') || 'the server list is empty'}` };
}
