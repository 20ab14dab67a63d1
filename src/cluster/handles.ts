/**
 * Submit now, collect later: for video scenes that take many minutes, an execution can queue its
 * scenes and end; a later execution (any worker) collects the results with the handles, or cancels.
 *
 * Submitted scenes hold no lease: each server's queue length (probed) tells every worker about them.
 */
import { CancelledError, ComfyUiError, TransientServerError } from '../comfyui/errors';
import { AttemptError, submitScene } from './attempt';
import type { ClusterRuntime } from './batch';
import { DurationModel } from './planning/durationModel';
import { fetchOutputs } from './outputs';
import { planPlacements } from './planning/plan';
import { refreshStale } from './probes';
import { SceneFailedError, type AttemptRecord, type SceneOutcome, type SceneRequest, type SceneOutput } from './scene';

export interface SceneHandle {
	serverId: string;
	server: string;
	promptId: string;
	clientId: string;
	submittedAt: string;
	workflowKey: string;
	/** Item index of the scene in the execution that submitted it. */
	index: number;
	outputKinds?: string[];
}

export type SubmitOutcome = { index: number; ok: true; handle: SceneHandle; attempts: AttemptRecord[] } | { index: number; ok: false; error: SceneFailedError };

/** Places every scene at once (queues allowed beyond `max`), uploads inputs and submits. */
export async function submitScenes(runtime: ClusterRuntime, scenes: readonly SceneRequest[], signal?: AbortSignal): Promise<SubmitOutcome[]> {
	const { store, servers } = runtime;
	await refreshStale(store, servers, (server, s) => runtime.clientFor(server.id).queueInfo({ signal: s }), { signal }).catch(() => []);
	const statuses = await store.snapshot(servers).catch(() => []);
	const queueOf = new Map(statuses.map((s) => [s.id, (s.queueRemaining ?? 0) + s.inFlight]));
	const model = new DurationModel(
		statuses.flatMap((s) => Object.entries(s.ewma).map(([workflowKey, e]) => ({ serverId: s.id, workflowKey, seconds: e.seconds }))),
		new Map(scenes.map((scene) => [scene.workflowKey, scene.work])),
	);
	const down = new Set(statuses.filter((s) => s.breaker.phase === 'open' && s.breaker.openUntil > Date.now()).map((s) => s.id));
	const estimate = (serverId: string, workflowKey: string) =>
		model.estimate(serverId, workflowKey) ?? model.slowness(serverId) / (servers.find((s) => s.id === serverId)?.weight ?? 1);
	const usable = servers.filter((s) => !down.has(s.id));
	const pool = usable.length > 0 ? usable : servers;
	const placements = planPlacements(
		pool.map((s) => ({ id: s.id, freeSlots: Number.MAX_SAFE_INTEGER, busySeconds: (queueOf.get(s.id) ?? 0) * estimate(s.id, scenes[0]?.workflowKey ?? '') })),
		scenes.map((scene) => ({ key: scene, workflowKey: scene.workflowKey, candidates: pool.map((s) => s.id) })),
		estimate,
	);
	const uploads = new Map<string, Promise<string>>();
	return Promise.all(
		placements.map(async ({ key: scene, serverId }) => {
			const attempts: AttemptRecord[] = [];
			const order = [serverId, ...pool.map((s) => s.id).filter((id) => id !== serverId)];
			let lastError: ComfyUiError = new TransientServerError('No server was reachable', 'network');
			for (const id of order.slice(0, Math.max(1, scene.maxAttempts))) {
				const server = servers.find((s) => s.id === id)!;
				const client = runtime.clientFor(id);
				const startedAt = Date.now();
				try {
					const promptId = await submitScene(scene, { client, signal: signal ?? new AbortController().signal, uploads });
					attempts.push({ serverId: id, server: server.url, promptId, outcome: 'success', reason: '', startedAt, endedAt: Date.now() });
					return {
						index: scene.index,
						ok: true as const,
						attempts,
						handle: {
							serverId: id,
							server: server.url,
							promptId,
							clientId: client.clientId,
							submittedAt: new Date().toISOString(),
							workflowKey: scene.workflowKey,
							index: scene.index,
							outputKinds: scene.outputKinds,
						},
					};
				} catch (error) {
					lastError = error instanceof AttemptError ? error.cause : error instanceof ComfyUiError ? error : new TransientServerError(String(error), 'unexpected-response', server.url);
					attempts.push({ serverId: id, server: server.url, outcome: lastError.kind === 'transient' ? 'transient' : lastError.kind === 'invalid' ? 'invalid' : 'incapable', reason: lastError.message, startedAt, endedAt: Date.now() });
					if (lastError.kind !== 'transient' && lastError.kind !== 'incapable') break;
					if (signal?.aborted) break;
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
