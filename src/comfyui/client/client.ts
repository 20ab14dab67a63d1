/**
 * `ComfyUiClient`: everything this package says to one ComfyUI server (API.md is the ground truth).
 * One connection pool and one websocket per instance. This module submits prompts and composes the
 * rest: `watch.ts` follows a prompt, `queueControl.ts` reads and steers the queue, `files.ts` moves
 * files, `catalogue.ts` caches `/object_info`.
 */
import { randomUUID } from 'crypto';
import type { Readable } from 'stream';
import type { Dispatcher } from 'undici';
import { CancelledError, InvalidWorkflowError, TransientServerError } from '../errors';
import { parseServerAddress, webSocketUrl, type ServerAddress } from './address';
import { authHeaders, authSecrets } from './auth';
import { ObjectInfoCatalogue } from './catalogue';
import { AmbiguousSubmitError } from './errors';
import { ServerFiles, type DownloadOptions } from './files';
import { HttpTransport } from './http';
import { extractOutputs } from './outputs';
import { describeNodeErrors, flattenNodeErrors, parseHistoryEntry } from './parse';
import { QueueControl } from './queueControl';
import { ComfySocket } from './socket';
import type {
	ApiGraph,
	CancelOutcome,
	ClientLogger,
	FileRef,
	HistoryEntry,
	LookupOutcome,
	ObjectInfoMap,
	OutputFile,
	QueueInfo,
	QueueState,
	ServerAuth,
	SubmitResult,
	SystemStats,
	UploadResult,
	WatchOptions,
	WatchResult,
} from './types';
import { watchPrompt } from './watch';

export { TRANSFER_INACTIVITY_MS, UPLOAD_SUBFOLDER, contentHashName, uploadExtension } from './files';
export type { DownloadOptions } from './files';

export interface ComfyUiClientOptions {
	url: string;
	auth?: ServerAuth;
	/** Stable id of this client's websocket; sent as `client_id` with every prompt. */
	clientId?: string;
	/** Timeout of every ordinary request (default 15 s). */
	requestTimeoutMs?: number;
	/** How long `/object_info` stays cached (default 5 min). */
	objectInfoTtlMs?: number;
	/** Longest wait for the websocket before a submit goes ahead without it (default 3 s). */
	webSocketConnectTimeoutMs?: number;
	/** False: never open a websocket, follow prompts by polling only. */
	useWebSocket?: boolean;
	dispatcher?: Dispatcher;
	logger?: ClientLogger;
}

export interface SubmitOptions {
	/** Our own id (default: a fresh lowercase UUID, which every server version accepts). */
	promptId?: string;
	/** The `client_id` sent with the prompt (default: this client's, whose websocket hears its progress). */
	clientId?: string;
	front?: boolean;
	number?: number;
	extraData?: Record<string, unknown>;
	signal?: AbortSignal;
}

export class ComfyUiClient {
	/** Display address of the server, without credentials. */
	readonly server: string;
	readonly clientId: string;
	private readonly address: ServerAddress;
	private readonly http: HttpTransport;
	private readonly headers: Record<string, string>;
	private readonly requestTimeoutMs: number;
	private readonly wsConnectTimeoutMs: number;
	private readonly useWebSocket: boolean;
	private readonly dispatcher?: Dispatcher;
	private readonly logger?: ClientLogger;
	private readonly queueControl: QueueControl;
	private readonly catalogue: ObjectInfoCatalogue;
	private readonly files: ServerFiles;
	private ws?: ComfySocket;
	private closed = false;
	/** Submit times of recent prompts, for watch timings. */
	private readonly submittedAt = new Map<string, number>();

	constructor(options: ComfyUiClientOptions) {
		this.address = parseServerAddress(options.url);
		this.server = this.address.display;
		const auth: ServerAuth =
			options.auth && options.auth.type !== 'none'
				? options.auth
				: this.address.userInfo
					? { type: 'basic', user: this.address.userInfo.user, password: this.address.userInfo.password }
					: { type: 'none' };
		this.headers = authHeaders(auth);
		this.clientId = options.clientId ?? randomUUID();
		this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
		this.wsConnectTimeoutMs = options.webSocketConnectTimeoutMs ?? 3000;
		this.useWebSocket = options.useWebSocket !== false;
		this.dispatcher = options.dispatcher;
		this.logger = options.logger;
		this.http = new HttpTransport({
			address: this.address,
			headers: this.headers,
			secrets: authSecrets(auth),
			requestTimeoutMs: this.requestTimeoutMs,
			dispatcher: options.dispatcher,
		});
		this.queueControl = new QueueControl(this.http);
		this.catalogue = new ObjectInfoCatalogue(this.http, options.objectInfoTtlMs ?? 300_000, this.requestTimeoutMs);
		this.files = new ServerFiles({ server: this.server, address: this.address, http: this.http, requestTimeoutMs: this.requestTimeoutMs });
	}

