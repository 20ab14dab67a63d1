/**
 * Submit now, collect later: for video scenes that take many minutes, an execution can queue its
 * scenes and end; a later execution (any worker) collects the results with the handles, or cancels.
 *
 * Submitted scenes hold no lease. They are sent with a client id outside this cluster's prefix, so
 * every worker's queue probes count them as work that stands ahead on their server.
 */
import { randomUUID } from 'crypto';
import { CancelledError, ComfyUiError, TransientServerError } from '../comfyui/errors';
import { AttemptError, submitScene } from './attempt';
import type { ClusterRuntime } from './types';
import { candidateServers, usesAnAttempt } from './planning/candidates';
import { planServer } from './planning/load';
import { fetchOutputs } from './outputs';
import { planPlacements } from './planning/plan';
import { modelOf } from './planning/speeds';
import { externalSeen } from './probes';
import { SceneFailedError, type AttemptRecord, type SceneOutcome, type SceneRequest, type SceneOutput } from './scene';
import type { Outcome, ServerStatus } from './store/HealthStore';

export interface SceneHandle {
	serverId: string;
	server: string;
	promptId: string;
	clientId: string;
	submittedAt: string;
	workflowKey: string;
	/** Expected work of the scene (its time teaches the server's speed when it is collected). */
	work?: number;
	/** Item index of the scene in the execution that submitted it. */
	index: number;
	outputKinds?: string[];
}

export type SubmitOutcome = { index: number; ok: true; handle: SceneHandle; attempts: AttemptRecord[] } | { index: number; ok: false; error: SceneFailedError };

/** Probes older than this are refreshed before placing. */
const PROBE_MAX_AGE_MS = 3_000;

/**
 * Places every scene at once by earliest expected finish — with the speeds every scene of the
 * cluster taught, and what already stands in each queue — then uploads inputs and submits. Queues
 * may grow beyond `max`: nothing waits here for a slot.
 */
