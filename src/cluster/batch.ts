/**
 * Many scenes over many servers: the scheduler of one node execution.
 *
 * - Scenes wait in one queue (priority, then longest expected first); result i belongs to scene i,
 *   and one scene's failure never stops the others.
 * - `leastLoaded` and `fastest` place scenes by earliest expected finish (planning/plan.ts) from
 *   what stands ahead on each server, counted exactly (planning/load.ts), and speeds learned from
 *   every scene any worker ran (planning/durationModel.ts); `weighted` and `roundRobin` leave the
 *   choice to the store. Either way the HealthStore reserves the slot (cluster-wide `max`).
 * - Servers holding our scenes are probed every second (probes.ts): a refused connection excludes
 *   a server for every scene at once, a server that stops answering loses its waiting scenes at
 *   once and its running one after a bounded window; what is abandoned there is removed when it
 *   answers again (janitor.ts), so it never runs twice.
 * - Transient failures go back to the queue with a backoff, excluding the servers that failed the
 *   scene while others exist; invalid workflows and node errors fail the scene at once.
 * - When a server has room while one of our scenes still waits in a slower server's queue, the
 *   scene moves (deleted there, submitted here).
 * - The abort signal cancels everything and cleans up on the servers.
 */
import { backoffDelay, type BackoffOptions } from '../util/backoff';
import { redact } from '../util/redact';
import type { ComfyUiClient, ProgressEvent } from '../comfyui/client';
import { CancelledError, ComfyUiError, ExecutionError, IncapableServerError, InvalidWorkflowError, TransientServerError } from '../comfyui/errors';
import { MODEL_INPUTS, checkCapability, describeMissing, isCapable, type ObjectInfo } from '../comfyui/workflow';
import { AttemptError, runAttempt } from './attempt';
import type { Janitor } from './janitor';
import type { Liveness, Reachability } from './liveness';
import { candidateServers, usesAnAttempt } from './planning/candidates';
import { DurationModel, samplesOf, WORK_KEY, type DurationSample } from './planning/durationModel';
import { planServer } from './planning/load';
import { keepLease, type LeaseKeeper } from './leases';
import { planPlacements, type PlanScene, type PlanServer } from './planning/plan';
import { externalSeen, type Prober } from './probes';
import { refreshSystemStats } from './status';
import { SceneFailedError, type AttemptOutcomeKind, type AttemptRecord, type SceneOutcome, type SceneRequest } from './scene';
import type { ServerSpec } from './serverSpec';
import { DEFAULT_EWMA_ALPHA, type HealthStore, type Lease, type Outcome, type Release, type SelectArgs, type SelectResult, type ServerStatus } from './store/HealthStore';
import { storeStrategy, type StrategyName } from './strategy';

export interface EngineLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
}

export interface ClusterRuntime {
	servers: readonly ServerSpec[];
	clientFor(serverId: string): ComfyUiClient;
	store: HealthStore;
	/** Whether each server answers, as this process last saw it (shared by its executions). */
	liveness: Liveness;
	/** Queue probes of this process. */
	prober: Prober;
	/** Removes prompts abandoned on servers that stopped answering, once they answer again. */
	janitor: Janitor;
	logger?: EngineLogger;
	/** Secrets to strip from anything logged or reported. */
	secrets?: readonly string[];
}

export type BatchEvent =
	| { type: 'start'; index: number; serverId: string; server: string; attempt: number }
	| { type: 'progress'; index: number; serverId: string; server: string; phase: 'queued' | 'running'; percent?: number }
	| { type: 'retry'; index: number; server: string; reason: string; delayMs: number }
	| { type: 'moved'; index: number; from: string; reason: string }
	| { type: 'finish'; index: number; ok: boolean; server?: string; message?: string };

export interface BatchOptions {
	strategy: StrategyName;
	/** Scenes in flight at once for this batch (default: Σ servers' max). */
	concurrency?: number;
	signal?: AbortSignal;
	leaseTtlMs?: number;
	backoff?: BackoffOptions;
	/** Move waiting scenes to idle servers (default true). */
	rebalance?: boolean;
	onEvent?(event: BatchEvent): void;
	/** How often the scheduler re-reads the shared state while scenes wait (default 1 s). */
	refreshMs?: number;
	/** Probe idle servers whose last probe (by any worker) is older than this (default 3 s). */
	probeMaxAgeMs?: number;
	/** Probe servers that hold our scenes this often (default 1 s): how soon a frozen server is noticed. */
	livenessMs?: number;
	/**
	 * A running scene whose server stopped answering is retried elsewhere this long after it was
	 * expected to end (default 3 s). Its waiting scenes move at once.
	 */
	silentGraceMs?: number;
	/**
	 * Retry a running scene elsewhere once every poll of its server failed for this long (default 10 s).
	 * ComfyUI keeps its queue in memory, so a server that is down this long has lost the prompt.
	 */
	unreachableMs?: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 4000, factor: 2, jitter: 0.2 };
const DEFAULT_UNREACHABLE_MS = 10_000;
const DEFAULT_LIVENESS_MS = 1_000;
const DEFAULT_SILENT_GRACE_MS = 3_000;
const OBJECT_INFO_TIMEOUT_MS = 10_000;
/** After a reservation was refused (another worker took the slot), look again this soon. */
const CONTENDED_RETRY_MS = 100;
/** Refresh period while other workers hold leases on our servers. */
const SHARED_REFRESH_MS = 200;
/**
 * Outcomes of scenes whose lease passed to the next scene are recorded this much later at most,
 * many in one exchange: busy batches then cost far less than one Redis round trip per scene.
 */
const RECORD_DELAY_MS = 50;
/** A move must promise at least this much earlier finish (fraction of the scene's expected time). */
const MOVE_MARGIN = 0.25;

interface Waiting {
	/** Position in the batch's input (result i belongs to scene i). */
	position: number;
	scene: SceneRequest;
	attempts: AttemptRecord[];
	/** Servers that failed this scene (transiently). */
	failedOn: Set<string>;
	/** Servers that cannot run it. */
	incapable: Set<string>;
	notBefore: number;
	firstStart?: number;
}

