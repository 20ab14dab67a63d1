/**
 * What one batch knows while it runs: its scenes (waiting and running), their outcomes, the shared
 * state as last read from the store, and the views every room of the scheduler derives from it —
 * which servers a scene may go to now, and how long the work held on a server will take.
 */
import { redact } from '../util/redact';
import type { ComfyUiError } from '../comfyui/errors';
import type { ObjectInfo } from '../comfyui/workflow';
import type { ResolvedBatchOptions } from './batchOptions';
import type { LeaseKeeper } from './leases';
import { candidateServers, type ServerAdmission } from './planning/candidates';
import type { DurationModel } from './planning/durationModel';
import { lengthClasses } from './planning/order';
import { modelKeys } from './planning/residency';
import { Speeds } from './planning/speeds';
import { SceneFailedError, type AttemptOutcomeKind, type AttemptRecord, type SceneOutcome, type SceneRequest } from './scene';
import type { ServerSpec } from './serverSpec';
import type { Lease, ServerStatus } from './store/HealthStore';
import type { ClusterRuntime } from './types';

export interface Waiting {
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
	/** The model keys it loads (residency.ts). */
	models: string[];
}

export interface Running {
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
	/** The models its server held when its turn came, as planned when it started (its loads are priced from them). */
	residentBefore: readonly string[] | undefined;
	keeper?: LeaseKeeper;
}

export class BatchState {
	readonly servers: readonly ServerSpec[];
	readonly byId: ReadonlyMap<string, ServerSpec>;
	readonly outcomes: Array<SceneOutcome | undefined>;
	queue: Waiting[];
	readonly running = new Set<Running>();
	readonly startedAt = Date.now();
	/** The shared state as last read, and when it was read. */
	status = new Map<string, ServerStatus>();
	statusAt = 0;
	/** Leases of other executions per server, as of the last read. */
	foreign = new Map<string, number>();
	/** Each server's catalogue once read (undefined: it could not be read). */
	readonly catalogues = new Map<string, ObjectInfo | undefined>();
	readonly speeds: Speeds;
	/** Servers that take no scene yet (their first probe or catalogue is on its way). */
	readonly holding = new Set<string>();
	/** Whether the queue holds more than one kind of scene (else its order never changes). */
	readonly mixed: boolean;
	aborted = false;
	private lengths?: { model: DurationModel; of: (workflowKey: string) => number };

	constructor(
		readonly runtime: ClusterRuntime,
		readonly scenes: readonly SceneRequest[],
		readonly options: ResolvedBatchOptions,
	) {
		this.servers = runtime.servers;
		this.byId = new Map(this.servers.map((s) => [s.id, s]));
		this.outcomes = scenes.map(() => undefined);
		this.queue = scenes.map((scene, position) => ({ position, scene, attempts: [], failedOn: new Set(), incapable: new Set(), notBefore: 0, models: modelKeys(scene.models) }));
		this.speeds = new Speeds(scenes, this.servers);
		this.mixed = new Set(scenes.map((s) => `${s.priority}|${s.workflowKey}`)).size > 1;
	}

	/** Servers a scene may go to now: capable, not failed on (while others exist), answering, breaker not open. */
	candidates(waiting: Pick<Waiting, 'incapable' | 'failedOn'>): ServerSpec[] {
		return candidateServers(this.admissions(), waiting).map((a) => a.server);
	}

	admissions(): Array<ServerAdmission & { server: ServerSpec }> {
		const now = Date.now();
		return this.servers.map((server) => {
			const b = this.status.get(server.id)?.breaker;
			return {
				id: server.id,
				server,
				breakerOpen: b !== undefined && b.phase === 'open' && b.openUntil > now,
				unreachable: !this.runtime.liveness.reachable(server.id),
				joining: this.holding.has(server.id),
			};
		});
	}

	/** Expected seconds of a workflow on a server: measured, predicted from the server's other scenes, or from its weight. */
	estimate(serverId: string, workflowKey: string): number {
		return this.speeds.model.estimate(serverId, workflowKey);
	}

	/**
	 * Expected seconds left of a scene we hold, from the current model: what was learned since the
	 * scene started counts at once. A scene running past its expected end shows a server slower than
	 * the model knows: late by x, it is expected to need x more, so what waits behind it may move.
	 */
	remaining(run: Running, now: number): number {
		const expected = this.estimate(run.serverId, run.waiting.scene.workflowKey) + this.loadCost(run.serverId, run.waiting.models, run.residentBefore);
		if (run.phase !== 'running') return expected;
		return Math.abs(expected - (now - run.since) / 1000);
	}

	/** How long each workflow counts as for the queue's order, for the current model (planning/order.ts). */
	lengthOf(): (workflowKey: string) => number {
		if (this.lengths?.model !== this.speeds.model) this.lengths = { model: this.speeds.model, of: lengthClasses(this.speeds.model, this.servers.map((s) => s.id)) };
		return this.lengths.of;
	}

	/** Seconds of loading `models` on a server that will hold `resident` then (0 with affinity off). */
	loadCost(serverId: string, models: readonly string[], resident: readonly string[] | undefined): number {
		return this.options.affinity ? this.speeds.residency.cost(serverId, models, resident) : 0;
	}

	/**
	 * The models a server will hold once the work ahead there is done: those of our last scene there,
	 * else — when nobody else's work stands ahead (`othersAhead` false) — what the cluster knows it holds.
	 */
	residentAfter(serverId: string, othersAhead: boolean): readonly string[] | undefined {
		let last: Running | undefined;
		for (const run of this.running) {
			if (run.serverId !== serverId || run.abandoned) continue;
			if (!last || (last.phase === 'running' && run.phase === 'queued') || (run.phase === last.phase && run.since > last.since)) last = run;
		}
		if (last) return last.waiting.models;
		return othersAhead ? undefined : this.speeds.residency.residentOn(serverId);
	}

	record(waiting: Waiting, server: ServerSpec, promptId: string | undefined, outcome: AttemptOutcomeKind, reason: string, startedAt: number): AttemptRecord[] {
		waiting.attempts.push({ serverId: server.id, server: server.url, promptId, outcome, reason, startedAt, endedAt: Date.now() });
		return waiting.attempts;
	}

	dequeue(waiting: Waiting): void {
		const i = this.queue.indexOf(waiting);
		if (i >= 0) this.queue.splice(i, 1);
	}

	/** Ready scenes in queue order. */
	*ready(): Generator<Waiting> {
		const now = Date.now();
		for (const waiting of this.queue) if (waiting.notBefore <= now) yield waiting;
	}

	failed(index: number, cause: ComfyUiError, attempts: AttemptRecord[]): SceneOutcome {
		return { index, ok: false, error: new SceneFailedError(index, cause, [...attempts]) };
	}

	urlOf(serverId: string): string {
		return this.byId.get(serverId)?.url ?? serverId;
	}

	clean(text: string): string {
		return redact(text, this.runtime.secrets ?? []);
	}

	warn(message: string): void {
		this.runtime.logger?.warn(this.clean(message));
	}
}