export async function submitScenes(runtime: ClusterRuntime, scenes: readonly SceneRequest[], signal?: AbortSignal): Promise<SubmitOutcome[]> {
	const { store, servers, liveness, prober } = runtime;
	await prober.probeStale(servers, PROBE_MAX_AGE_MS, signal).catch(() => []);
	const statusAt = Date.now();
	const statuses: ServerStatus[] = await store.snapshot(servers).catch(() => []);
	const byId = new Map(statuses.map((s) => [s.id, s]));
	const model = modelOf(statuses, scenes, servers);
	const now = Date.now();
	const typical = scenes[0]?.workflowKey ?? '';
	const admissions = () =>
		servers.map((server) => {
			const b = byId.get(server.id)?.breaker;
			return { id: server.id, breakerOpen: b !== undefined && b.phase === 'open' && b.openUntil > now, unreachable: !liveness.reachable(server.id) };
		});
	const candidates = candidateServers(admissions(), { incapable: new Set(), failedOn: new Set() }).map((a) => a.id);
	const placements = planPlacements(
		servers.map((server) =>
			planServer({
				id: server.id,
				max: Number.POSITIVE_INFINITY,
				ownWork: [],
				foreignLeases: byId.get(server.id)?.inFlight ?? 0,
				external: externalSeen(prober.last(server.id), byId.get(server.id), statusAt, now),
				typicalSeconds: model.estimate(server.id, typical),
			}),
		),
		scenes.map((scene) => ({ key: scene, workflowKey: scene.workflowKey, candidates })),
		(serverId, workflowKey) => model.estimate(serverId, workflowKey),
	);
	const uploads = new Map<string, Promise<string>>();
	// Outside this cluster's client prefix: probes count these prompts as work ahead on their server.
	const clientId = `n8n-cc-held-${randomUUID()}`;
	return Promise.all(
		placements.map(async ({ key: scene, serverId }) => {
			const attempts: AttemptRecord[] = [];
			const failedOn = new Set<string>();
			let lastError: ComfyUiError = new TransientServerError('No server was reachable', 'network');
			let id: string | undefined = serverId;
			while (id !== undefined && attempts.filter((a) => a.outcome === 'transient').length < Math.max(1, scene.maxAttempts)) {
				const server = servers.find((s) => s.id === id)!;
				const client = runtime.clientFor(server.id);
				const startedAt = Date.now();
				try {
					if (!liveness.reachable(server.id) && candidateServers(admissions(), { incapable: new Set(), failedOn }).some((a) => a.id !== server.id && !a.unreachable)) {
						throw new AttemptError(new TransientServerError(`ComfyUI at ${server.url} refused the connection a moment ago and has not answered since.`, 'refused', server.url), undefined, { refusedBeforeQueued: true });
					}
					const promptId = await submitScene(scene, { client, signal: signal ?? new AbortController().signal, uploads, clientId });
					attempts.push({ serverId: server.id, server: server.url, promptId, outcome: 'success', reason: '', startedAt, endedAt: Date.now() });
					return {
						index: scene.index,
						ok: true as const,
						attempts,
						handle: {
							serverId: server.id,
							server: server.url,
							promptId,
							clientId,
							submittedAt: new Date().toISOString(),
							workflowKey: scene.workflowKey,
							work: scene.work,
							index: scene.index,
							outputKinds: scene.outputKinds,
						},
					};
				} catch (error) {
					const failure = error instanceof AttemptError ? error : undefined;
					lastError = failure?.cause ?? (error instanceof ComfyUiError ? error : new TransientServerError(String(error), 'unexpected-response', server.url));
					if (lastError instanceof TransientServerError && lastError.reason === 'refused') liveness.refused(server.id, lastError.message);
					failedOn.add(server.id);
					const next = candidateServers(admissions(), { incapable: new Set(), failedOn }).find((a) => !failedOn.has(a.id));
					const counts = lastError.kind !== 'transient' || usesAnAttempt({ refusedBeforeQueued: failure?.refusedBeforeQueued ?? false }, next !== undefined && !next.unreachable);
					const outcome = lastError.kind === 'transient' ? (counts ? 'transient' : 'unreachable') : lastError.kind === 'invalid' ? 'invalid' : 'incapable';
					attempts.push({ serverId: server.id, server: server.url, outcome, reason: lastError.message, startedAt, endedAt: Date.now() });
					if (lastError.kind !== 'transient' && lastError.kind !== 'incapable') break;
					if (signal?.aborted) break;
					id = next?.id;
				}
			}
			return { index: scene.index, ok: false as const, error: new SceneFailedError(scene.index, signal?.aborted ? new CancelledError() : lastError, attempts) };
		}),
	);
}

export interface CollectOptions {
	timeouts: { queueWaitMs: number; inactivityMs: number; totalMs: number };
	download: boolean;
	outputKinds: SceneRequest['outputKinds'];
	maxOutputBytes?: number;
	signal?: AbortSignal;
}

