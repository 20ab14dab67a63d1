/**
 * One attempt of one scene on one server: upload inputs → submit with our own prompt id → watch
 * with the three deadlines → outputs. Cleans up what it leaves on the server when it fails, is
 * cancelled, or is moved. The batch decides what happens next.
 */
import { createHash, randomUUID } from 'crypto';
import { retry, sleep, type BackoffOptions } from '../util/backoff';
import type { ComfyUiClient, ProgressEvent, WatchResult } from '../comfyui/client';
import { CancelledError, ComfyUiError, ExecutionError, TransientServerError } from '../comfyui/errors';
import { applyOverrides, type ApiGraph } from '../comfyui/workflow';
import { fetchOutputs } from './outputs';
import { FRONT_PRIORITY, type SceneOutput, type SceneRequest } from './scene';

const CLEANUP_TIMEOUT_MS = 5_000;
const CLEANUP_RETRY: { attempts: number; backoff: BackoffOptions } = { attempts: 8, backoff: { initialMs: 200, maxMs: 1_000, factor: 2, jitter: 0.2 } };
/** How often cleanup looks whether an interrupted prompt has left the server. */
const INTERRUPT_POLL_MS = 200;
/** How long a prompt that left the queue gets to show up in the history, for the final look. */
const FINAL_LOOK_MS = 3_000;
/** Time the final look's downloads get when the attempt's own time is up (it may have finished just then). */
const FINAL_LOOK_DOWNLOAD_MS = 60_000;

export interface AttemptHooks {
	/** The prompt was accepted by the server. */
	onSubmitted?(promptId: string): void;
	/** Queued → running, progress percentages. */
	onProgress?(event: ProgressEvent): void;
}

export interface AttemptContext {
	client: ComfyUiClient;
	/** Cancels the attempt (execution cancelled): cleans up on the server, ends in CancelledError. */
	signal: AbortSignal;
	/**
	 * Asks to move the scene while it still waits in the server queue: the prompt is deleted there;
	 * if it already started, the attempt carries on.
	 */
	moveSignal?: AbortSignal;
	/**
	 * Gives the attempt up without asking the server anything more (it stopped answering): ends in an
	 * AttemptError at once, the prompt left behind (`leftBehind`) for the caller to remove later.
	 */
	abandonSignal?: AbortSignal;
	/** False when the server is known not to answer: nothing is sent, as if it refused. */
	reachable?: () => boolean;
	/** Per batch: one upload per (server, file content). */
	uploads: Map<string, Promise<string>>;
	/** Give up on the server after every poll failed for this long (its queue dies with it). */
	unreachableMs?: number;
	hooks?: AttemptHooks;
}

export type AttemptResult =
	| { kind: 'success'; promptId: string; watch: WatchResult; outputs: SceneOutput[] }
	| { kind: 'moved'; promptId: string };

/** A failure after the prompt was accepted carries its id, so the batch can report it. */
export class AttemptError extends Error {
	constructor(
		readonly cause: ComfyUiError,
		readonly promptId?: string,
		readonly details: {
			/** The connection was refused before the server accepted anything: nothing is queued there. */
			refusedBeforeQueued?: boolean;
			/** The prompt may still be on the server: it could not be cleaned up (or was not asked to be). */
			leftBehind?: boolean;
		} = {},
	) {
		super(cause.message);
		this.name = 'AttemptError';
	}

	get refusedBeforeQueued(): boolean {
		return this.details.refusedBeforeQueued === true;
	}

	get leftBehind(): boolean {
		return this.details.leftBehind === true;
	}
}

