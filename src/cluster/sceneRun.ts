/**
 * What one attempt of a scene on its server comes to: it runs the attempt (submit, watch, outputs),
 * then settles the scene, moves it, or hands the failure to failure.ts and applies the verdict —
 * returning what the shared store counts for the server.
 */
import type { ProgressEvent } from '../comfyui/client';
import { TransientServerError } from '../comfyui/errors';
import { AttemptError, runAttempt } from './attempt';
import type { BatchState, Running, Waiting } from './batchState';
import { decideFailure } from './failure';
import { makeRoom, STATS_TIMEOUT_MS, workingSetsOf } from './memory';
import { liveMemory } from './status';
import { paidLoads } from './planning/residency';
import type { SystemStats } from './store/types';
import type { SceneOutcome } from './scene';
import type { ServerSpec } from './serverSpec';
import type { Outcome } from './store/HealthStore';

export interface SceneRunHooks {
	settle(waiting: Waiting, outcome: SceneOutcome): void;
	requeue(waiting: Waiting, delayMs: number): void;
}

export async function runScene(state: BatchState, run: Running, server: ServerSpec, uploads: Map<string, Promise<string>>, hooks: SceneRunHooks): Promise<Outcome> {
	const { waiting } = run;
	const { runtime, options } = state;
	const workflowKey = waiting.scene.workflowKey;
	const startedAt = Date.now();
	let promptId: string | undefined;
	try {
		const memory = await admitHeavy(state, run, server);
		const result = await runAttempt(waiting.scene, {
			client: runtime.clientFor(server.id),
			signal: run.cancel.signal,
			moveSignal: run.move.signal,
			abandonSignal: run.abandon.signal,
			// While every server is unreachable, scenes still try (and those tries count).
			reachable: () => runtime.liveness.reachable(server.id) || state.servers.every((s) => !runtime.liveness.reachable(s.id)),
			uploads,
			unreachableMs: options.unreachableMs,
			hooks: {
				onSubmitted: (id) => (promptId = id),
				onProgress: (event) => onProgress(state, run, server, event),
			},
		});
		if (result.kind === 'moved') {
			state.record(waiting, server, result.promptId, 'moved', 'moved to a server that was idle', startedAt);
			options.onEvent?.({ type: 'moved', index: waiting.scene.index, from: server.url, reason: 'a server with room finishes it sooner' });
			hooks.requeue(waiting, 0);
			return { kind: 'cancelled', workflowKey };
		}
		if (memory) {
			const after = await liveMemory(runtime, server.id, run.cancel.signal, STATS_TIMEOUT_MS);
			if (after) workingSetsOf(runtime).learn(workflowKey, memory, after);
		}
		const { executionMs } = result.watch.timings;
		// What the run paid to load models the server did not hold, and what it leaves loaded there.
		const loads = paidLoads(waiting.scene.models, result.watch.nodes);
		const modelLoadMs = Object.values(loads).reduce((sum, ms) => sum + ms, 0);
		const attempts = state.record(waiting, server, result.promptId, 'success', '', startedAt);
		const { index } = waiting.scene;
		hooks.settle(waiting, {
			index,
			ok: true,
			result: {
				index,
				serverId: server.id,
				server: server.url,
				promptId: result.promptId,
				attempts,
				outputs: result.outputs,
				timings: { queueWaitMs: result.watch.timings.queuedMs, executionMs, modelLoadMs, totalMs: Date.now() - state.startedAt },
				cached: result.watch.cached,
			},
		});
		if (!options.affinity) return { kind: 'success', workflowKey, executionMs, work: waiting.scene.work };
		// The speed averages learn the work alone; the loads are learned per model.
		const workMs = executionMs > 0 ? Math.max(1, executionMs - modelLoadMs) : executionMs;
		return { kind: 'success', workflowKey, executionMs: workMs, work: waiting.scene.work, loads, resident: waiting.models };
	} catch (error) {
		const failure = error instanceof AttemptError ? error : new AttemptError(new TransientServerError(String(error), 'unexpected-response', server.url));
		promptId ??= failure.promptId;
		// Left on a server that did not answer (or was not asked): removed once it answers.
		if (promptId && (failure.leftBehind || run.abandoned)) runtime.janitor.abandon(server.id, promptId);
		return onFailure(state, run, server, failure, promptId, startedAt, hooks);
	}
}

/** Applies failure.ts's verdict: the attempt's record, the scene's candidates, and its next step. */
function onFailure(state: BatchState, run: Running, server: ServerSpec, failure: AttemptError, promptId: string | undefined, startedAt: number, hooks: SceneRunHooks): Outcome {
	const { waiting } = run;
	const { scene } = waiting;
	const totalMs = scene.timeouts.totalMs;
	const verdict = decideFailure(
		{
			error: failure.cause,
			serverId: server.id,
			serverUrl: server.url,
			refusedBeforeQueued: failure.refusedBeforeQueued,
			cancelled: state.aborted,
			abandoned: run.abandoned && { kind: run.abandoned.kind, reason: state.clean(run.abandoned.reason) },
		},
		{
			incapable: waiting.incapable,
			failedOn: waiting.failedOn,
			transientTries: waiting.attempts.filter((a) => a.outcome === 'transient').length,
			maxAttempts: scene.maxAttempts,
			overTime: totalMs > 0 && waiting.firstStart !== undefined && Date.now() - waiting.firstStart >= totalMs,
		},
		state.admissions(),
		state.options.backoff,
	);
	const reason = state.clean(verdict.reason);
	if (verdict.refused) state.runtime.liveness.refused(server.id, state.clean(failure.cause.message));
	if (verdict.exclude === 'incapable') waiting.incapable.add(server.id);
	if (verdict.exclude === 'failedOn') waiting.failedOn.add(server.id);
	const attempts = state.record(waiting, server, promptId, verdict.record, reason, startedAt);
	if (verdict.next === 'settle') hooks.settle(waiting, state.failed(scene.index, verdict.error, attempts));
	else {
		if (verdict.record === 'moved') state.options.onEvent?.({ type: 'moved', index: scene.index, from: server.url, reason });
		if (verdict.retry) state.options.onEvent?.({ type: 'retry', index: scene.index, server: server.url, reason, delayMs: verdict.delayMs });
		hooks.requeue(waiting, verdict.delayMs);
	}
	return { kind: verdict.store, workflowKey: scene.workflowKey, ...(verdict.store === 'transient' ? { error: reason } : {}) };
}

/**
 * Before a heavy scene: the server's live memory, freed first when the scene's learned working set
 * would not fit (memory.ts). Undefined for other scenes, with memory awareness off, or when the
 * server does not tell its memory.
 */
async function admitHeavy(state: BatchState, run: Running, server: ServerSpec): Promise<SystemStats | undefined> {
	if (!run.waiting.scene.heavy || !state.options.memoryAware) return undefined;
	const { stats, freed } = await makeRoom(state.runtime, server.id, run.waiting.scene.workflowKey, run.cancel.signal);
	if (freed) {
		state.speeds.evict(server.id);
		state.runtime.logger?.info(`Freed memory on ${server.url} before scene ${run.waiting.scene.index}: its working set would not have fit`);
	}
	return stats;
}

function onProgress(state: BatchState, run: Running, server: ServerSpec, event: ProgressEvent): void {
	if (event.phase === 'running' && run.phase === 'queued') {
		run.phase = 'running';
		run.since = Date.now();
	}
	state.options.onEvent?.({ type: 'progress', index: run.waiting.scene.index, serverId: server.id, server: server.url, phase: event.phase, percent: event.percent });
}
