/**
 * Which scenes still waiting in a server's queue move to a server with room (pure): a move must
 * promise the scene a clearly earlier finish, counting the work already ahead on both sides.
 *
 * Not only an idle server takes over: at the end of a batch a fast server that still runs its last
 * scene finishes a scene queued behind a slow one's long before the slow one would start it.
 */
import type { Estimate, LoadCost, PlanServer } from './plan';

/** A move must promise at least this much earlier finish (fraction of the scene's expected time there). */
export const MOVE_MARGIN = 0.25;

export interface HeldScene<K> {
	key: K;
	serverId: string;
	workflowKey: string;
	/** Still waiting in its server's queue (a running scene never moves). */
	queued: boolean;
	/** May move (not already moving or given up). */
	movable: boolean;
	/** Started on its server at (queued scenes ahead of it started earlier). */
	since: number;
	/** Expected seconds left there. */
	remaining: number;
	/** Servers it may not go to (cannot run it, or failed it). */
	excluded: ReadonlySet<string>;
	/** The models it loads: a server that does not hold them then pays their load (`LoadCost`). */
	models?: readonly string[];
}

/** For each server with a free slot, at most one queued scene to take over; the keys of the scenes to move. */
export function chooseMoves<K>(servers: readonly PlanServer[], held: ReadonlyArray<HeldScene<K>>, estimate: Estimate, load?: LoadCost): K[] {
	const moves: K[] = [];
	const moving = new Set<HeldScene<K>>();
	for (const idle of servers) {
		if (idle.freeSlots <= 0) continue;
		let best: { scene: HeldScene<K>; gain: number } | undefined;
		for (const scene of held) {
			if (!scene.queued || !scene.movable || moving.has(scene) || scene.serverId === idle.id || scene.excluded.has(idle.id)) continue;
			const ahead = held
				.filter((other) => other.serverId === scene.serverId && other !== scene && (!other.queued || other.since < scene.since))
				.reduce((sum, other) => sum + other.remaining, 0);
			const there = ahead + scene.remaining;
			const alone = estimate(idle.id, scene.workflowKey);
			const loading = load && scene.models ? load(idle.id, scene.models, idle.resident) : 0;
			const gain = there - (idle.busySeconds + alone + loading);
			if (gain > MOVE_MARGIN * alone && (!best || gain > best.gain)) best = { scene, gain };
		}
		if (best) {
			moving.add(best.scene);
			moves.push(best.scene.key);
		}
	}
	return moves;
}