export async function runAttempt(scene: SceneRequest, ctx: AttemptContext): Promise<AttemptResult> {
	const { client } = ctx;
	let promptId: string | undefined;
	let accepted = false;
	// Abandoning ends every request of the attempt like a cancel would, but nothing is cleaned up.
	const signal = ctx.abandonSignal ? AbortSignal.any([ctx.signal, ctx.abandonSignal]) : ctx.signal;
	const work = { ...ctx, signal };
	// Total Timeout bounds the attempt as a whole: the watch and the downloads after it.
	const deadline = scene.timeouts.totalMs ? Date.now() + scene.timeouts.totalMs : undefined;
	try {
		if (ctx.reachable && !ctx.reachable()) {
			throw new TransientServerError(`ComfyUI at ${client.server} refused the connection a moment ago and has not answered since.`, 'refused', client.server);
		}
		promptId = await submitScene(scene, work, (id) => (promptId = id));
		accepted = true;
		ctx.hooks?.onSubmitted?.(promptId);
		const watch = await watchOrMove(scene, work, promptId);
		if (watch === 'moved') return { kind: 'moved', promptId };
		const outputs = await collectOutputs(client, watch, scene, signal, deadline);
		if (scene.freeMemoryAfter) {
			await client.free({ unloadModels: true, freeMemory: true, signal }).catch(() => undefined);
		}
		return { kind: 'success', promptId, watch, outputs };
	} catch (error) {
		if (ctx.abandonSignal?.aborted && !ctx.signal.aborted) {
			const cause = new TransientServerError(`ComfyUI at ${client.server} stopped answering.`, 'unresponsive', client.server);
			throw new AttemptError(cause, promptId, { leftBehind: promptId !== undefined });
		}
		const cause = asComfyError(error, client.server, ctx.signal);
		if (!accepted && cause instanceof TransientServerError && cause.reason === 'refused') {
			throw new AttemptError(cause, promptId, { refusedBeforeQueued: true });
		}
		let leftBehind = false;
		if (promptId && cause.kind !== 'invalid' && !refusedOutright(cause)) {
			const left = await cleanup(client, promptId);
			leftBehind = left === 'unreachable';
			// Gone from the queue after a watch failure (a deadline hit just as it ended, the socket
			// and polls missed the end, the interrupt came too late): it may have finished. Running it
			// again elsewhere would run it twice.
			if (left === 'ended' && cause.kind === 'transient' && !ctx.signal.aborted && !outputsFailed(error)) {
				const result = await finalLook(scene, ctx, promptId, deadline === undefined ? undefined : Math.max(deadline, Date.now() + FINAL_LOOK_DOWNLOAD_MS));
				if (result instanceof ComfyUiError) throw new AttemptError(result, promptId);
				if (result) return result;
			}
		}
		throw new AttemptError(cause, promptId, { leftBehind });
	}
}

class OutputDownloadError extends Error {
	constructor(readonly cause: unknown) {
		super('output download failed');
	}
}

function outputsFailed(error: unknown): boolean {
	return error instanceof OutputDownloadError;
}

/**
 * One last read of a prompt that left the server's queue: its result when it succeeded, its
 * execution error when it failed, undefined when the server does not know it (lost).
 */
async function finalLook(scene: SceneRequest, ctx: AttemptContext, promptId: string, deadline: number | undefined): Promise<AttemptResult | ComfyUiError | undefined> {
	try {
		const watch = await ctx.client.watch(promptId, {
			useWebSocket: false,
			totalMs: FINAL_LOOK_MS,
			unreachableMs: FINAL_LOOK_MS,
			pollMinMs: INTERRUPT_POLL_MS,
			signal: ctx.signal,
		});
		const outputs = await collectOutputs(ctx.client, watch, scene, ctx.signal, deadline);
		return { kind: 'success', promptId, watch, outputs };
	} catch (error) {
		if (error instanceof OutputDownloadError && error.cause instanceof ExecutionError) return error.cause;
		if (error instanceof ExecutionError && !error.details.interrupted) return error;
		return undefined;
	}
}

/**
 * Uploads the scene's inputs and submits it with our own prompt id; returns the id the server uses.
 * `onId` learns the id before the request goes out, so a failure can still clean it up.
 */
export async function submitScene(
	scene: SceneRequest,
	ctx: Pick<AttemptContext, 'client' | 'signal' | 'uploads'> & { clientId?: string },
	onId?: (promptId: string) => void,
): Promise<string> {
	const graph = await withInputs(scene, ctx);
	const promptId = randomUUID();
	onId?.(promptId);
	return submit(ctx.client, graph, promptId, scene, ctx.signal, ctx.clientId);
}

/** Uploads the scene's input files (once per server and content) and points their nodes at them. */
async function withInputs(scene: SceneRequest, ctx: Pick<AttemptContext, 'client' | 'signal' | 'uploads'>): Promise<ApiGraph> {
	if (scene.inputs.length === 0) return scene.graph;
	const references = await Promise.all(
		scene.inputs.map((file) => {
			const key = `${ctx.client.server}\u0000${file.fileName}\u0000${file.bytes.length}\u0000${hashOf(file.bytes)}`;
			let pending = ctx.uploads.get(key);
			if (!pending) {
				pending = ctx.client.uploadImage(file.bytes, file.fileName, { signal: ctx.signal }).then((r) => r.reference);
				pending.catch(() => ctx.uploads.delete(key));
				ctx.uploads.set(key, pending);
			}
			return pending;
		}),
	);
	return applyOverrides(
		scene.graph,
		scene.inputs.map((file, i) => ({ node: file.node, input: file.input, value: references[i] })),
	);
}

const hashes = new WeakMap<Buffer, string>();
function hashOf(bytes: Buffer): string {
	let hash = hashes.get(bytes);
	if (!hash) {
		hash = createHash('sha256').update(bytes).digest('hex');
		hashes.set(bytes, hash);
	}
	return hash;
}

/**
 * Submits with our own prompt id. When the request was sent but no answer came, the server may
 * still have queued it: look the id up before anyone submits again, so a scene never runs twice.
 */
