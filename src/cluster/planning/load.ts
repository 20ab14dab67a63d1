/**
 * What stands ahead of a new scene on each server, counted exactly (pure):
 * - our own scenes, by their expected seconds left (known at once when one ends: no probe needed);
 * - prompts of other executions and workers of this cluster, by their leases in the store;
 * - prompts nobody in this cluster submitted (someone using the server directly), read from the
 *   server's queue by the last probe — entries are told apart by the client id they were submitted
 *   with, never by subtracting our count from a queue length, so prompts of ours that finished since
 *   the probe are never mistaken for someone else's work. That work drains while time passes: a
 *   probe seen `ageMs` ago counts `ageMs` less of it, and none after `EXTERNAL_FRESH_MS`.
 */
import type { PlanServer } from './plan';

/** External prompts seen longer ago than this are not counted (the next probe will tell). */
export const EXTERNAL_FRESH_MS = 10_000;

export interface ServerLoad {
	id: string;
	max: number;
	/**
	 * Expected seconds left of each scene of ours on it (running or queued there). Leases of ours on
	 * their way back do not count: the exchange that takes a slot hands them back first.
	 */
	ownWork: readonly number[];
	/** Leases that other executions and workers of this cluster hold on it. */
	foreignLeases: number;
	/** Prompts in its queue that this cluster did not submit, at the last probe. */
	external?: { count: number; ageMs: number };
	/** Expected seconds of one prompt on it, for the work we cannot see (foreign and external). */
	typicalSeconds: number;
	/** Takes nothing now: unreachable, or a reservation there was just refused. */
	closed?: boolean;
}

export function planServer(load: ServerLoad): PlanServer {
	const own = load.ownWork.reduce((sum, seconds) => sum + Math.max(0, seconds), 0);
	const held = load.ownWork.length + load.foreignLeases;
	return {
		id: load.id,
		freeSlots: load.closed ? 0 : Math.max(0, load.max - held),
		busySeconds: own + load.foreignLeases * load.typicalSeconds + externalSeconds(load),
	};
}

/** Seconds of external work still ahead: what the probe saw, less the time since. */
export function externalSeconds(load: Pick<ServerLoad, 'external' | 'typicalSeconds'>): number {
	const seen = load.external;
	if (!seen || seen.count <= 0 || seen.ageMs >= EXTERNAL_FRESH_MS) return 0;
	return Math.max(0, seen.count * load.typicalSeconds - Math.max(0, seen.ageMs) / 1000);
}

/** Queue entries (running and pending) whose client id does not carry this cluster's prefix. */
export function countExternal(entries: ReadonlyArray<{ clientId?: string }>, clientPrefix: string): number {
	let n = 0;
	for (const entry of entries) if (!entry.clientId?.startsWith(clientPrefix)) n++;
	return n;
}