/** Waits for submitted scenes and returns their outputs like Generate does. */
export async function collectScenes(runtime: ClusterRuntime, handles: readonly SceneHandle[], options: CollectOptions): Promise<SceneOutcome[]> {
	const startedAt = Date.now();
	return Promise.all(
		handles.map(async (handle, index): Promise<SceneOutcome> => {
			const server = runtime.servers.find((s) => s.id === handle.serverId);
			const record = (outcome: AttemptRecord['outcome'], reason: string): AttemptRecord[] => [
				{ serverId: handle.serverId, server: handle.server, promptId: handle.promptId, outcome, reason, startedAt, endedAt: Date.now() },
			];
			if (!server) {
				const cause = new TransientServerError(
					`The handle names server ${handle.server}, which is not in this credential's server list; collect with the credential that submitted it`,
					'unexpected-response',
					handle.server,
				);
				return { index, ok: false, error: new SceneFailedError(index, cause, record('transient', cause.message)) };
			}
			const client = runtime.clientFor(server.id);
			try {
				const watch = await client.watch(handle.promptId, {
					queueWaitMs: options.timeouts.queueWaitMs || undefined,
					inactivityMs: options.timeouts.inactivityMs || undefined,
					totalMs: options.timeouts.totalMs || undefined,
					signal: options.signal,
				});
				const wanted = watch.outputs.filter((f) => options.outputKinds.includes(f.kind));
				const outputs: SceneOutput[] = options.download
					? await fetchOutputs(client, wanted, {
							maxBytes: options.maxOutputBytes,
							// Total Timeout bounds the collection as a whole, downloads included.
							deadline: options.timeouts.totalMs ? startedAt + options.timeouts.totalMs : undefined,
							signal: options.signal ?? new AbortController().signal,
						})
					: wanted.map((file) => ({ ...file, url: client.viewUrl(file) }));
				recordDuration(runtime, handle, watch.timings.executionMs);
				return {
					index,
					ok: true,
					result: {
						index,
						serverId: server.id,
						server: server.url,
						promptId: handle.promptId,
						attempts: record('success', ''),
						outputs,
						timings: { queueWaitMs: watch.timings.queuedMs, executionMs: watch.timings.executionMs, totalMs: Date.now() - startedAt },
						cached: watch.cached,
					},
				};
			} catch (error) {
				const cause = error instanceof ComfyUiError ? error : new TransientServerError(String(error), 'unexpected-response', server.url);
				if (cause.kind === 'transient' && !options.signal?.aborted) {
					await client.cancel(handle.promptId, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
				}
				const hint = cause instanceof TransientServerError && cause.reason === 'lost' ? ' The server restarted and lost the prompt: submit the scene again.' : '';
				const wrapped = hint ? new TransientServerError(`${cause.message}${hint}`, 'lost', server.url) : cause;
				return { index, ok: false, error: new SceneFailedError(index, wrapped, record(cause.kind === 'transient' ? 'transient' : cause.kind === 'cancelled' ? 'cancelled' : 'execution', cause.message)) };
			}
		}),
	);
}

/**
 * Removes pending prompts from their queues and interrupts running ones, server by server: the
 * pending ones of a server go first, so interrupting its running one does not start them.
 */
export async function cancelScenes(runtime: ClusterRuntime, handles: readonly SceneHandle[]): Promise<Array<{ handle: SceneHandle; outcome: string; error?: string }>> {
	const byServer = new Map<string, SceneHandle[]>();
	for (const handle of handles) {
		const mine = byServer.get(handle.serverId) ?? [];
		mine.push(handle);
		byServer.set(handle.serverId, mine);
	}
	const results = new Map<SceneHandle, { handle: SceneHandle; outcome: string; error?: string }>();
	await Promise.all(
		[...byServer].map(async ([serverId, mine]) => {
			const server = runtime.servers.find((s) => s.id === serverId);
			if (!server) {
				for (const handle of mine) results.set(handle, { handle, outcome: 'unknown-server', error: `Server ${handle.server} is not in this credential's server list` });
				return;
			}
			try {
				const outcomes = await runtime.clientFor(server.id).cancelMany(mine.map((h) => h.promptId), { signal: AbortSignal.timeout(10_000) });
				for (const handle of mine) results.set(handle, { handle, outcome: outcomes.get(handle.promptId) ?? 'not-found' });
			} catch (error) {
				for (const handle of mine) results.set(handle, { handle, outcome: 'failed', error: error instanceof Error ? error.message : String(error) });
			}
		}),
	);
	return handles.map((handle) => results.get(handle)!);
}

/**
 * A collected scene teaches the cluster its server's speed like a scene of Generate does: its
 * outcome is recorded as the release of a lease that was never taken (only the outcome counts).
 */
function recordDuration(runtime: ClusterRuntime, handle: SceneHandle, executionMs: number): void {
	if (!handle.workflowKey || !(executionMs > 0)) return;
	const outcome: Outcome = { kind: 'success', workflowKey: handle.workflowKey, executionMs, work: handle.work };
	const lease = { id: `collect-${randomUUID()}`, serverId: handle.serverId, expiresAt: 0, store: runtime.store.kind === 'memory' ? ('memory' as const) : ('redis' as const) };
	runtime.store.commit({ release: [{ lease, outcome }] }).catch(() => undefined);
}
