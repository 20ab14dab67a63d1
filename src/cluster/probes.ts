/**
 * Queue probes (no background timers inside n8n: probes run while a batch needs them). One
 * `GET /queue` with a short timeout tells three things at once:
 * - whether the server answers: a refused connection marks it `down`, no answer in time `silent`,
 *   an answer `up` (see liveness.ts) — news for every scene of this process at once;
 * - what is in its queue that this cluster did not submit (entries told apart by client id);
 * - for the store, its breaker: a failed probe counts as a transient failure, a refused one opens
 *   the breaker at once, so other workers stop sending scenes there too.
 *
 * One prober per runtime: executions running at the same time share its probes and results.
 * A successful probe does not close an open breaker: the half-open trial scene does, because
 * answering `GET /queue` does not prove the server can run a workflow.
 */
import { TransientServerError } from '../comfyui/errors';
import type { ComfyUiClient } from '../comfyui/client';
import type { Liveness } from './liveness';
import { localLag, type LocalLag } from './localLag';
import { countExternal } from './planning/load';
import type { HealthStore, ProbeResult, ServerStatus, StoreServer } from './store/HealthStore';

/** Default probe timeout: an idle or busy ComfyUI answers `/queue` within milliseconds. */
export const PROBE_TIMEOUT_MS = 1_500;
/** A probe that tells nothing new still reaches the store this often (others treat 3 s as stale). */
const RECORD_EVERY_MS = 2_000;
/** A probe that timed out while this process's timers ran this late is inconclusive (see localLag.ts). */
export const LAG_MS = 250;
/** Pause before probing a server again after a failed probe; doubles per failure up to RETRY_MAX_MS. */
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export interface QueueProbe {
	/** When the probe ended (ms). */
	at: number;
	ok: boolean;
	/** Running + pending entries. */
	total?: number;
	/** Entries this cluster did not submit. */
	external?: number;
	error?: string;
}

export interface ProberDeps {
	store: HealthStore;
	clientFor(serverId: string): ComfyUiClient;
	liveness: Liveness;
	/** Client ids of this cluster's prompts start with this. */
	clientPrefix: string;
	timeoutMs?: number;
	/** This process's own lateness (default: the process-wide monitor). */
	lag?: LocalLag;
	/** Strips secrets from error texts. */
	clean?(text: string): string;
}

export class Prober {
	private readonly latest = new Map<string, QueueProbe>();
	/** The last probe of each server that went to the store. */
	private readonly recorded = new Map<string, QueueProbe>();
	/** Probes that failed in a row, per server. */
	private readonly failures = new Map<string, number>();
	private readonly inFlight = new Map<string, Promise<QueueProbe>>();
	private toRecord: ProbeResult[] = [];
	private recording?: Promise<void>;

	constructor(private readonly deps: ProberDeps) {}

	/** The latest probe of this server made by this process. */
	last(serverId: string): QueueProbe | undefined {
		return this.latest.get(serverId);
	}

