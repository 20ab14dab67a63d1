/**
 * The loop of one batch — many scenes over many servers in one node execution: scenes wait in one
 * queue (priority, then longest expected first), start when placement.ts finds them a server, and
 * settle once each; result i belongs to scene i, and one scene's failure never stops the others.
 *
 * The rooms it calls decide the rest: joining.ts when a server may take scenes, placement.ts where
 * scenes start and which move, sceneRun.ts and failure.ts what an attempt comes to, leases.ts how
 * slots go back to the store, silence.ts what a server that stops answering costs its scenes. The
 * abort signal cancels everything and cleans up on the servers.
 */
import { CancelledError } from '../comfyui/errors';
import { resolveBatchOptions, type BatchOptions } from './batchOptions';
import { BatchState, type Running, type Waiting } from './batchState';
import { incapableOn, Joining } from './joining';
import { keepLease, LeaseBook } from './leases';
import { queueOrder } from './planning/order';
import { Placement } from './placement';
import type { SceneOutcome, SceneRequest } from './scene';
import { runScene } from './sceneRun';
import type { ServerSpec } from './serverSpec';
import { Silence } from './silence';
import type { Lease, ServerStatus } from './store/HealthStore';
import type { ClusterRuntime } from './types';

/** After a reservation was refused (another worker took the slot), look again this soon. */
const CONTENDED_RETRY_MS = 100;
/** Refresh period while other workers hold leases on our servers. */
const SHARED_REFRESH_MS = 200;

export async function runBatch(runtime: ClusterRuntime, scenes: readonly SceneRequest[], options: BatchOptions): Promise<SceneOutcome[]> {
	return new Scheduler(runtime, scenes, options).run();
}

class Scheduler {
	private readonly state: BatchState;
	private readonly leases: LeaseBook;
	private readonly joining: Joining;
	private readonly placement: Placement;
	private readonly silence: Silence;
	private readonly uploads = new Map<string, Promise<string>>();
	private readonly probeAbort = new AbortController();
	private pumping = false;
	private pumpAgain = false;
	private timer?: NodeJS.Timeout;
	private lastRefresh = 0;
	/** The model the queue was last sorted for (the order depends on expected durations). */
	private sortedFor?: unknown;
	private prepared = false;
	private finish?: () => void;

	constructor(runtime: ClusterRuntime, scenes: readonly SceneRequest[], options: BatchOptions) {
		const state = (this.state = new BatchState(runtime, scenes, resolveBatchOptions(options, runtime.servers)));
		this.leases = new LeaseBook({
			store: runtime.store,
			leaseTtlMs: state.options.leaseTtlMs,
			warn: (message) => state.warn(message),
			clean: (text) => state.clean(text),
			onStored: (releases, at) => state.speeds.stored(releases, at),
			onSettled: () => this.maybeFinish(),
		});
		this.joining = new Joining(state, this.probeAbort.signal, {
			refresh: () => this.refresh(),
			checkCapabilities: (servers) => this.checkCapabilities(servers),
			changed: () => this.pump(),
		});
		this.placement = new Placement(state, this.leases, this.joining, (waiting, lease) => this.start(waiting, lease));
		this.silence = new Silence(state, this.probeAbort.signal, () => this.pump());
	}

	async run(): Promise<SceneOutcome[]> {
		const { state } = this;
		if (state.queue.length === 0) return [];
		const done = new Promise<void>((resolve) => (this.finish = resolve));
		const signal = state.options.signal;
		const onAbort = () => this.abort();
		signal?.addEventListener('abort', onAbort, { once: true });
		const unsubscribe = state.runtime.liveness.subscribe((serverId, reachability) => {
			// Back from the start of the batch: its catalogue is read before it takes a scene.
			if (reachability === 'up' && this.prepared) this.joining.back(serverId);
			this.silence.onReachability(serverId, reachability);
			this.pump();
		});
		try {
			if (signal?.aborted) this.abort();
			else {
				await this.joining.prepare();
				this.prepared = true;
				this.pump();
			}
			this.maybeFinish();
			await done;
		} finally {
			signal?.removeEventListener('abort', onAbort);
			unsubscribe();
			this.probeAbort.abort();
			if (this.timer) clearTimeout(this.timer);
			this.leases.close();
		}
		return state.outcomes.map((outcome, position) => outcome ?? state.failed(state.scenes[position].index, new CancelledError('The execution was cancelled'), []));
	}

