/**
 * Where the ready scenes of a batch start now, and which waiting ones move: `leastLoaded` and
 * `fastest` place by earliest expected finish (planning/plan.ts) over what stands ahead on each
 * server, counted exactly (planning/load.ts); `weighted` and `roundRobin` let the store pick. Either
 * way the store reserves the slot, so `max` holds across every execution and worker.
 */
import type { BatchState, Running, Waiting } from './batchState';
import type { Joining } from './joining';
import type { LeaseBook } from './leases';
import { planServer } from './planning/load';
import { rankGroup } from './planning/order';
import { planPlacements, type PlanScene, type PlanServer } from './planning/plan';
import { chooseMoves } from './planning/rebalance';
import { externalSeen } from './probes';
import type { ServerSpec } from './serverSpec';
import type { Lease, SelectArgs } from './store/HealthStore';
import { storeStrategy } from './strategy';

export class Placement {
	/** A reservation the plan expected to succeed was refused: the shared state moved under us. */
	contended = false;

	constructor(
		private readonly state: BatchState,
		private readonly leases: LeaseBook,
		private readonly joining: Joining,
		private readonly start: (waiting: Waiting, lease: Lease) => void,
	) {}

	/** Starts up to `capacity` ready scenes. */
	async place(capacity: number): Promise<void> {
		const { strategy } = this.state.options;
		if (strategy === 'weighted' || strategy === 'roundRobin') await this.byStore(capacity);
		else await this.byFinishTime(capacity);
	}

	/** The store picks the server of each ready scene. */
	private async byStore(capacity: number): Promise<void> {
		const picked: Waiting[] = [];
		for (const waiting of this.state.ready()) {
			if (picked.length >= capacity) break;
			picked.push(waiting);
		}
		const results = await this.leases.exchange(picked.map((w) => this.reservation(this.state.candidates(w))));
		results.forEach((result, i) => {
			if (!('none' in result)) this.start(picked[i], result.lease);
		});
	}

	/** Scenes start where they finish first; a slot of ours that just came free passes straight on. */
	private async byFinishTime(capacity: number): Promise<void> {
		const full = new Set<string>();
		const estimate = (serverId: string, workflowKey: string) => this.state.estimate(serverId, workflowKey);
		for (let round = 0; round < 3 && capacity > 0 && !this.state.aborted; round++) {
			const load = (serverId: string, models: readonly string[], resident: readonly string[] | undefined) => this.state.loadCost(serverId, models, resident);
			const planned = planPlacements(this.planServers(full), this.planQueue(), estimate, this.state.options.affinity ? load : undefined).slice(0, capacity);
			const plan = planned.filter((p) => {
				const lease = this.leases.passOn(p.serverId);
				if (lease) this.start(p.key, lease);
				return !lease;
			});
			capacity -= planned.length - plan.length;
			if (plan.length === 0) return;
			const results = await this.leases.exchange(plan.map((p) => this.reservation([this.state.byId.get(p.serverId)!])));
			let refused = false;
			results.forEach((result, i) => {
				if ('none' in result) {
					// Another worker took the slot between our last look and now.
					full.add(plan[i].serverId);
					refused = true;
					this.contended = true;
				} else {
					this.start(plan[i].key, result.lease);
					capacity--;
				}
			});
			if (!refused) return;
		}
	}

	/**
	 * Scenes still waiting in a server's queue move to a server with a free slot that would finish
	 * them clearly sooner (planning/rebalance.ts); nothing moves while scenes are ready to start.
	 */
	rebalance(): void {
		if (this.state.queue.some((w) => w.notBefore <= Date.now())) return;
		const now = Date.now();
		const { liveness } = this.state.runtime;
		const servers = this.planServers(new Set()).filter((s) => liveness.reachable(s.id));
		const held = [...this.state.running].map((run) => ({
			key: run,
			serverId: run.serverId,
			workflowKey: run.waiting.scene.workflowKey,
			queued: run.phase === 'queued',
			movable: !run.moveRequested && !run.abandoned,
			since: run.since,
			remaining: this.state.remaining(run, now),
			excluded: new Set([...run.waiting.incapable, ...run.waiting.failedOn]),
			models: run.waiting.models,
		}));
		const estimate = (serverId: string, workflowKey: string) => this.state.estimate(serverId, workflowKey);
		for (const run of chooseMoves<Running>(servers, held, estimate, (serverId, models, resident) => this.state.loadCost(serverId, models, resident))) {
			run.moveRequested = true;
			run.move.abort();
		}
	}

	/** The ready scenes as the planner sees them, computed only as far as it reads. */
	private *planQueue(): Generator<PlanScene<Waiting>> {
		for (const waiting of this.state.ready()) {
			const { scene } = waiting;
			const group = rankGroup(scene, this.state.mixed ? this.state.lengthOf() : () => 0);
			yield { key: waiting, workflowKey: scene.workflowKey, candidates: this.state.candidates(waiting).map((s) => s.id), models: waiting.models, heavy: scene.heavy, group };
		}
	}

	private reservation(allowed: readonly ServerSpec[]): SelectArgs {
		const { servers, options } = this.state;
		return {
			servers,
			strategy: storeStrategy(options.strategy),
			exclude: servers.filter((s) => !allowed.includes(s)).map((s) => s.id),
			leaseTtlMs: options.leaseTtlMs,
		};
	}

	private planServers(full: ReadonlySet<string>): PlanServer[] {
		const { state } = this;
		const now = Date.now();
		const typicalKey = state.queue[0]?.scene.workflowKey ?? '';
		const ownWork = new Map<string, number[]>();
		const heavy = new Map<string, number>();
		for (const run of state.running) {
			if (run.abandoned) continue;
			const list = ownWork.get(run.serverId) ?? [];
			list.push(state.remaining(run, now));
			ownWork.set(run.serverId, list);
			if (run.waiting.scene.heavy) heavy.set(run.serverId, (heavy.get(run.serverId) ?? 0) + 1);
		}
		const { heavyPerServer } = state.options;
		// While servers are still joining, those that joined run one scene each.
		const settling = this.joining.settling;
		return state.servers.map((server) => {
			const external = this.external(server.id, now);
			const plan = planServer({
				id: server.id,
				max: settling ? Math.min(1, server.max) : server.max,
				ownWork: ownWork.get(server.id) ?? [],
				foreignLeases: state.foreign.get(server.id) ?? 0,
				external,
				typicalSeconds: state.estimate(server.id, typicalKey),
				closed: full.has(server.id),
			});
			const heavySlots = heavyPerServer > 0 ? Math.max(0, heavyPerServer - (heavy.get(server.id) ?? 0)) : undefined;
			return { ...plan, resident: state.residentAfter(server.id, this.othersAhead(server.id, external)), heavySlots };
		});
	}

	/** Work of other executions or of anybody else stands ahead on the server (its models are not known). */
	othersAhead(serverId: string, external = this.external(serverId, Date.now())): boolean {
		return (this.state.foreign.get(serverId) ?? 0) > 0 || (external?.count ?? 0) > 0;
	}

	private external(serverId: string, now: number): { count: number; ageMs: number } | undefined {
		const { state } = this;
		return externalSeen(state.runtime.prober.last(serverId), state.status.get(serverId), state.statusAt, now);
	}
}