interface Running {
	waiting: Waiting;
	serverId: string;
	lease: Lease;
	phase: 'queued' | 'running';
	since: number;
	cancel: AbortController;
	move: AbortController;
	moveRequested: boolean;
	/** Gives the scene up on its server without waiting for an answer from it. */
	abandon: AbortController;
	/** Why it was given up: the scene moves (not an attempt), or the attempt failed. */
	abandoned?: { kind: 'moved' | 'failed'; reason: string };
	/** Its server went silent while it ran: given up at this time unless the server answers again. */
	silentDeadline?: number;
	keeper?: LeaseKeeper;
}

/** A speed sample of ours, counted at once; also in the store once its release went through. */
interface LocalSample {
	serverId: string;
	workflowKey: string;
	seconds: number;
	work: number;
	/** When the exchange carrying it to the store completed. */
	storedAt?: number;
	release: Release;
}

export async function runBatch(runtime: ClusterRuntime, scenes: readonly SceneRequest[], options: BatchOptions): Promise<SceneOutcome[]> {
	return new Batch(runtime, scenes, options).run();
}

class Batch {
	private readonly outcomes: Array<SceneOutcome | undefined>;
	private queue: Waiting[];
	private readonly running = new Set<Running>();
	private readonly uploads = new Map<string, Promise<string>>();
	private readonly servers: readonly ServerSpec[];
	private readonly byId: Map<string, ServerSpec>;
	private readonly leaseTtlMs: number;
	private readonly concurrency: number;
	private readonly startedAt = Date.now();
	private status = new Map<string, ServerStatus>();
	/** When the status above was read. */
	private statusAt = 0;
	/** Leases of other executions per server, as of the last snapshot. */
	private foreign = new Map<string, number>();
	private objectInfo = new Map<string, ObjectInfo | undefined>();
	/** Expected work per workflow of this batch (from the graphs), the prior of the duration model. */
	private readonly work: ReadonlyMap<string, number>;
	private readonly weights: ReadonlyMap<string, number>;
	/** Whether the queue holds more than one kind of scene (else its order never changes). */
	private readonly mixed: boolean;
	private model: DurationModel;
	private storeSamples: DurationSample[] = [];
	private localSamples: LocalSample[] = [];
	private pumping = false;
	private pumpAgain = false;
	private timer?: NodeJS.Timeout;
	private lastRefresh = 0;
	/** A reservation the plan expected to succeed was refused: the shared state moved under us. */
	private contended = false;
	/** Leases of finished scenes, handed back (or passed on to the next scene) with the next exchange. */
	private toRelease: Release[] = [];
	private recordTimer?: NodeJS.Timeout;
	/** Exchanges with the store that carry only releases: nobody waits for them. */
	private readonly unsettled = new Set<Promise<unknown>>();
	/** Leases of ours not yet released in the store (waiting or on their way), per server. */
	private readonly releasing = new Map<string, number>();
	/** The model the queue was last sorted for (the order depends on expected durations). */
	private sortedFor?: DurationModel;
	private readonly probeAbort = new AbortController();
	private unsubscribe?: () => void;
	private finish!: () => void;
	/** Servers being probed or read (catalogue, memory) before they take scenes. */
	private readonly joining = new Set<string>();
	/** Servers whose catalogue and memory were read while they answered. */
	private readonly joined = new Set<string>();
	/** Servers still joining that may take one scene meanwhile (see join). */
	private readonly known = new Set<string>();
	private prepared = false;
	private aborted = false;

	constructor(
		private readonly runtime: ClusterRuntime,
		private readonly scenes: readonly SceneRequest[],
		private readonly options: BatchOptions,
	) {
		this.servers = runtime.servers;
		this.byId = new Map(this.servers.map((s) => [s.id, s]));
		this.outcomes = scenes.map(() => undefined);
		this.work = new Map(scenes.map((scene) => [scene.workflowKey, scene.work]));
		this.weights = new Map(this.servers.map((s) => [s.id, s.weight]));
		this.mixed = new Set(scenes.map((s) => `${s.priority}|${s.workflowKey}`)).size > 1;
		this.model = this.buildModel();
		this.queue = scenes.map((scene, position) => ({ position, scene, attempts: [], failedOn: new Set(), incapable: new Set(), notBefore: 0 }));
		this.leaseTtlMs = options.leaseTtlMs ?? 60_000;
		const totalMax = this.servers.reduce((sum, s) => sum + s.max, 0);
		this.concurrency = Math.max(1, options.concurrency || totalMax);
	}

	async run(): Promise<SceneOutcome[]> {
		if (this.queue.length === 0) return [];
		const done = new Promise<void>((resolve) => (this.finish = resolve));
		const signal = this.options.signal;
		const onAbort = () => this.abort();
		signal?.addEventListener('abort', onAbort, { once: true });
		this.unsubscribe = this.runtime.liveness.subscribe((serverId, state) => this.onReachability(serverId, state));
		try {
			if (signal?.aborted) this.abort();
			else {
				await this.prepare();
				this.prepared = true;
				this.pump();
			}
			this.maybeFinish();
			await done;
		} finally {
			signal?.removeEventListener('abort', onAbort);
			this.unsubscribe?.();
			this.probeAbort.abort();
			if (this.timer) clearTimeout(this.timer);
			if (this.recordTimer) clearTimeout(this.recordTimer);
		}
		return this.outcomes.map((outcome, position) => outcome ?? this.failed(this.scenes[position].index, new CancelledError('The execution was cancelled'), []));
	}

	// ── setup ────────────────────────────────────────────────────────────────────────────────