	private pump(): void {
		// Probes and reachability news during setup wait for it: nothing is placed half-informed.
		if (!this.prepared) return;
		if (this.pumping) {
			this.pumpAgain = true;
			return;
		}
		this.pumping = true;
		void this.schedule()
			.catch((error) => this.state.warn(`Scheduler error: ${String(error)}`))
			.finally(() => {
				this.pumping = false;
				if (this.pumpAgain) {
					this.pumpAgain = false;
					this.pump();
				} else this.maybeFinish();
			});
	}

	private async schedule(): Promise<void> {
		const { state } = this;
		if (!state.aborted) {
			const contended = this.placement.contended;
			this.placement.contended = false;
			if (contended || (state.queue.length > 0 && Date.now() - this.lastRefresh >= this.refreshPeriod())) await this.refresh();
			this.silence.probeDue();
			this.silence.giveUpOnSilent();
			if (this.sortedFor !== state.speeds.model) {
				const order = queueOrder(state.lengthOf(), state.mixed);
				state.queue.sort((a, b) => order(a.scene, b.scene));
				this.sortedFor = state.speeds.model;
			}
			const capacity = state.options.concurrency - state.running.size;
			if (capacity > 0 && state.queue.some((w) => w.notBefore <= Date.now())) {
				await this.placement.place(capacity);
			}
			if (state.options.rebalance && !state.aborted) this.placement.rebalance();
			this.arm();
		}
		// Leases no reservation took along go back on their own, unless another pass follows (scenes
		// ended meanwhile) that may pass them on.
		if (!this.pumpAgain || state.aborted) this.leases.flush(state.running.size > 0 && !state.aborted);
	}

	/** Re-reads the shared state: breakers, cluster-wide leases, speed averages, abandoned prompts. */
	private async refresh(): Promise<void> {
		const { state } = this;
		const requestedAt = Date.now();
		this.lastRefresh = requestedAt;
		let statuses: ServerStatus[];
		try {
			statuses = await state.runtime.store.snapshot(state.servers);
		} catch (error) {
			state.warn(`Could not read the cluster state: ${String(error)}`);
			return;
		}
		state.statusAt = requestedAt;
		state.status = new Map(statuses.map((s) => [s.id, s]));
		state.foreign = new Map(statuses.map((s) => [s.id, Math.max(0, s.inFlight - this.ours(s.id))]));
		state.speeds.refresh(statuses, requestedAt);
		// Prompts other workers (or earlier executions) abandoned on servers that answer again.
		for (const s of statuses) if (s.tombstones?.length && state.runtime.liveness.reachable(s.id)) state.runtime.janitor.adopt(s.tombstones);
	}

	/** Scenes these servers cannot run leave them; scenes no server can run fail at once, naming what is missing where. */
	private checkCapabilities(servers: readonly ServerSpec[]): void {
		const { state } = this;
		for (const waiting of [...state.queue]) {
			const none = incapableOn(waiting.scene.requirements, servers, state.servers, state.catalogues, waiting.incapable);
			if (none) this.settle(waiting, state.failed(waiting.scene.index, none, waiting.attempts));
		}
	}

	private start(waiting: Waiting, lease: Lease): void {
		const { state } = this;
		if (state.aborted) {
			// Cancelled while the slot was being reserved: hand it straight back.
			this.leases.handBack(lease, { kind: 'cancelled', workflowKey: waiting.scene.workflowKey });
			return;
		}
		const server = state.byId.get(lease.serverId)!;
		const residentBefore = state.residentAfter(server.id, this.placement.othersAhead(server.id));
		state.dequeue(waiting);
		waiting.firstStart ??= Date.now();
		const run: Running = {
			waiting,
			serverId: server.id,
			lease,
			phase: 'queued',
			since: Date.now(),
			cancel: new AbortController(),
			move: new AbortController(),
			moveRequested: false,
			abandon: new AbortController(),
			residentBefore,
		};
		state.running.add(run);
		run.keeper = keepLease(state.runtime.store, lease, {
			ttlMs: state.options.leaseTtlMs,
			holder: `scene ${waiting.scene.index} on ${server.url}`,
			warn: (message) => state.warn(message),
		});
		const attempt = waiting.attempts.filter((a) => a.outcome !== 'moved' && a.outcome !== 'unreachable').length + 1;
		state.options.onEvent?.({ type: 'start', index: waiting.scene.index, serverId: server.id, server: server.url, attempt });
		void this.execute(run, server);
	}

