/**
 * `choose`: the one selection decision, shared by every store. Filters first (excluded, at `max`,
 * memory pressure, breaker), then lets the strategy score the rest. Panic mode: when no server that
 * is not excluded has a breaker that admits, the least recently failed candidate is tried anyway, so
 * breakers alone never leave the cluster with zero servers.
 */
import { admit, slowStartFactor } from '../breaker';
import { fastest } from './fastest';
import { leastLoaded } from './leastLoaded';
import { roundRobin } from './roundRobin';
import type { Candidate, Choice, SelectionOptions, SelectionRequest, SelectionSnapshot, ServerSnapshot, Strategy, StrategyName } from './types';
import { weighted } from './weighted';

export * from './types';
export { fastest, expectedFinishSeconds } from './fastest';
export { leastLoaded, leastLoadedScore } from './leastLoaded';
export { roundRobin } from './roundRobin';
export { weighted } from './weighted';

export const STRATEGIES: Record<StrategyName, Strategy> = { leastLoaded, weighted, fastest, roundRobin };

/** Highest of VRAM and RAM use (0..1) from fresh system stats; 0 when unknown. */
export function memoryUse(server: ServerSnapshot, options: SelectionOptions): number {
	const stats = server.system;
	if (!stats || server.systemAgeMs === undefined || server.systemAgeMs > options.statsStaleMs) return 0;
	let used = 0;
	if (stats.vramTotal > 0) used = Math.max(used, 1 - stats.vramFree / stats.vramTotal);
	if (stats.ramTotal > 0) used = Math.max(used, 1 - stats.ramFree / stats.ramTotal);
	return used;
}

/** In-flight leases, or the last fresh queue length if larger (it already counts our prompts). */
export function serverLoad(server: ServerSnapshot, options: SelectionOptions): number {
	const fresh = server.queueRemaining !== undefined && server.queueAgeMs !== undefined && server.queueAgeMs <= options.queueStaleMs;
	return fresh ? Math.max(server.inFlight, server.queueRemaining ?? 0) : server.inFlight;
}

export function choose(snapshot: SelectionSnapshot, request: SelectionRequest): Choice {
	const { options } = snapshot;
	const { now } = request;
	const exclude = new Set(request.exclude ?? []);
	const admitted: Candidate[] = [];
	const blocked: Candidate[] = [];
	let anyAdmitting = false;
	let excluded = 0;
	let atMax = 0;
	let memory = 0;
	let soonestOpenEnd = Number.POSITIVE_INFINITY;
	snapshot.servers.forEach((server, index) => {
		if (exclude.has(server.id)) {
			excluded++;
			return;
		}
		const admission = admit(server.breaker, now);
		if (admission.admitted) anyAdmitting = true;
		if (server.inFlight >= server.max) {
			atMax++;
			return;
		}
		const used = memoryUse(server, options);
		if (used > options.memorySkipAbove) {
			memory++;
			return;
		}
		const slowFactor = slowStartFactor(server.breaker, now, options.slowStartMs);
		const candidate: Candidate = {
			server,
			index,
			slowFactor,
			effectiveWeight: server.weight * slowFactor,
			load: serverLoad(server, options),
			trial: admission.trial,
			pressured: used > options.memoryPreferBelow,
		};
		if (admission.admitted) admitted.push(candidate);
		else {
			blocked.push(candidate);
			soonestOpenEnd = Math.min(soonestOpenEnd, server.breaker.openUntil);
		}
	});

	if (admitted.length === 0) {
		if (!anyAdmitting && blocked.length > 0) {
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
		if (blocked.length) parts.push(`${blocked.length} with an open breaker (next retry in ${Math.max(0, Math.ceil((soonestOpenEnd - now) / 1000))} s)`);
		if (memory) parts.push(`${memory} short of memory`);
		if (excluded) parts.push(`${excluded} excluded for this scene`);
		return { none: `no server is free: ${parts.join(', ') || 'the server list is empty'}` };
	}

	const unpressured = admitted.filter((c) => !c.pressured);
	const pool = unpressured.length > 0 ? unpressured : admitted;
	const pick = STRATEGIES[request.strategy](pool, snapshot);
	const note = pool.length < admitted.length ? ` (${admitted.length - pool.length} skipped for memory pressure)` : '';
	return {
		serverId: pick.candidate.server.id,
		reason: pick.reason + note + (pick.candidate.trial ? '; half-open trial' : ''),
		trial: pick.candidate.trial,
		panic: false,
		rr: pick.rr,
	};
}