	/**
	 * Reads the shared state while every server joins: a probe (a cheap `GET /queue` that also tells
	 * whose prompts wait there), then its catalogue and memory when it answers. Scenes start as soon
	 * as one server has joined, or at once on a server this process read the catalogue of recently;
	 * the rest join while scenes run. A server still joining takes no scene (999 dead servers or a
	 * frozen one do not hold up the first submit), and while any is joining the others take one scene
	 * each, so the first to answer does not take a queue of scenes the others would have started at once.
	 */
	private async prepare(): Promise<void> {
		let firstJoined!: () => void;
		const first = new Promise<void>((resolve) => (firstJoined = resolve));
		const refreshed = this.refresh();
		const all = Promise.all(this.servers.map((server) => this.join(server, true).then(() => this.runtime.liveness.reachable(server.id) && firstJoined())));
		if (this.known.size > 0) firstJoined();
		await Promise.all([refreshed, Promise.race([all, first])]);
	}

	/**
	 * Probes a server (when asked), then reads its memory and catalogue and opens its websocket if it
	 * answers, so a server where nothing listens costs one connection attempt. A server that answered a
	 * probe just now, or whose catalogue this process read within its cache time, is most likely up: it
	 * does all of that while probed and may take one scene before the probe answers (a refusal then
	 * costs the scene no attempt, and a silent server gives its waiting scenes up, as at any time).
	 */
	private async join(server: ServerSpec, probe: boolean): Promise<void> {
		this.joining.add(server.id);
		const client = this.runtime.clientFor(server.id);
		const catalogue = probe && this.runtime.liveness.reachable(server.id) ? client.cachedObjectInfo() : undefined;
		if (catalogue) {
			this.known.add(server.id);
			this.objectInfo.set(server.id, catalogue as ObjectInfo);
			this.checkCapabilities([server]);
		}
		const openUp = () => {
			client.warmUp();
			return refreshSystemStats(this.runtime, [server], this.options.signal);
		};
		try {
			// The probe first: it takes the connection kept alive since the last request, if any.
			const probing = probe ? this.runtime.prober.probe(server.id, this.probeAbort.signal) : undefined;
			let stats = catalogue || !probe ? openUp() : undefined;
			await probing;
			if (this.runtime.liveness.reachable(server.id)) {
				stats ??= openUp();
				await Promise.all([this.loadObjectInfo(server), stats]);
				this.joined.add(server.id);
			}
		} finally {
			this.joining.delete(server.id);
			this.known.delete(server.id);
		}
		this.checkCapabilities([server]);
		this.pump();
	}

	private async loadObjectInfo(server: ServerSpec): Promise<void> {
		const needed = this.queue.some((w) => w.scene.requirements.nodeClasses.length > 0);
		if (!needed || this.objectInfo.has(server.id)) return;
		try {
			const info = await this.runtime.clientFor(server.id).objectInfo({ signal: AbortSignal.timeout(OBJECT_INFO_TIMEOUT_MS) });
			this.objectInfo.set(server.id, info as ObjectInfo);
		} catch {
			// Unknown catalogue: the server is not excluded for capability; its breaker handles reachability.
			this.objectInfo.set(server.id, undefined);
		}
	}

	/** Scenes that these servers cannot run leave them out; scenes no server can run fail at once, naming what is missing where. */
	private checkCapabilities(servers: readonly ServerSpec[] = this.servers): void {
		for (const waiting of [...this.queue]) {
			for (const server of servers) {
				const info = this.objectInfo.get(server.id);
				if (info && !isCapable(checkCapability(waiting.scene.requirements, info))) waiting.incapable.add(server.id);
			}
			if (waiting.incapable.size === this.servers.length) {
				const gaps = this.servers.flatMap((server) => {
					const info = this.objectInfo.get(server.id);
					return info ? [{ server, missing: checkCapability(waiting.scene.requirements, info) }] : [];
				});
				const text = gaps.map(({ server, missing }) => `${server.url} is ${describeMissing(missing)}`).join('; ');
				const cause = new IncapableServerError(`No server can run this workflow: ${text}.`, gaps[0]?.missing ?? { nodeClasses: [], values: [] });
				this.settle(waiting, this.failed(waiting.scene.index, cause, waiting.attempts));
			}
		}
	}

	/** Re-reads the shared state: breakers, cluster-wide leases, speed averages, abandoned prompts. */
	private async refresh(): Promise<void> {
		const requestedAt = Date.now();
		this.lastRefresh = requestedAt;
		let statuses: ServerStatus[];
		try {
			statuses = await this.runtime.store.snapshot(this.servers);
		} catch (error) {
			this.runtime.logger?.warn(`Could not read the cluster state: ${this.clean(String(error))}`);
			return;
		}
		this.statusAt = requestedAt;
		this.status = new Map(statuses.map((s) => [s.id, s]));
		this.foreign = new Map(statuses.map((s) => [s.id, Math.max(0, s.inFlight - this.ours(s.id))]));
		this.storeSamples = samplesOf(statuses);
		// Samples of ours that were in the store when it was read count from there now.
		this.localSamples = this.localSamples.filter((s) => s.storedAt === undefined || s.storedAt > requestedAt);
		this.model = this.buildModel();
		// Prompts other workers (or earlier executions) abandoned on servers that answer again.
		for (const s of statuses) if (s.tombstones?.length && this.runtime.liveness.reachable(s.id)) this.runtime.janitor.adopt(s.tombstones);
	}

	/** The store's speed averages with our own newer samples applied on top, as the store will. */
	private buildModel(): DurationModel {
		const samples = new Map(this.storeSamples.map((s) => [`${s.serverId}|${s.workflowKey}`, s]));
		const learn = (serverId: string, workflowKey: string, seconds: number) => {
			const key = `${serverId}|${workflowKey}`;
			const prev = samples.get(key);
			samples.set(key, { serverId, workflowKey, seconds: prev ? DEFAULT_EWMA_ALPHA * seconds + (1 - DEFAULT_EWMA_ALPHA) * prev.seconds : seconds });
		};
		for (const s of this.localSamples) {
			learn(s.serverId, s.workflowKey, s.seconds);
			if (s.work > 0) learn(s.serverId, WORK_KEY, s.seconds / s.work);
		}
		return new DurationModel({ samples: [...samples.values()], work: this.work, weights: this.weights });
	}

