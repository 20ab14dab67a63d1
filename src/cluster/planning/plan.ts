/**
 * Which waiting scenes to start now, and where: earliest-finish-time list scheduling over the
 * whole queue of one batch (pure).
 *
 * Every waiting scene, in queue order, is placed on the server where it would finish first given
 * the work already ahead there, including scenes placed before it in this plan. A scene whose best
 * server has a free slot starts now; a scene whose best server is full waits for it, even if a
 * slower server is idle — that is what keeps the last scenes of a batch off slow machines.
 */

export interface PlanServer {
	id: string;
	/** Prompts this server may still take now (its `max` minus what it holds cluster-wide). */
	freeSlots: number;
	/** Expected seconds of work already ahead of a new scene on this server. */
	busySeconds: number;
}

export interface PlanScene<K> {
	key: K;
	workflowKey: string;
	/** Servers allowed for this scene (capable, not excluded, breaker admits), in preference order. */
	candidates: readonly string[];
}

export interface Placement<K> {
	key: K;
	serverId: string;
	/** Expected finish, seconds from now. */
	finishSeconds: number;
}

export type Estimate = (serverId: string, workflowKey: string) => number;

export function planPlacements<K>(
	servers: readonly PlanServer[],
	/** Waiting scenes in order; read only as far as free slots remain. */
	queue: Iterable<PlanScene<K>>,
	estimate: Estimate,
): Array<Placement<K>> {
	const busy = new Map(servers.map((s) => [s.id, Math.max(0, s.busySeconds)]));
	const slots = new Map(servers.map((s) => [s.id, Math.max(0, s.freeSlots)]));
	const order = new Map(servers.map((s, i) => [s.id, i]));
	const startNow: Array<Placement<K>> = [];
	let anyFreeSlot = [...slots.values()].some((n) => n > 0);

	for (const scene of queue) {
		if (!anyFreeSlot) break;
		let best: { id: string; finish: number } | undefined;
		for (const id of scene.candidates) {
			const ahead = busy.get(id);
			if (ahead === undefined) continue;
			const finish = ahead + Math.max(0, estimate(id, scene.workflowKey));
			if (!best || finish < best.finish - 1e-9 || (Math.abs(finish - best.finish) <= 1e-9 && prefer(id, best.id, slots, order))) {
				best = { id, finish };
			}
		}
		if (!best) continue;
		if ((slots.get(best.id) ?? 0) === 0) best = freeInstead(scene, best, busy, slots, estimate) ?? best;
		busy.set(best.id, best.finish);
		const free = slots.get(best.id) ?? 0;
		if (free > 0) {
			slots.set(best.id, free - 1);
			startNow.push({ key: scene.key, serverId: best.id, finishSeconds: best.finish });
			anyFreeSlot = [...slots.values()].some((n) => n > 0);
		}
	}
	return startNow;
}

/**
 * A scene waits for a full server only when that clearly pays: estimates are noisy, and a server
 * with a free slot that is left without a queued scene idles between two of its scenes. The best
 * server with a free slot takes the scene unless the full one finishes it sooner by more than
 * HOLD_MARGIN of the scene's expected time there.
 */
export const HOLD_MARGIN = 0.15;

function freeInstead<K>(
	scene: PlanScene<K>,
	best: { id: string; finish: number },
	busy: Map<string, number>,
	slots: Map<string, number>,
	estimate: Estimate,
): { id: string; finish: number } | undefined {
	let free: { id: string; finish: number; seconds: number } | undefined;
	for (const id of scene.candidates) {
		const ahead = busy.get(id);
		if (ahead === undefined || (slots.get(id) ?? 0) === 0) continue;
		const seconds = Math.max(0, estimate(id, scene.workflowKey));
		if (!free || ahead + seconds < free.finish) free = { id, finish: ahead + seconds, seconds };
	}
	return free && free.finish <= best.finish + HOLD_MARGIN * free.seconds ? { id: free.id, finish: free.finish } : undefined;
}

/** On a tie, a server with a free slot wins, then the one listed first. */
function prefer(a: string, b: string, slots: Map<string, number>, order: Map<string, number>): boolean {
	const freeA = (slots.get(a) ?? 0) > 0;
	const freeB = (slots.get(b) ?? 0) > 0;
	if (freeA !== freeB) return freeA;
	return (order.get(a) ?? 0) < (order.get(b) ?? 0);
}