	private async execute(run: Running, server: ServerSpec): Promise<void> {
		let outcome;
		try {
			outcome = await runScene(this.state, run, server, this.uploads, {
				settle: (waiting, result) => this.settle(waiting, result),
				requeue: (waiting, delayMs) => this.requeue(waiting, delayMs),
			});
		} finally {
			run.keeper?.stop();
			this.state.running.delete(run);
		}
		const release = this.leases.handBack(run.lease, outcome);
		this.state.speeds.learn(server.id, run.waiting.scene, release);
		this.pump();
	}

	private requeue(waiting: Waiting, delayMs: number): void {
		waiting.notBefore = Date.now() + delayMs;
		this.state.queue.push(waiting);
		this.sortedFor = undefined;
	}

	private settle(waiting: Waiting, outcome: SceneOutcome): void {
		const { state } = this;
		state.dequeue(waiting);
		state.outcomes[waiting.position] = outcome;
		state.options.onEvent?.({
			type: 'finish',
			index: waiting.scene.index,
			ok: outcome.ok,
			server: outcome.ok ? outcome.result.server : undefined,
			message: outcome.ok ? undefined : state.clean(outcome.error.message),
		});
	}

	/**
	 * How often to re-read the shared state while scenes wait: slots that other workers free are seen
	 * only then, so read more often while other workers hold leases on these servers.
	 */
	private refreshPeriod(): number {
		const period = this.state.options.refreshMs;
		const shared = [...this.state.foreign.values()].some((n) => n > 0);
		return shared ? Math.min(period, SHARED_REFRESH_MS) : period;
	}

	/**
	 * Wakes the scheduler for backoffs that end, to notice capacity freed by other workers, to probe
	 * the servers that hold our scenes, and when a silent server's window ends.
	 */
	private arm(): void {
		const { state } = this;
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
		if (state.aborted || (state.queue.length === 0 && state.running.size === 0)) return;
		const now = Date.now();
		let next = Number.POSITIVE_INFINITY;
		for (const w of state.queue) if (w.notBefore > now && w.notBefore < next) next = w.notBefore;
		for (const run of state.running) if (run.silentDeadline !== undefined && run.silentDeadline < next) next = run.silentDeadline;
		const period = this.placement.contended ? CONTENDED_RETRY_MS : state.queue.length > 0 ? this.refreshPeriod() : state.options.livenessMs;
		const delay = Math.max(10, Math.min(period, next - now));
		this.timer = setTimeout(() => this.pump(), delay);
	}

	private abort(): void {
		const { state } = this;
		if (state.aborted) return;
		state.aborted = true;
		for (const waiting of [...state.queue]) {
			this.settle(waiting, state.failed(waiting.scene.index, new CancelledError('The execution was cancelled'), waiting.attempts));
		}
		for (const run of state.running) run.cancel.abort(new CancelledError('The execution was cancelled'));
		this.maybeFinish();
	}

	private maybeFinish(): void {
		const { state } = this;
		if (this.pumping) return;
		if (state.running.size === 0 && this.leases.idle && (state.queue.length === 0 || state.aborted)) {
			if (this.timer) clearTimeout(this.timer);
			this.finish?.();
		}
	}

	/** Leases of ours on a server: running scenes and those on their way back. */
	private ours(serverId: string): number {
		let n = this.leases.releasingOn(serverId);
		for (const r of this.state.running) if (r.serverId === serverId) n++;
		return n;
	}
}
