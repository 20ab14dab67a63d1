/**
 * Watching one prompt to its end: websocket events and `/history` + `/queue` polling race. Ends in
 * exactly one of success (returned), ExecutionError (failed or interrupted), TransientServerError
 * (lost, a deadline, unreachable) or CancelledError (the caller's signal; nothing is cancelled on the
 * server — that is the caller's decision).
 */
import { backoffDelay } from '../../util/backoff';
import { CancelledError, ExecutionError, TransientServerError } from '../errors';
import { cachedNodes, describeFailure, executionMsFromHistory, failureDetails, interpretHistory, wasFullyCached, type FailureDetails } from './history';
import { extractOutputs } from './outputs';
import type { ComfySocket, SocketMessage } from './socket';
import type { ClientLogger, HistoryEntry, ProgressEvent, PromptPhase, QueueState, WatchOptions, WatchResult } from './types';

export interface WatchDeps {
	server: string;
	/** Undefined in polling-only mode. */
	socket?: ComfySocket;
	history(promptId: string, signal?: AbortSignal, timeoutMs?: number): Promise<HistoryEntry | undefined>;
	queue(signal?: AbortSignal, timeoutMs?: number): Promise<QueueState>;
	requestTimeoutMs: number;
	logger?: ClientLogger;
}

/** A sleep that an event can cut short. */
export class Waker {
	private wakeNow?: () => void;
	private pending = false;

	wake(): void {
		if (this.wakeNow) this.wakeNow();
		else this.pending = true;
	}

	sleep(ms: number, signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) return Promise.reject(signal.reason);
		if (this.pending) {
			this.pending = false;
			return Promise.resolve();
		}
		return new Promise((resolve, reject) => {
			const done = () => {
				clearTimeout(timer);
				signal?.removeEventListener('abort', onAbort);
				this.wakeNow = undefined;
			};
			const onAbort = () => {
				done();
				reject(signal?.reason);
			};
			const timer = setTimeout(() => {
				done();
				resolve();
			}, Math.max(0, ms));
			this.wakeNow = () => {
				done();
				resolve();
			};
			signal?.addEventListener('abort', onAbort, { once: true });
		});
	}
}

/** Shortest and longest pause between two `/history` reads after the socket said "done". */
const LATE_HISTORY = { initialMs: 50, maxMs: 500, attempts: 8 };
/** Pause before the second look that confirms a prompt is gone. */
const LOST_CONFIRM_MS = 300;
/** How long refused connections (nothing listening) are tolerated before the watch gives up. */
const REFUSED_MS = 500;

type DeadlineReason = 'queue-wait-timeout' | 'inactivity-timeout' | 'total-timeout';

