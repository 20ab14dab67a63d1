/**
 * Which servers may take a reservation now: not excluded, below `max`, not short of memory, and a
 * breaker that admits (closed, or the one half-open trial). Servers held back only by their breaker
 * are kept apart (`blocked`) for panic mode.
 */
import { admit, slowStartFactor } from '../../breaker';
import type { Candidate, SelectionOptions, SelectionSnapshot, SelectionRequest, ServerSnapshot } from '../types';

export interface Filtered {
	admitted: Candidate[];
	/** Would pass but for an open breaker. */
	blocked: Candidate[];
	/** Some server that is not excluded has a breaker that admits (busy or not). */
	anyAdmitting: boolean;
	excluded: number;
	atMax: number;
	memory: number;
	/** Earliest end of an open breaker among `blocked` (∞ when none). */
	soonestOpenEnd: number;
}

/** Highest of VRAM and RAM use (0..1) from fresh system stats; 0 when unknown. */
export function memoryUse(server: ServerSnapshot, options: SelectionOptions): number {
	const stats = server.system;
	if (!stats || server.systemAgeMs === undefined || server.systemAgeMs > options.statsStaleMs) return 0;
	let used = 0;
	if (stats.vramTotal > 0) used = Math.max(used, 1 - stats.vramFree / stats.vramTotal);
	if (stats.ramTotal > 0) used = Math.max(used, 1 - stats.ramFree / stats.ramTotal);
	return used;
}

export function filterCandidates(snapshot: SelectionSnapshot, request: SelectionRequest): Filtered {
	const { options } = snapshot;
	const { now } = request;
	const exclude = new Set(request.exclude ?? []);
	const out: Filtered = { admitted: [], blocked: [], anyAdmitting: false, excluded: 0, atMax: 0, memory: 0, soonestOpenEnd: Number.POSITIVE_INFINITY };
	snapshot.servers.forEach((server, index) => {
		if (exclude.has(server.id)) {
			out.excluded++;
			return;
		}
		const admission = admit(server.breaker, now);
		if (admission.admitted) out.anyAdmitting = true;
		if (server.inFlight >= server.max) {
			out.atMax++;
			return;
		}
		const used = memoryUse(server, options);
		if (used > options.memorySkipAbove) {
			out.memory++;
			return;
		}
		const candidate: Candidate = {
			server,
			index,
			effectiveWeight: server.weight * slowStartFactor(server.breaker, now, options.slowStartMs),
			trial: admission.trial,
			pressured: used > options.memoryPreferBelow,
		};
		if (admission.admitted) out.admitted.push(candidate);
		else {
			out.blocked.push(candidate);
			out.soonestOpenEnd = Math.min(out.soonestOpenEnd, server.breaker.openUntil);
		}
	});
	return out;
}