async function submit(client: ComfyUiClient, graph: ApiGraph, promptId: string, scene: SceneRequest, signal: AbortSignal, clientId?: string): Promise<string> {
	try {
		const accepted = await client.submit(graph, { promptId, clientId, front: scene.priority >= FRONT_PRIORITY, signal });
		return accepted.promptId;
	} catch (error) {
		if (!(error instanceof TransientServerError) || signal.aborted) throw error;
		if (!['ambiguous-submit', 'reset', 'timeout', 'network'].includes(error.reason)) throw error;
		const seen = await client.lookup(promptId, { signal }).catch(() => 'unreachable' as const);
		if (seen === 'pending' || seen === 'running' || seen === 'done') return promptId;
		throw error;
	}
}

/** Watches to the end; a move request deletes a still-pending prompt (if it started, keep watching). */
async function watchOrMove(scene: SceneRequest, ctx: AttemptContext, promptId: string): Promise<WatchResult | 'moved'> {
	const started = Date.now();
	for (;;) {
		const watchAbort = new AbortController();
		const onCancel = () => watchAbort.abort(ctx.signal.reason);
		const onMove = () => watchAbort.abort('move');
		ctx.signal.addEventListener('abort', onCancel, { once: true });
		ctx.moveSignal?.addEventListener('abort', onMove, { once: true });
		if (ctx.signal.aborted) onCancel();
		else if (ctx.moveSignal?.aborted) onMove();
		const elapsed = Date.now() - started;
		try {
			return await ctx.client.watch(promptId, {
				queueWaitMs: remaining(scene.timeouts.queueWaitMs, elapsed),
				inactivityMs: scene.timeouts.inactivityMs || undefined,
				totalMs: remaining(scene.timeouts.totalMs, elapsed),
				unreachableMs: ctx.unreachableMs,
				signal: watchAbort.signal,
				onProgress: ctx.hooks?.onProgress,
			});
		} catch (error) {
			if (!(error instanceof CancelledError) || ctx.signal.aborted || !ctx.moveSignal?.aborted) throw error;
			const outcome = await ctx.client.cancel(promptId, { signal: ctx.signal }).catch(() => 'unreachable' as const);
			if (outcome === 'deleted') return 'moved';
			// It started (or the server did not answer): stay with it; moving is only for waiting prompts.
			ctx.moveSignal = undefined;
		} finally {
			ctx.signal.removeEventListener('abort', onCancel);
		}
	}
}

function remaining(limitMs: number, elapsedMs: number): number | undefined {
	if (!limitMs) return undefined;
	return Math.max(1, limitMs - elapsedMs);
}

async function collectOutputs(client: ComfyUiClient, watch: WatchResult, scene: SceneRequest, signal: AbortSignal, deadline: number | undefined): Promise<SceneOutput[]> {
	const wanted = watch.outputs.filter((file) => scene.outputKinds.includes(file.kind));
	if (!scene.download) return wanted.map((file) => ({ ...file, url: client.viewUrl(file) }));
	try {
		return await fetchOutputs(client, wanted, { maxBytes: scene.maxOutputBytes, deadline, signal });
	} catch (error) {
		if (signal.aborted) throw error;
		throw new OutputDownloadError(error);
	}
}

/**
 * Best effort: delete the prompt if pending, interrupt it if running and wait (bounded) until it
 * has left, so the slot is free on the server when the lease is released. Never uses the aborted signal.
 */
async function cleanup(client: ComfyUiClient, promptId: string): Promise<'deleted' | 'ended' | 'unreachable'> {
	const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
	try {
		// A server that answers 5xx or times out now may be fine in a moment, and a prompt left there
		// would run while the scene runs elsewhere. A refused connection means the process (and its queue) is gone.
		const outcome = await retry(() => client.cancel(promptId, { signal }), {
			...CLEANUP_RETRY,
			signal,
			classify: (error) => ({ retry: error instanceof TransientServerError && error.reason !== 'refused' && !refusedOutright(error) }),
		});
		if (outcome === 'deleted') return 'deleted';
		if (outcome === 'not-found') return 'ended';
		for (;;) {
			const state = await client.queue({ signal });
			if (!state.running.some((i) => i.promptId === promptId) && !state.pending.some((i) => i.promptId === promptId)) return 'ended';
			await sleep(INTERRUPT_POLL_MS, signal);
		}
	} catch {
		// No answer, or still running when time ran out (a stuck server): nothing more to learn.
		return 'unreachable';
	}
}

/** The server answered with a 4xx (credentials, a proxy rule): nothing was queued, and asking again cannot help. */
function refusedOutright(error: ComfyUiError): boolean {
	return error instanceof TransientServerError && error.status !== undefined && error.status >= 400 && error.status < 500;
}

function asComfyError(error: unknown, server: string, signal: AbortSignal): ComfyUiError {
	if (signal.aborted) return error instanceof CancelledError ? error : new CancelledError('The execution was cancelled', server);
	if (error instanceof OutputDownloadError) return asComfyError(error.cause, server, signal);
	if (error instanceof ComfyUiError) return error;
	const message = error instanceof Error ? error.message : String(error);
	return new TransientServerError(`Unexpected failure talking to ${server}: ${message}`, 'unexpected-response', server);
}