function num(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export async function watchPrompt(deps: WatchDeps, promptId: string, options: WatchOptions = {}): Promise<WatchResult> {
	const { signal } = options;
	const pollMinMs = options.pollMinMs ?? 500;
	const pollMaxMs = Math.max(pollMinMs, options.pollMaxMs ?? 5000);
	const unreachableMs = options.unreachableMs ?? 30_000;
	const start = Date.now();
	// Timings count from the submit when the caller knows it; deadlines from this call.
	const origin = Math.min(start, options.submittedAt ?? start);
	const waker = new Waker();

	let phase: PromptPhase = 'queued';
	let startedAt: number | undefined;
	let lastActivity = start;
	let finishedBySocket = false;
	let socketFailure: { details: FailureDetails; interrupted: boolean } | undefined;
	let node: string | undefined;
	let value: number | undefined;
	let max: number | undefined;

	const cancelled = () => new CancelledError(`Watching ComfyUI prompt ${promptId} on ${deps.server} was cancelled.`, deps.server);

	const emit = () => {
		if (!options.onProgress) return;
		const event: ProgressEvent = { promptId, phase };
		if (node !== undefined) event.node = node;
		if (value !== undefined && max !== undefined) {
			event.value = value;
			event.max = max;
			event.percent = max > 0 ? Math.min(100, Math.max(0, (value / max) * 100)) : undefined;
			if (event.percent === undefined) delete event.percent;
		}
		try {
			options.onProgress(event);
		} catch (error) {
			deps.logger?.warn('onProgress callback threw', { promptId, error: String(error) });
		}
	};

	/** Notes a sign of life; returns true when it is the switch from queued to running. */
	const markRunning = (): boolean => {
		lastActivity = Date.now();
		if (phase === 'running') return false;
		phase = 'running';
		startedAt = lastActivity;
		return true;
	};

	const onMessage = (message: SocketMessage) => {
		const data = message.data;
		if (data.prompt_id !== promptId) return;
		switch (message.type) {
			case 'execution_start':
			case 'execution_cached':
			case 'progress_state':
			case 'executed':
				if (markRunning()) emit();
				break;
			case 'executing':
				if (data.node === null || data.node === undefined) {
					finishedBySocket = true;
					waker.wake();
				} else {
					markRunning();
					node = String(data.node);
					value = undefined;
					max = undefined;
					emit();
				}
				break;
			case 'progress':
				markRunning();
				if (data.node !== undefined && data.node !== null) node = String(data.node);
				value = num(data.value);
				max = num(data.max);
				emit();
				break;
			case 'execution_success':
				finishedBySocket = true;
				waker.wake();
				break;
			case 'execution_error':
			case 'execution_interrupted':
				socketFailure = { details: failureDetails(data), interrupted: message.type === 'execution_interrupted' };
				finishedBySocket = true;
				waker.wake();
				break;
			default:
				break;
		}
	};

	const useSocket = options.useWebSocket !== false && deps.socket !== undefined;
	const unsubscribe = useSocket ? deps.socket?.subscribe({ onMessage, onDrop: () => waker.wake() }) : undefined;

	const finish = (entry: HistoryEntry): WatchResult => {
		const outcome = interpretHistory(entry);
		if (outcome.kind !== 'success') {
			const interrupted = outcome.kind === 'interrupted';
			throw new ExecutionError(describeFailure(promptId, outcome.details, interrupted), { promptId, ...outcome.details, interrupted }, deps.server);
		}
		const end = Date.now();
		const totalMs = end - origin;
		const executionMs = Math.min(totalMs, executionMsFromHistory(entry) ?? (startedAt !== undefined ? end - startedAt : 0));
		const queuedMs = Math.max(0, totalMs - executionMs);
		const timeline = deps.socket?.timelines.take(promptId);
		const nodes = { cached: timeline?.cached ?? cachedNodes(entry), ms: timeline ? nodeDurations(timeline.starts, timeline.end ?? end) : {} };
		return { status: 'success', promptId, outputs: extractOutputs(entry), history: entry, timings: { queuedMs, executionMs, totalMs }, cached: wasFullyCached(entry), nodes };
	};

	const deadline = (): { at: number; reason: DeadlineReason } | undefined => {
		const candidates: Array<{ at: number; reason: DeadlineReason }> = [];
		if (options.totalMs !== undefined) candidates.push({ at: start + options.totalMs, reason: 'total-timeout' });
		if (phase === 'queued' && options.queueWaitMs !== undefined) candidates.push({ at: start + options.queueWaitMs, reason: 'queue-wait-timeout' });
		if (phase === 'running' && options.inactivityMs !== undefined) candidates.push({ at: lastActivity + options.inactivityMs, reason: 'inactivity-timeout' });
		candidates.sort((a, b) => a.at - b.at);
		return candidates[0];
	};

	const deadlineError = (reason: DeadlineReason): TransientServerError => {
		const seconds = (ms: number | undefined) => `${Math.round((ms ?? 0) / 100) / 10} s`;
		const text: Record<DeadlineReason, string> = {
			'queue-wait-timeout': `did not start within the queue wait limit of ${seconds(options.queueWaitMs)}`,
			'inactivity-timeout': `showed no progress for ${seconds(options.inactivityMs)} while running (the server may be stuck)`,
			'total-timeout': `did not finish within the time limit of ${seconds(options.totalMs)}`,
		};
		return new TransientServerError(`ComfyUI prompt ${promptId} on ${deps.server} ${text[reason]}.`, reason, deps.server);
	};

	const lost = () =>
		new TransientServerError(
			`ComfyUI prompt ${promptId} vanished from ${deps.server}: it is in neither the queue nor the history (the server probably restarted).`,
			'lost',
			deps.server,
		);

	let pollAttempt = 0;
	let lateHistoryAttempt = 0;
	let absentOnce = false;
	let unreachableSince: number | undefined;
	let refusedSince: number | undefined;

	try {
		for (;;) {
			if (signal?.aborted) throw cancelled();
			let nextPollMs: number | undefined;
			const requestTimeout = Math.min(deps.requestTimeoutMs, Math.max(1000, (deadline()?.at ?? Infinity) - Date.now() + 1000));
			try {
				const entry = await deps.history(promptId, signal, requestTimeout);
				if (entry) return finish(entry);
				if (finishedBySocket && lateHistoryAttempt < LATE_HISTORY.attempts) {
					// The socket can run ahead of the history write; read again shortly.
					nextPollMs = backoffDelay(lateHistoryAttempt++, LATE_HISTORY);
				} else {
					const queue = await deps.queue(signal, requestTimeout);
					unreachableSince = undefined;
					if (queue.running.some((item) => item.promptId === promptId)) {
						absentOnce = false;
						// "Still running" is no sign of life; only the switch from queued is.
						if (phase === 'queued' && markRunning()) emit();
					} else if (queue.pending.some((item) => item.promptId === promptId)) {
						absentOnce = false;
					} else if (!absentOnce) {
						// It may have finished between the two reads: look again before calling it lost.
						absentOnce = true;
						nextPollMs = LOST_CONFIRM_MS;
					} else if (socketFailure) {
						const { details, interrupted } = socketFailure;
						throw new ExecutionError(describeFailure(promptId, details, interrupted), { promptId, ...details, interrupted }, deps.server);
					} else {
						throw lost();
					}
				}
				unreachableSince = undefined;
				refusedSince = undefined;
			} catch (error) {
				if (signal?.aborted || error instanceof CancelledError) throw cancelled();
				// An answer too large to read will be as large on the next poll: the server misbehaves, not the network.
				if (!(error instanceof TransientServerError) || error.reason === 'lost' || error.reason === 'answer-too-large') throw error;
				unreachableSince ??= Date.now();
				refusedSince = error.reason === 'refused' ? (refusedSince ?? Date.now()) : undefined;
				deps.logger?.debug('ComfyUI poll failed', { server: deps.server, promptId, reason: error.reason });
				if (Date.now() - unreachableSince >= unreachableMs) throw error;
				// Nothing listens on the port: the process is gone, and with it its queue. Waiting longer
				// cannot bring the prompt back (a restarted server has forgotten it).
				if (refusedSince !== undefined && Date.now() - refusedSince >= Math.min(unreachableMs, REFUSED_MS)) throw error;
				// While the server does not answer, look again soon rather than at the backed-off pace.
				nextPollMs = pollMinMs;
			}

			const next = deadline();
			const now = Date.now();
			if (next && now >= next.at) throw deadlineError(next.reason);
			let delay = nextPollMs ?? backoffDelay(pollAttempt++, { initialMs: pollMinMs, maxMs: pollMaxMs, factor: 1.5 });
			if (next) delay = Math.min(delay, Math.max(0, next.at - now));
			try {
				await waker.sleep(delay, signal);
			} catch {
				throw cancelled();
			}
		}
	} finally {
		unsubscribe?.();
	}
}

/** How long each node ran: from its `executing` to the next one's, the last one to `end`. */
function nodeDurations(starts: ReadonlyArray<{ node: string; at: number }>, end: number): Record<string, number> {
	const ms: Record<string, number> = {};
	starts.forEach(({ node, at }, i) => (ms[node] = (ms[node] ?? 0) + Math.max(0, (starts[i + 1]?.at ?? end) - at)));
	return ms;
}
