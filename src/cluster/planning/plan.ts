/**
 * Which waiting scenes to start now, and where — where `leastLoaded` and `fastest` decide:
 * earliest-finish-time list scheduling over the whole queue of one batch (pure).
 *
 * Every waiting scene, in queue order, is placed on the server where it would finish first given
 * the work already ahead there, including scenes placed before it in this plan. A scene whose best
 * server has a free slot starts now; a scene whose best server is full waits for it, even if a
 * slower server is idle — that is what keeps the last scenes of a batch off slow machines.
 *
 * A scene also pays the load of every model its server does not hold when its turn comes (the
 * models of the scene planned before it there): scenes of one model gather on the servers that
 * hold it, and a server changes model only when that finishes the scene sooner all the same. When
 * there are more models than servers, a server about to start a scene that loads another model
 * takes instead the next waiting scene of its own model, if one waits among the next LOOKAHEAD
 * scenes of the same `group` (scenes the queue ranks alike): the other model waits until its own
 * turn comes, rather than every server loading every model in turn.
 */

export interface PlanServer {
	id: string;
	/** Prompts this server may still take now (its `max` minus what it holds cluster-wide). */
	freeSlots: number;
	/** Expected seconds of work already ahead of a new scene on this server. */
	busySeconds: number;
	/** The models it will hold when that work is done (undefined: not known, nothing counted as held). */
	resident?: readonly string[];
	/** Heavy scenes it may still take now (memory.ts; undefined: no limit of its own). */
	heavySlots?: number;
}

export interface PlanScene<K> {
	key: K;
	workflowKey: string;
	/** Servers allowed for this scene (capable, not excluded, breaker admits), in preference order. */
	candidates: readonly string[];
	/** The models it loads (see residency.ts), priced by `LoadCost` where they are not held. */
	models?: readonly string[];
	/** A video: starts only where a heavy slot is free (it waits for one like for any slot). */
	heavy?: boolean;
	/** Scenes of one group may start in either order (same priority, equally long). */
	group?: string;
}

export interface Placement<K> {
	key: K;
	serverId: string;
	/** Expected finish, seconds from now. */
	finishSeconds: number;
}

export type Estimate = (serverId: string, workflowKey: string) => number;

/** Seconds of loading `models` on a server that holds `resident` then. */
export type LoadCost = (serverId: string, models: readonly string[], resident: readonly string[] | undefined) => number;

/** How many waiting scenes ahead a server looks for one of the models it holds. */
export const LOOKAHEAD = 32;

export function planPlacements<K>(
	servers: readonly PlanServer[],
	/** Waiting scenes in order; read only as far as free slots remain. */
	queue: Iterable<PlanScene<K>>,
	estimate: Estimate,
	load?: LoadCost,
): Array<Placement<K>> {
	const busy = new Map(servers.map((s) => [s.id, Math.max(0, s.busySeconds)]));
	const resident = new Map(servers.map((s) => [s.id, s.resident]));
	const cost: SceneCost<K> = (id, scene) => Math.max(0, estimate(id, scene.workflowKey)) + (load && scene.models ? load(id, scene.models, resident.get(id)) : 0);
	const slots = new Map(servers.map((s) => [s.id, Math.max(0, s.freeSlots)]));
	const heavySlots = new Map(servers.map((s) => [s.id, s.heavySlots ?? Number.POSITIVE_INFINITY]));
	const open: Open<K> = (id, scene) => (slots.get(id) ?? 0) > 0 && (!scene.heavy || (heavySlots.get(id) ?? 0) > 0);
	const order = new Map(servers.map((s, i) => [s.id, i]));
	const startNow: Array<Placement<K>> = [];
	let anyFreeSlot = [...slots.values()].some((n) => n > 0);

	// The queue is read lazily; scenes looked at ahead, or put back, wait here in order.
	const source = queue[Symbol.iterator]();
	const ahead: Array<PlanScene<K>> = [];
	const pull = (): PlanScene<K> | undefined => ahead.shift() ?? source.next().value;
	/** A waiting scene of the models `id` holds, taken out of the queue (see LOOKAHEAD). */
	const ownModel = (id: string, like: PlanScene<K>): PlanScene<K> | undefined => {
		while (ahead.length < LOOKAHEAD) {
			const next = source.next();
			if (next.done) break;
			ahead.push(next.value);
		}
		const i = ahead.findIndex((s) => s.group === like.group && s.models?.length && s.candidates.includes(id) && open(id, s) && load!(id, s.models, resident.get(id)) === 0);
		return i < 0 ? undefined : ahead.splice(i, 1)[0];
	};

	for (let scene = pull(); scene !== undefined && anyFreeSlot; scene = pull()) {
		let best: { id: string; finish: number } | undefined;
		for (const id of scene.candidates) {
			const ahead = busy.get(id);
			if (ahead === undefined) continue;
			const finish = ahead + cost(id, scene);
			if (!best || finish < best.finish - 1e-9 || (Math.abs(finish - best.finish) <= 1e-9 && prefer(id, best.id, slots, order))) {
				best = { id, finish };
			}
		}
		if (!best) continue;
		if (!open(best.id, scene)) best = freeInstead(scene, best, busy, open, cost, estimate) ?? best;
		if (load && scene.models?.length && open(best.id, scene) && load(best.id, scene.models, resident.get(best.id)) > 0) {
			const own = ownModel(best.id, scene);
			if (own) {
				ahead.unshift(scene);
				scene = own;
				best = { id: best.id, finish: (busy.get(best.id) ?? 0) + cost(best.id, own) };
			}
		}
		busy.set(best.id, best.finish);
		if (load) resident.set(best.id, scene.models ?? []);
		if (open(best.id, scene)) {
			slots.set(best.id, (slots.get(best.id) ?? 0) - 1);
			if (scene.heavy) heavySlots.set(best.id, (heavySlots.get(best.id) ?? 0) - 1);
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

/** Expected seconds of a scene on a server, loads included, as the plan stands. */
type SceneCost<K> = (serverId: string, scene: PlanScene<K>) => number;

/** Whether the scene may start on the server now (a free slot, and a free heavy slot for a heavy scene). */
type Open<K> = (serverId: string, scene: PlanScene<K>) => boolean;

function freeInstead<K>(
	scene: PlanScene<K>,
	best: { id: string; finish: number },
	busy: Map<string, number>,
	open: Open<K>,
	cost: SceneCost<K>,
	estimate: Estimate,
): { id: string; finish: number } | undefined {
	let free: { id: string; finish: number; seconds: number } | undefined;
	for (const id of scene.candidates) {
		const ahead = busy.get(id);
		if (ahead === undefined || !open(id, scene)) continue;
		const finish = ahead + cost(id, scene);
		// The margin is for noisy estimates of work; a model load it would pay is counted in full.
		if (!free || finish < free.finish) free = { id, finish, seconds: Math.max(0, estimate(id, scene.workflowKey)) };
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