	/** True while the shared websocket is open. */
	get webSocketOpen(): boolean {
		return this.ws?.isOpen ?? false;
	}

	/**
	 * Queues `graph`. Waits briefly for the websocket first, as the server drops messages for sockets
	 * that are not connected yet. Throws InvalidWorkflowError on HTTP 400, AmbiguousSubmitError when
	 * the request went out but no answer came back.
	 */
	async submit(graph: ApiGraph | Record<string, unknown>, options: SubmitOptions = {}): Promise<SubmitResult> {
		this.assertOpen();
		const promptId = options.promptId ?? randomUUID();
		if (this.useWebSocket) {
			const open = await this.socket().ensureOpen(this.wsConnectTimeoutMs);
			if (!open) this.logger?.debug('Submitting without websocket; progress comes from polling', { server: this.server });
		}
		if (options.signal?.aborted) throw new CancelledError(`Submitting to ${this.server} was cancelled.`, this.server);
		const body: Record<string, unknown> = { prompt: graph, client_id: options.clientId ?? this.clientId, prompt_id: promptId };
		if (options.number !== undefined) body.number = options.number;
		else if (options.front) body.front = true;
		if (options.extraData) body.extra_data = options.extraData;
		const req = { method: 'POST' as const, route: '/prompt', json: body, signal: options.signal };
		const submittedAt = Date.now();
		let answer;
		try {
			answer = await this.http.request(req);
		} catch (error) {
			if (error instanceof TransientServerError && error.reason !== 'refused') {
				throw new AmbiguousSubmitError(
					this.http.clean(
						`ComfyUI at ${this.server} ${error.reason === 'timeout' ? 'did not answer' : 'dropped the connection'} while prompt ${promptId} was being submitted; it may or may not have been queued.`,
					),
					promptId,
					error.reason,
					this.server,
				);
			}
			throw error;
		}
		this.http.throwIf5xx(answer, req);
		let parsed: Record<string, unknown> | undefined;
		try {
			const value: unknown = JSON.parse(answer.text);
			if (typeof value === 'object' && value !== null) parsed = value as Record<string, unknown>;
		} catch {
			parsed = undefined;
		}
		if (answer.status === 400 && parsed) throw this.invalidWorkflow(parsed);
		if (answer.status !== 200 || !parsed || typeof parsed.prompt_id !== 'string') {
			throw this.http.unexpected(req, answer.status, answer.text);
		}
		this.rememberSubmit(parsed.prompt_id, submittedAt);
		return {
			// Servers older than 2025-07 ignore our id; theirs is the one that counts.
			promptId: parsed.prompt_id,
			number: typeof parsed.number === 'number' ? parsed.number : Number(parsed.number) || 0,
			nodeErrors: (typeof parsed.node_errors === 'object' && parsed.node_errors !== null ? parsed.node_errors : {}) as SubmitResult['nodeErrors'],
		};
	}

	/** Starts opening the websocket ahead of the first submit (which otherwise waits for it). */
	warmUp(): void {
		if (this.useWebSocket && !this.closed) void this.socket().ensureOpen(this.wsConnectTimeoutMs);
	}

	/** When the server last sent anything on the websocket (0: never), a sign of life between probes. */
	lastHeardAt(): number {
		return this.ws?.heardAt ?? 0;
	}

	/** Follows a prompt to its end; see `watch.ts`. */
	watch(promptId: string, options: WatchOptions = {}): Promise<WatchResult> {
		this.assertOpen();
		const useSocket = this.useWebSocket && options.useWebSocket !== false;
		const submittedAt = options.submittedAt ?? this.submittedAt.get(promptId);
		this.submittedAt.delete(promptId);
		return watchPrompt(
			{
				server: this.server,
				socket: useSocket ? this.socket() : undefined,
				history: (id, signal, timeoutMs) => this.historyEntry(id, signal, timeoutMs),
				queue: (signal, timeoutMs) => this.queueControl.read(signal, timeoutMs),
				requestTimeoutMs: this.requestTimeoutMs,
				logger: this.logger,
			},
			promptId,
			{ ...options, submittedAt },
		);
	}

	/** Removes a pending prompt from the queue, or interrupts it when it is running. */
	async cancel(promptId: string, options: { signal?: AbortSignal } = {}): Promise<CancelOutcome> {
		return (await this.cancelMany([promptId], options)).get(promptId)!;
	}