	/**
	 * When an unreachable server is worth probing again: one second after its first failed probe,
	 * doubling with every failure after it up to 30 s (999 dead servers cost little).
	 */
	retryAt(serverId: string): number {
		const failures = this.failures.get(serverId) ?? 0;
		if (failures === 0) return 0;
		return (this.latest.get(serverId)?.at ?? 0) + Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (failures - 1));
	}

	/** Whether a probe of this server is on its way. */
	probing(serverId: string): boolean {
		return this.inFlight.has(serverId);
	}

	/** Probes the server now, or joins the probe already on its way. */
	probe(serverId: string, signal?: AbortSignal): Promise<QueueProbe> {
		let pending = this.inFlight.get(serverId);
		if (!pending) {
			pending = this.run(serverId, signal).finally(() => this.inFlight.delete(serverId));
			this.inFlight.set(serverId, pending);
		}
		return pending;
	}

	/** Probes, in parallel, the servers whose last probe (by any worker) is older than `maxAgeMs`. */
	async probeStale<T extends StoreServer>(servers: readonly T[], maxAgeMs: number, signal?: AbortSignal): Promise<QueueProbe[]> {
		const stale = await this.deps.store.staleServers(servers, maxAgeMs);
		const results = await Promise.all(stale.map((server) => this.probe(server.id, signal)));
		await this.recording;
		return results;
	}

	private async run(serverId: string, outer?: AbortSignal): Promise<QueueProbe> {
		const timeoutMs = this.deps.timeoutMs ?? PROBE_TIMEOUT_MS;
		const timeout = AbortSignal.timeout(timeoutMs);
		const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
		const lag = this.deps.lag ?? localLag;
		const startedAt = Date.now();
		const unwatch = lag.watch();
		let result: QueueProbe;
		let refused = false;
		try {
			const state = await this.deps.clientFor(serverId).queue({ signal, timeoutMs });
			const entries = [...state.running, ...state.pending];
			result = { at: Date.now(), ok: true, total: entries.length, external: countExternal(entries, this.deps.clientPrefix) };
			this.deps.liveness.answered(serverId);
		} catch (error) {
			// Our caller gave up: that is no evidence against the server.
			if (outer?.aborted) return { at: Date.now(), ok: false, error: 'probe cancelled' };
			const message = this.clean(error instanceof Error ? error.message : String(error));
			result = { at: Date.now(), ok: false, error: `probe failed: ${message}` };
			const reason = error instanceof TransientServerError ? error.reason : undefined;
			if (reason === 'refused') {
				refused = true;
				this.deps.liveness.refused(serverId, message);
			} else if (reason === 'timeout' || timeout.aborted) {
				const late = lag.worstSince(startedAt);
				// This process was held up itself: the answer may be waiting unread. Probed again soon.
				if (late >= LAG_MS) return { at: Date.now(), ok: false, error: `probe inconclusive: this process was held up for ${late} ms` };
				this.deps.liveness.silent(serverId, `no answer to a queue probe within ${timeoutMs} ms`);
			}
		} finally {
			unwatch();
		}
		const previous = this.latest.get(serverId);
		this.latest.set(serverId, result);
		this.failures.set(serverId, result.ok ? 0 : (this.failures.get(serverId) ?? 0) + 1);
		if (this.worthRecording(serverId, result, previous)) {
			this.recorded.set(serverId, result);
			this.record({ serverId, ok: result.ok, queueRemaining: result.total, external: result.external, refused, error: result.error });
		}
		return result;
	}

	/**
	 * Failures always reach the store (they count for the breaker); answers when they tell other
	 * workers something new, or often enough that the store never calls the server stale.
	 */
	private worthRecording(serverId: string, result: QueueProbe, previous: QueueProbe | undefined): boolean {
		const recorded = this.recorded.get(serverId);
		if (!result.ok || !previous?.ok || !recorded) return true;
		return recorded.external !== result.external || result.at - recorded.at >= RECORD_EVERY_MS;
	}

	/** Probe results travel to the store together, one exchange per burst of probes. */
	private record(result: ProbeResult): void {
		this.toRecord.push(result);
		this.recording ??= new Promise<void>((resolve) => setImmediate(resolve))
			.then(async () => {
				const batch = this.toRecord;
				this.toRecord = [];
				this.recording = undefined;
				await this.deps.store.recordProbes(batch);
			})
			.catch(() => undefined);
	}

	private clean(text: string): string {
		return this.deps.clean ? this.deps.clean(text) : text;
	}
}

/**
 * Prompts of others in a server's queue at the newest probe — this process's own, or the one the
 * store has from any worker (`status`, read at `statusAt`) — and how long ago that probe was.
 */
export function externalSeen(local: QueueProbe | undefined, status: ServerStatus | undefined, statusAt: number, now: number): { count: number; ageMs: number } | undefined {
	const sharedAt = status?.queueAgeMs === undefined ? undefined : statusAt - status.queueAgeMs;
	if (local?.ok && local.external !== undefined && (sharedAt === undefined || local.at >= sharedAt)) return { count: local.external, ageMs: now - local.at };
	if (sharedAt !== undefined && status?.queueExternal !== undefined) return { count: status.queueExternal, ageMs: now - sharedAt };
	return undefined;
}