	// ── probes and reachability ──────────────────────────────────────────────────────────────

	/**
	 * Probes, without waiting for them: every second the servers that hold our scenes (a frozen one
	 * is noticed within a probe timeout), the unreachable ones while scenes wait (to notice them
	 * back), and the others when their last probe is older than `probeMaxAgeMs`.
	 */
	private probeDue(): void {
		const now = Date.now();
		const busy = new Set([...this.running].map((r) => r.serverId));
		const waiting = this.queue.length > 0;
		const livenessMs = this.options.livenessMs ?? DEFAULT_LIVENESS_MS;
		const maxAgeMs = this.options.probeMaxAgeMs ?? 3000;
		for (const server of this.servers) {
			if (this.runtime.prober.probing(server.id)) continue;
			if (busy.has(server.id)) {
				// Alive if it answered a probe within livenessMs or spoke on its websocket (progress, status)
				// within half of it: then probed again only for news of others' work.
				const probedAt = this.lastProbeAt(server.id, now);
				const alive = now - probedAt < livenessMs || now - this.runtime.clientFor(server.id).lastHeardAt() < livenessMs / 2;
				if (alive && (!waiting || now - probedAt < maxAgeMs)) continue;
			} else if (!waiting) continue;
			else if (!this.runtime.liveness.reachable(server.id)) {
				// To notice it back, with a pause that grows while it stays away (and not while its
				// breaker keeps scenes off it anyway).
				if (now < this.runtime.prober.retryAt(server.id) || (this.status.get(server.id)?.breaker.openUntil ?? 0) > now) continue;
			} else if (now - this.lastProbeAt(server.id, now) < maxAgeMs) continue;
			// What a probe changes about reachability wakes the scheduler through the liveness news;
			// an answer may also show new work of others on the server.
			void this.runtime.prober.probe(server.id, this.probeAbort.signal).then((result) => result.ok && this.pump());
		}
	}

	/** When the server was last probed, by this process or (as the store says) any worker. */
	private lastProbeAt(serverId: string, now: number): number {
		const local = this.runtime.prober.last(serverId)?.at ?? 0;
		const age = this.status.get(serverId)?.queueAgeMs;
		const shared = age === undefined ? 0 : this.statusAt - age;
		return Math.min(now, Math.max(local, shared));
	}

	/**
	 * A server stopped answering or answers again (seen by any execution of this process). Silent:
	 * scenes waiting there (or not yet accepted) move now, the running one gets a window. Down: every
	 * scene there sees the refused connections itself within half a second (one not yet accepted
	 * costs no attempt, one the server had accepted does: it was lost with the server).
	 */
	private onReachability(serverId: string, state: Reachability): void {
		const now = Date.now();
		// Back from the start of the batch: its catalogue is read before it takes a scene.
		const server = this.byId.get(serverId);
		if (state === 'up' && server && this.prepared && !this.joined.has(serverId) && !this.joining.has(serverId)) void this.join(server, false);
		for (const run of this.running) {
			if (run.serverId !== serverId || run.abandoned) continue;
			if (state === 'up') run.silentDeadline = undefined;
			else if (state === 'silent' && run.phase === 'queued') this.giveUp(run, 'moved', `${this.urlOf(serverId)} stopped answering`);
			else if (state === 'silent') run.silentDeadline ??= now + this.remaining(run, now) * 1000 + (this.options.silentGraceMs ?? DEFAULT_SILENT_GRACE_MS);
		}
		this.pump();
	}

	/** Running scenes whose silent server did not answer again within their window are given up. */
	private giveUpOnSilent(): void {
		const now = Date.now();
		for (const run of this.running) {
			if (run.silentDeadline === undefined || run.silentDeadline > now || run.abandoned) continue;
			const since = this.runtime.liveness.get(run.serverId);
			const seconds = since ? Math.round((now - since.since) / 100) / 10 : 0;
			this.giveUp(run, 'failed', `ComfyUI at ${this.urlOf(run.serverId)} stopped answering (no answer for ${seconds} s) while running the scene`);
		}
	}

	/** Abandons a scene on its server without waiting for the server; the prompt is removed when it answers. */
	private giveUp(run: Running, kind: 'moved' | 'failed', reason: string): void {
		run.abandoned = { kind, reason };
		run.abandon.abort();
	}

	// ── scheduling ───────────────────────────────────────────────────────────────────────────

	private pump(): void {
		// Probes and reachability news during setup wait for it: nothing is placed half-informed.
		if (!this.prepared) return;
		if (this.pumping) {
			this.pumpAgain = true;
			return;
		}
		this.pumping = true;
		void this.schedule()
			.catch((error) => this.runtime.logger?.warn(`Scheduler error: ${this.clean(String(error))}`))
			.finally(() => {
				this.pumping = false;
				if (this.pumpAgain) {
					this.pumpAgain = false;
					this.pump();
				} else this.maybeFinish();
			});
	}

	private async schedule(): Promise<void> {
		if (!this.aborted) {
			const contended = this.contended;
			this.contended = false;
			if (contended || (this.queue.length > 0 && Date.now() - this.lastRefresh >= this.refreshPeriod())) await this.refresh();
			this.probeDue();
			this.giveUpOnSilent();
			if (this.sortedFor !== this.model) {
				this.queue.sort((a, b) => this.order(a, b));
				this.sortedFor = this.model;
			}
			const capacity = this.concurrency - this.running.size;
			if (capacity > 0 && this.queue.some((w) => w.notBefore <= Date.now())) {
				if (this.options.strategy === 'weighted' || this.options.strategy === 'roundRobin') await this.placeByStore(capacity);
				else await this.placeByFinishTime(capacity);
			}
			if (this.options.rebalance !== false && !this.aborted) this.rebalance();
			this.arm();
		}
		// Leases no reservation took along go back on their own, unless another pass follows (scenes
		// ended meanwhile) that may pass them on. Leases passed on only need their outcomes recorded:
		// those wait a moment to travel together.
		if (this.toRelease.length > 0 && (!this.pumpAgain || this.aborted)) {
			const onlyKept = this.toRelease.every((r) => r.keepTtlMs !== undefined);
			if (onlyKept && this.running.size > 0 && !this.aborted) this.sendReleasesSoon();
			else this.sendReleases();
		}
	}