	/** Cancels several prompts of this server, the pending before the running; see `queueControl.ts`. */
	async cancelMany(promptIds: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Map<string, CancelOutcome>> {
		return this.queueControl.cancelMany(promptIds, options.signal);
	}

	/** Makes sure prompts we abandoned never run, without reading the queue first; see `queueControl.ts`. */
	async purge(promptIds: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
		return this.queueControl.purge(promptIds, options);
	}

	/** Where a prompt is: used after an ambiguous submit. */
	async lookup(promptId: string, options: { signal?: AbortSignal } = {}): Promise<LookupOutcome> {
		const state = await this.queueControl.read(options.signal);
		if (state.running.some((i) => i.promptId === promptId)) return 'running';
		if (state.pending.some((i) => i.promptId === promptId)) return 'pending';
		return (await this.historyEntry(promptId, options.signal)) ? 'done' : 'unknown';
	}

	/** The history entry of a finished prompt; undefined while it is not finished or unknown. */
	history(promptId: string, options: { signal?: AbortSignal } = {}): Promise<HistoryEntry | undefined> {
		return this.historyEntry(promptId, options.signal);
	}

	async queueInfo(options: { signal?: AbortSignal } = {}): Promise<QueueInfo> {
		return this.queueControl.info(options.signal);
	}

	queue(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<QueueState> {
		return this.queueControl.read(options.signal, options.timeoutMs);
	}

	async systemStats(options: { signal?: AbortSignal } = {}): Promise<SystemStats> {
		const body = await this.http.expectJson<Partial<SystemStats>>({ method: 'GET', route: '/system_stats', signal: options.signal });
		return { system: body.system ?? {}, devices: Array.isArray(body.devices) ? body.devices : [] };
	}

	/** The catalogue this client read within `objectInfoTtlMs`, without asking the server. */
	cachedObjectInfo(): ObjectInfoMap | undefined {
		return this.catalogue.cached();
	}

	/** `/object_info`, cached for `objectInfoTtlMs`; concurrent callers share one request (see `catalogue.ts`). */
	async objectInfo(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<ObjectInfoMap> {
		return this.catalogue.read(options);
	}

	/** Asks the server to unload models and/or free memory after the current job. */
	free(options: { unloadModels?: boolean; freeMemory?: boolean; signal?: AbortSignal } = {}): Promise<void> {
		return this.queueControl.free(options);
	}

	extractOutputs(history: HistoryEntry): OutputFile[] {
		return extractOutputs(history);
	}

	/** The `/view` address of an output file, for references (never carries credentials). */
	viewUrl(file: FileRef): string {
		return this.files.viewUrl(file);
	}

	/** Streams a file from `/view` within `maxBytes`, `deadline` and `inactivityMs`; see `files.ts`. */
	async download(file: FileRef, options: DownloadOptions = {}): Promise<{ stream: Readable; size?: number; mimeType: string }> {
		return this.files.download(file, options);
	}

	async downloadBuffer(file: FileRef, options: DownloadOptions = {}): Promise<Buffer> {
		return this.files.downloadBuffer(file, options);
	}

	/** Puts an input image on the server under a content-hash name, unless it is there already; see `files.ts`. */
	async uploadImage(bytes: Buffer, name: string, options: { signal?: AbortSignal } = {}): Promise<UploadResult> {
		return this.files.uploadImage(bytes, name, options);
	}

	/** Closes the websocket and the connection pool. */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.ws?.close();
		await this.http.close();
	}

	private socket(): ComfySocket {
		this.ws ??= new ComfySocket({
			url: webSocketUrl(this.address, this.clientId),
			headers: this.headers,
			dispatcher: this.dispatcher,
			logger: this.logger,
			connectTimeoutMs: this.wsConnectTimeoutMs,
			server: this.server,
		});
		return this.ws;
	}

	private rememberSubmit(promptId: string, at: number): void {
		this.submittedAt.set(promptId, at);
		// Prompts that are never watched must not pile up.
		if (this.submittedAt.size > 1000) {
			for (const [id, when] of this.submittedAt) if (at - when > 3_600_000 || this.submittedAt.size > 1000) this.submittedAt.delete(id);
		}
	}

	private assertOpen(): void {
		if (this.closed) throw new Error(`The ComfyUI client for ${this.server} is closed.`);
	}

	private async historyEntry(promptId: string, signal?: AbortSignal, timeoutMs?: number): Promise<HistoryEntry | undefined> {
		const body = await this.http.expectJson<unknown>({ method: 'GET', route: `/history/${encodeURIComponent(promptId)}`, signal, timeoutMs });
		return parseHistoryEntry(body, promptId);
	}

	private invalidWorkflow(body: Record<string, unknown>): InvalidWorkflowError {
		const error = body.error;
		const top = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
		const message = typeof top.message === 'string' ? top.message : typeof error === 'string' ? error : 'The workflow is invalid';
		const details = typeof top.details === 'string' && top.details !== '' ? top.details : undefined;
		const type = typeof top.type === 'string' ? top.type : undefined;
		const nodeErrors = flattenNodeErrors(body.node_errors);
		const text = nodeErrors.length
			? `ComfyUI at ${this.server} rejected the workflow: ${message}. ${describeNodeErrors(nodeErrors)}.`
			: `ComfyUI at ${this.server} rejected the workflow: ${message}${details ? ` (${details})` : ''}.`;
		return new InvalidWorkflowError(this.http.clean(text), nodeErrors, this.server, type);
	}
}