	/** `weighted` and `roundRobin`: the store picks the server of each ready scene. */
	private async placeByStore(capacity: number): Promise<void> {
		const picked: Waiting[] = [];
		for (const waiting of this.ready()) {
			if (picked.length >= capacity) break;
			picked.push(waiting);
		}
		const results = await this.exchange(picked.map((w) => this.reservation(this.candidates(w))));
		results.forEach((result, i) => {
			if (!('none' in result)) this.start(picked[i], result.lease);
		});
	}

	/** `leastLoaded` and `fastest`: start scenes where they finish first (planning/plan.ts). */
	private async placeByFinishTime(capacity: number): Promise<void> {
		const full = new Set<string>();
		for (let round = 0; round < 3 && capacity > 0 && !this.aborted; round++) {
			const planned = planPlacements(this.planServers(full), this.planQueue(), (serverId, workflowKey) => this.estimate(serverId, workflowKey)).slice(0, capacity);
			// A slot of ours that just came free on the chosen server passes straight to the scene.
			const plan = planned.filter((p) => !this.passOn(p.key, p.serverId));
			capacity -= planned.length - plan.length;
			if (plan.length === 0) return;
			const results = await this.exchange(plan.map((p) => this.reservation([this.byId.get(p.serverId)!])));
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

	/** Ready scenes in queue order. */
	private *ready(): Generator<Waiting> {
		const now = Date.now();
		for (const waiting of this.queue) if (waiting.notBefore <= now) yield waiting;
	}

	/** The ready scenes as the planner sees them, computed only as far as it reads. */
	private *planQueue(): Generator<PlanScene<Waiting>> {
		for (const waiting of this.ready()) yield { key: waiting, workflowKey: waiting.scene.workflowKey, candidates: this.candidates(waiting).map((s) => s.id) };
	}

	private reservation(allowed: readonly ServerSpec[]): SelectArgs {
		return {
			servers: this.servers,
			strategy: storeStrategy(this.options.strategy),
			exclude: this.servers.filter((s) => !allowed.includes(s)).map((s) => s.id),
			leaseTtlMs: this.leaseTtlMs,
		};
	}

	/**
	 * Starts a scene on a lease of ours whose scene just ended on that server, when the server is
	 * still fit (the scene did not fail there): no reservation, no wait for the store. The ended
	 * scene's outcome is recorded and the lease renewed with the next exchange.
	 */
	private passOn(waiting: Waiting, serverId: string): boolean {
		const free = this.toRelease.find((r) => r.lease.serverId === serverId && r.keepTtlMs === undefined && r.outcome.kind !== 'transient');
		if (!free) return false;
		free.keepTtlMs = this.leaseTtlMs;
		// From here the lease is counted as running again, not as being released.
		this.countReleasing(serverId, -1);
		this.start(waiting, free.lease);
		return true;
	}

	/**
	 * One exchange with the store: the leases of finished scenes go back (or are kept for the scenes
	 * they passed to), then these reservations are made — one Redis round trip however many of each.
	 */
	private async exchange(reserve: SelectArgs[]): Promise<SelectResult[]> {
		const release = this.toRelease;
		this.toRelease = [];
		try {
			const result = await this.runtime.store.commit({ release, reserve });
			const storedAt = Date.now();
			for (const sample of this.localSamples) if (release.includes(sample.release)) sample.storedAt = storedAt;
			return result.reserved;
		} catch (error) {
			// Leases not released expire by themselves (leaseTtlMs).
			this.runtime.logger?.warn(`Could not update the cluster state: ${this.clean(String(error))}`);
			return reserve.map(() => ({ none: 'the cluster state could not be updated' }));
		} finally {
			for (const { lease, keepTtlMs } of release) {
				if (keepTtlMs === undefined) this.countReleasing(lease.serverId, -1);
			}
		}
	}

	/** Sends the waiting releases within RECORD_DELAY_MS, with whatever else ends meanwhile. */
	private sendReleasesSoon(): void {
		this.recordTimer ??= setTimeout(() => {
			this.recordTimer = undefined;
			if (this.toRelease.length > 0) this.sendReleases();
		}, RECORD_DELAY_MS);
	}

	/** Sends the waiting releases without holding up the scheduler. */
	private sendReleases(): void {
		if (this.recordTimer) clearTimeout(this.recordTimer);
		this.recordTimer = undefined;
		const sent = this.exchange([]).finally(() => {
			this.unsettled.delete(sent);
			this.maybeFinish();
		});
		this.unsettled.add(sent);
	}

	/** Scenes with higher priority first, then the longest expected, then item order. */
	private order(a: Waiting, b: Waiting): number {
		if (a.scene.priority !== b.scene.priority) return b.scene.priority - a.scene.priority;
		if (this.mixed) {
			const ea = this.averageEstimate(a.scene.workflowKey);
			const eb = this.averageEstimate(b.scene.workflowKey);
			if (ea !== eb) return eb - ea;
		}
		return a.scene.index - b.scene.index;
	}

	/** Per model (rebuilt on every refresh): the queue is sorted on every pass, a batch may hold thousands. */
	private averages = new WeakMap<DurationModel, Map<string, number>>();

	private averageEstimate(workflowKey: string): number {
		let cache = this.averages.get(this.model);
		if (!cache) this.averages.set(this.model, (cache = new Map()));
		let average = cache.get(workflowKey);
		if (average === undefined) {
			average = this.servers.reduce((sum, s) => sum + this.model.estimate(s.id, workflowKey), 0) / Math.max(1, this.servers.length);
			cache.set(workflowKey, average);
		}
		return average;
	}

	/**
	 * Expected seconds of a workflow on a server, for planning: measured, or predicted from every
	 * scene the cluster ran (the server's seconds per work unit), or from the server's weight while it
	 * has run nothing. Both finish-time strategies plan with it.
	 */
	private estimate(serverId: string, workflowKey: string): number {
		return this.model.estimate(serverId, workflowKey);
	}

	/**
	 * Expected seconds left of a scene we hold, from the current model: what was learned since the
	 * scene started (e.g. the first sample of its workflow) counts at once. A scene running past its
	 * expected end shows a server slower than the model knows (one that has not finished anything
	 * yet): late by x, it is expected to need x more, so what waits behind it may move elsewhere.
	 */
	private remaining(run: Running, now: number): number {
		const expected = this.estimate(run.serverId, run.waiting.scene.workflowKey);
		if (run.phase !== 'running') return expected;
		return Math.abs(expected - (now - run.since) / 1000);
	}

	/** Servers a scene may go to now: capable, not failed on (while others exist), answering, breaker not open. */
	private candidates(waiting: Waiting): ServerSpec[] {
		const now = Date.now();
		const admissions = this.servers.map((server) => {
			const b = this.status.get(server.id)?.breaker;
			return {
				id: server.id,
				server,
				breakerOpen: b !== undefined && b.phase === 'open' && b.openUntil > now,
				unreachable: !this.runtime.liveness.reachable(server.id),
				joining: this.joining.has(server.id) && !this.known.has(server.id),
			};
		});
		return candidateServers(admissions, waiting).map((a) => a.server);
	}

	private planServers(full: ReadonlySet<string>): PlanServer[] {
		const now = Date.now();
		const typicalKey = this.queue[0]?.scene.workflowKey ?? '';
		const ownWork = new Map<string, number[]>();
		for (const run of this.running) {
			if (run.abandoned) continue;
			const list = ownWork.get(run.serverId) ?? [];
			list.push(this.remaining(run, now));
			ownWork.set(run.serverId, list);
		}
		// While servers are still joining, those that joined run one scene each (see prepare).
		const settling = this.joining.size > 0;
		return this.servers.map((server) => {
			return planServer({
				id: server.id,
				max: settling ? Math.min(1, server.max) : server.max,
				ownWork: ownWork.get(server.id) ?? [],
				foreignLeases: this.foreign.get(server.id) ?? 0,
				external: externalSeen(this.runtime.prober.last(server.id), this.status.get(server.id), this.statusAt, now),
				typicalSeconds: this.estimate(server.id, typicalKey),
				closed: full.has(server.id),
			});
		});
	}

	private start(waiting: Waiting, lease: Lease): void {
		if (this.aborted) {
			// Cancelled while the slot was being reserved: hand it straight back.
			this.handBack(lease, { kind: 'cancelled', workflowKey: waiting.scene.workflowKey });
			return;
		}
		const server = this.byId.get(lease.serverId)!;
		this.dequeue(waiting);
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
		};
		this.running.add(run);
		run.keeper = keepLease(this.runtime.store, lease, {
			ttlMs: this.leaseTtlMs,
			holder: `scene ${waiting.scene.index} on ${server.url}`,
			warn: (message) => this.runtime.logger?.warn(this.clean(message)),
		});
		const attemptNumber = waiting.attempts.filter((a) => a.outcome !== 'moved' && a.outcome !== 'unreachable').length + 1;
		this.options.onEvent?.({ type: 'start', index: waiting.scene.index, serverId: server.id, server: server.url, attempt: attemptNumber });
		void this.execute(run, server);
	}

	private async execute(run: Running, server: ServerSpec): Promise<void> {
		const { waiting } = run;
		const startedAt = Date.now();
		let promptId: string | undefined;
		let outcome: Outcome;
		try {
			const result = await runAttempt(waiting.scene, {
				client: this.runtime.clientFor(server.id),
				signal: run.cancel.signal,
				moveSignal: run.move.signal,
				abandonSignal: run.abandon.signal,
				// While every server is unreachable, scenes still try (and those tries count).
				reachable: () => this.runtime.liveness.reachable(server.id) || this.servers.every((s) => !this.runtime.liveness.reachable(s.id)),
				uploads: this.uploads,
				unreachableMs: this.options.unreachableMs ?? DEFAULT_UNREACHABLE_MS,
				hooks: {
					onSubmitted: (id) => (promptId = id),
					onProgress: (event) => this.onProgress(run, server, event),
				},
			});
			promptId = result.promptId;
			if (result.kind === 'moved') {
				outcome = { kind: 'cancelled', workflowKey: waiting.scene.workflowKey };
				this.record(waiting, server, promptId, 'moved', 'moved to a server that was idle', startedAt);
				this.options.onEvent?.({ type: 'moved', index: waiting.scene.index, from: server.url, reason: 'a server with room finishes it sooner' });
				this.requeue(waiting, 0);
			} else {
				const executionMs = result.watch.timings.executionMs;
				outcome = { kind: 'success', workflowKey: waiting.scene.workflowKey, executionMs, work: waiting.scene.work };
				const attempts = this.record(waiting, server, result.promptId, 'success', '', startedAt);
				this.settle(waiting, {
					index: waiting.scene.index,
					ok: true,
					result: {
						index: waiting.scene.index,
						serverId: server.id,
						server: server.url,
						promptId: result.promptId,
						attempts,
						outputs: result.outputs,
						timings: {
							queueWaitMs: result.watch.timings.queuedMs,
							executionMs,
							totalMs: Date.now() - this.startedAt,
						},
						cached: result.watch.cached,
					},
				});
			}
		} catch (error) {
			const failure = error instanceof AttemptError ? error : new AttemptError(new TransientServerError(String(error), 'unexpected-response', server.url));
			promptId ??= failure.promptId;
			// Left on a server that did not answer (or was not asked): removed once it answers.
			if (promptId && (failure.leftBehind || run.abandoned)) this.runtime.janitor.abandon(server.id, promptId);
			outcome = this.onFailure(run, server, failure, promptId, startedAt);
		} finally {
			run.keeper?.stop();
			this.running.delete(run);
		}
		const release = this.handBack(run.lease, outcome);
		this.learn(server.id, waiting.scene, release);
		this.pump();
	}

	/** A success of ours counts in the duration model at once, before the store has it. */
	private learn(serverId: string, scene: SceneRequest, release: Release): void {
		const { outcome } = release;
		if (outcome.kind !== 'success' || outcome.executionMs === undefined || !(outcome.executionMs > 0)) return;
		this.localSamples.push({ serverId, workflowKey: scene.workflowKey, seconds: outcome.executionMs / 1000, work: scene.work, release });
		this.model = this.buildModel();
	}

	/**
	 * The lease goes back with the next exchange, which may take the slot again at once. Until then
	 * it is ours (not another worker's) in the store's counts.
	 */
	private handBack(lease: Lease, outcome: Outcome): Release {
		this.countReleasing(lease.serverId, +1);
		const release: Release = { lease, outcome };
		this.toRelease.push(release);
		return release;
	}

	private countReleasing(serverId: string, delta: number): void {
		this.releasing.set(serverId, Math.max(0, (this.releasing.get(serverId) ?? 0) + delta));
	}

	/** Decides what a failed attempt means for the scene and the server; returns the store outcome. */
	private onFailure(run: Running, server: ServerSpec, failure: AttemptError, promptId: string | undefined, startedAt: number): Outcome {
		const { waiting } = run;
		const cause = failure.cause;
		const workflowKey = waiting.scene.workflowKey;
		const reason = this.clean(cause.message);
		if (cause instanceof CancelledError || this.aborted) {
			const attempts = this.record(waiting, server, promptId, 'cancelled', 'the execution was cancelled', startedAt);
			this.settle(waiting, this.failed(waiting.scene.index, new CancelledError('The execution was cancelled', server.url), attempts));
			return { kind: 'cancelled', workflowKey };
		}
		if (run.abandoned?.kind === 'moved') {
			// Its server stopped answering before the scene started there: it goes elsewhere at once.
			const why = this.clean(run.abandoned.reason);
			this.record(waiting, server, promptId, 'moved', why, startedAt);
			this.options.onEvent?.({ type: 'moved', index: waiting.scene.index, from: server.url, reason: why });
			this.requeue(waiting, 0);
			return { kind: 'cancelled', workflowKey };
		}
		if (isServerSpecific(cause)) {
			waiting.incapable.add(server.id);
			const attempts = this.record(waiting, server, promptId, 'incapable', reason, startedAt);
			if (this.candidates(waiting).length === 0 || waiting.incapable.size >= this.servers.length) {
				this.settle(waiting, this.failed(waiting.scene.index, cause, attempts));
			} else this.requeue(waiting, 0);
			return { kind: 'workflow', workflowKey };
		}
		if (cause instanceof InvalidWorkflowError || (cause instanceof ExecutionError && !isServerFault(cause))) {
			const attempts = this.record(waiting, server, promptId, cause instanceof InvalidWorkflowError ? 'invalid' : 'execution', reason, startedAt);
			this.settle(waiting, this.failed(waiting.scene.index, cause, attempts));
			return { kind: 'workflow', workflowKey };
		}
		// Transient: the server's fault. A refused connection is news for every scene at once.
		const transient = run.abandoned ? new TransientServerError(this.clean(run.abandoned.reason), 'unresponsive', server.url) : cause;
		if (transient instanceof TransientServerError && transient.reason === 'refused') this.runtime.liveness.refused(server.id, reason);
		waiting.failedOn.add(server.id);
		const otherReachable = this.candidates(waiting).some((s) => s.id !== server.id && this.runtime.liveness.reachable(s.id));
		const counts = usesAnAttempt(failure, otherReachable);
		const why = this.clean(transient.message);
		const attempts = this.record(waiting, server, promptId, counts ? 'transient' : 'unreachable', why, startedAt);
		const tries = attempts.filter((a) => a.outcome === 'transient').length;
		const totalMs = waiting.scene.timeouts.totalMs;
		const overTime = totalMs > 0 && waiting.firstStart !== undefined && Date.now() - waiting.firstStart >= totalMs;
		if (tries >= waiting.scene.maxAttempts || overTime) {
			this.settle(waiting, this.failed(waiting.scene.index, transient, attempts));
		} else {
			// The backoff (and Retry-After) spare the servers that failed; a server that has not failed
			// this scene may take it at once.
			const untried = this.candidates(waiting).some((s) => !waiting.failedOn.has(s.id));
			const computed = backoffDelay(Math.max(0, tries - 1), this.options.backoff ?? DEFAULT_BACKOFF);
			const imposed = transient instanceof TransientServerError ? transient.retryAfterMs : undefined;
			const delayMs = untried ? 0 : Math.max(computed, imposed ?? 0);
			this.options.onEvent?.({ type: 'retry', index: waiting.scene.index, server: server.url, reason: why, delayMs });
			this.requeue(waiting, delayMs);
		}
		return { kind: 'transient', workflowKey, error: why };
	}

	private onProgress(run: Running, server: ServerSpec, event: ProgressEvent): void {
		if (event.phase === 'running' && run.phase === 'queued') {
			run.phase = 'running';
			run.since = Date.now();
		}
		this.options.onEvent?.({
			type: 'progress',
			index: run.waiting.scene.index,
			serverId: server.id,
			server: server.url,
			phase: event.phase,
			percent: event.percent,
		});
	}

	/**
	 * A server with a free slot takes over a scene that still waits in another server's queue when
	 * it would finish it clearly sooner, counting the work it already has. Not only an idle server:
	 * at the end of a batch a fast server that still runs its last scene finishes a scene queued
	 * behind a slow one's long before the slow one would start it.
	 */
	private rebalance(): void {
		if (this.queue.some((w) => w.notBefore <= Date.now())) return;
		const now = Date.now();
		const plan = this.planServers(new Set());
		for (const idle of plan) {
			if (idle.freeSlots <= 0 || !this.runtime.liveness.reachable(idle.id)) continue;
			let best: { run: Running; gain: number } | undefined;
			for (const run of this.running) {
				if (run.phase !== 'queued' || run.moveRequested || run.abandoned || run.serverId === idle.id) continue;
				if (run.waiting.incapable.has(idle.id) || run.waiting.failedOn.has(idle.id)) continue;
				const ahead = [...this.running]
					.filter((r) => r.serverId === run.serverId && r !== run && (r.phase === 'running' || r.since < run.since))
					.reduce((sum, r) => sum + this.remaining(r, now), 0);
				const there = ahead + this.remaining(run, now);
				const alone = this.estimate(idle.id, run.waiting.scene.workflowKey);
				const gain = there - (idle.busySeconds + alone);
				if (gain > MOVE_MARGIN * alone && (!best || gain > best.gain)) best = { run, gain };
			}
			if (best) {
				best.run.moveRequested = true;
				best.run.move.abort();
			}
		}
	}

	private requeue(waiting: Waiting, delayMs: number): void {
		waiting.notBefore = Date.now() + delayMs;
		this.queue.push(waiting);
		this.sortedFor = undefined;
	}

	/**
	 * How often to re-read the shared state while scenes wait: slots that other workers free are seen
	 * only then, so read more often while other workers hold leases on these servers.
	 */
	private refreshPeriod(): number {
		const period = this.options.refreshMs ?? 1000;
		const shared = [...this.foreign.values()].some((n) => n > 0);
		return shared ? Math.min(period, SHARED_REFRESH_MS) : period;
	}

	/**
	 * Wakes the scheduler for backoffs that end, to notice capacity freed by other workers, to probe
	 * the servers that hold our scenes, and when a silent server's window ends.
	 */
	private arm(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
		if (this.aborted || (this.queue.length === 0 && this.running.size === 0)) return;
		const now = Date.now();
		let next = Number.POSITIVE_INFINITY;
		for (const w of this.queue) if (w.notBefore > now && w.notBefore < next) next = w.notBefore;
		for (const run of this.running) if (run.silentDeadline !== undefined && run.silentDeadline < next) next = run.silentDeadline;
		const period = this.contended ? CONTENDED_RETRY_MS : this.queue.length > 0 ? this.refreshPeriod() : (this.options.livenessMs ?? DEFAULT_LIVENESS_MS);
		const delay = Math.max(10, Math.min(period, next - now));
		this.timer = setTimeout(() => this.pump(), delay);
	}

	private record(waiting: Waiting, server: ServerSpec, promptId: string | undefined, outcome: AttemptOutcomeKind, reason: string, startedAt: number): AttemptRecord[] {
		waiting.attempts.push({ serverId: server.id, server: server.url, promptId, outcome, reason, startedAt, endedAt: Date.now() });
		return waiting.attempts;
	}

	private dequeue(waiting: Waiting): void {
		const i = this.queue.indexOf(waiting);
		if (i >= 0) this.queue.splice(i, 1);
	}

	private settle(waiting: Waiting, outcome: SceneOutcome): void {
		this.dequeue(waiting);
		this.outcomes[waiting.position] = outcome;
		this.options.onEvent?.({
			type: 'finish',
			index: waiting.scene.index,
			ok: outcome.ok,
			server: outcome.ok ? outcome.result.server : undefined,
			message: outcome.ok ? undefined : this.clean(outcome.error.message),
		});
	}

	private failed(index: number, cause: ComfyUiError, attempts: AttemptRecord[]): SceneOutcome {
		return { index, ok: false, error: new SceneFailedError(index, cause, [...attempts]) };
	}

	private abort(): void {
		if (this.aborted) return;
		this.aborted = true;
		for (const waiting of [...this.queue]) {
			this.settle(waiting, this.failed(waiting.scene.index, new CancelledError('The execution was cancelled'), waiting.attempts));
		}
		for (const run of this.running) run.cancel.abort(new CancelledError('The execution was cancelled'));
		this.maybeFinish();
	}

	private maybeFinish(): void {
		if (this.pumping) return;
		if (this.running.size === 0 && this.toRelease.length === 0 && this.unsettled.size === 0 && (this.queue.length === 0 || this.aborted)) {
			if (this.timer) clearTimeout(this.timer);
			this.finish?.();
		}
	}

	private ours(serverId: string): number {
		let n = this.releasing.get(serverId) ?? 0;
		for (const r of this.running) if (r.serverId === serverId) n++;
		return n;
	}

	private urlOf(serverId: string): string {
		return this.byId.get(serverId)?.url ?? serverId;
	}

	private clean(text: string): string {
		return redact(text, this.runtime.secrets ?? []);
	}
}

/** The server cannot run this scene (a missing model file, refused credentials); another server may. */
function isServerSpecific(error: ComfyUiError): boolean {
	if (error instanceof IncapableServerError) return true;
	// The server refused our credentials: retrying it cannot help and it is not unhealthy; others may accept theirs.
	if (error instanceof TransientServerError && (error.status === 401 || error.status === 403)) return true;
	if (!(error instanceof InvalidWorkflowError) || error.nodeErrors.length === 0) return false;
	return error.nodeErrors.every((e) => e.type === 'value_not_in_list' && e.inputName !== undefined && MODEL_INPUTS.has(e.inputName));
}

/** A node error that says more about the machine than the workflow (out of memory, interrupted by someone else). */
function isServerFault(error: ExecutionError): boolean {
	if (error.details.interrupted) return true;
	const text = `${error.details.exceptionType ?? ''} ${error.details.exceptionMessage ?? ''}`;
	return /out of memory|OutOfMemory|CUDA error|device-side assert/i.test(text);
}
