/**
 * `ComfyUiClient`: everything this package says to one ComfyUI server (API.md is the ground truth).
 * One connection pool and one websocket per instance; see `watch.ts` for how a prompt is followed.
 */
import { createHash, randomUUID } from 'crypto';
import { Readable } from 'stream';
import { FormData, type Dispatcher } from 'undici';
import { declaredLength, readAtMost } from '../../util/bytes';
import { CancelledError, InvalidWorkflowError, TransientServerError } from '../errors';
import { parseServerAddress, routePath, webSocketUrl, type ServerAddress } from './address';
import { authHeaders, authSecrets } from './auth';
import { AmbiguousSubmitError, OutputTooLargeError } from './errors';
import { HttpTransport, networkReason } from './http';
import { extractOutputs, fileExtension, guessMimeType } from './outputs';
import { describeNodeErrors, flattenNodeErrors, parseHistoryEntry, parseQueue } from './parse';
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

export interface DownloadOptions {
	maxBytes?: number;
	signal?: AbortSignal;
	/** When (ms since epoch) the whole download must have ended, headers and body. */
	deadline?: number;
	/** Longest stretch without a byte of the body (default `TRANSFER_INACTIVITY_MS`). */
	inactivityMs?: number;
}

/** A download that sends nothing for this long has stalled (the deadline may end it sooner). */
export const TRANSFER_INACTIVITY_MS = 30_000;
/** How much of an error answer's body is read for the message. */
const ERROR_SNIPPET_BYTES = 4096;

/** Sub-folder of ComfyUI's `input/` that holds our uploads. */
export const UPLOAD_SUBFOLDER = 'n8n-cluster';

const SNIFFED_EXTENSIONS: Array<[number[], string]> = [
	[[0x89, 0x50, 0x4e, 0x47], 'png'],
	[[0xff, 0xd8, 0xff], 'jpg'],
	[[0x47, 0x49, 0x46, 0x38], 'gif'],
	[[0x42, 0x4d], 'bmp'],
];

/** File extension for an upload: the given name's, else sniffed from the bytes. */
export function uploadExtension(name: string, bytes: Buffer): string {
	const ext = fileExtension(name);
	if (/^[a-z0-9]{1,8}$/.test(ext)) return ext === 'jpeg' ? 'jpg' : ext;
	if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
	for (const [magic, sniffed] of SNIFFED_EXTENSIONS) if (magic.every((b, i) => bytes[i] === b)) return sniffed;
	return 'bin';
}

/** Content-addressed upload name: the same bytes always get the same name. */
export function contentHashName(bytes: Buffer, name: string): string {
	return `${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}.${uploadExtension(name, bytes)}`;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
	const value = headers[name];
	return Array.isArray(value) ? value[0] : value;
}

function seconds(ms: number): string {
	return `${Math.round(ms / 100) / 10} s`;
}

export class ComfyUiClient {
	/** Display address of the server, without credentials. */
	readonly server: string;
	readonly clientId: string;
	private readonly address: ServerAddress;
	private readonly http: HttpTransport;
	private readonly headers: Record<string, string>;
	private readonly requestTimeoutMs: number;
	private readonly objectInfoTtlMs: number;
	private readonly wsConnectTimeoutMs: number;
	private readonly useWebSocket: boolean;
	private readonly dispatcher?: Dispatcher;
	private readonly logger?: ClientLogger;
	private ws?: ComfySocket;
	private objectInfoCache?: { at: number; value: ObjectInfoMap };
	private objectInfoInFlight?: Promise<ObjectInfoMap>;
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
		this.objectInfoTtlMs = options.objectInfoTtlMs ?? 300_000;
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
				queue: (signal, timeoutMs) => this.readQueue(signal, timeoutMs),
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

	/**
	 * Cancels several prompts of this server: the pending ones leave the queue in one request before
	 * the running one is interrupted, so none of them starts only to be interrupted.
	 */
	async cancelMany(promptIds: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Map<string, CancelOutcome>> {
		const { signal } = options;
		const outcomes = new Map<string, CancelOutcome>(promptIds.map((id) => [id, 'not-found']));
		const state = await this.readQueue(signal);
		const pending = promptIds.filter((id) => state.pending.some((i) => i.promptId === id));
		const running = promptIds.filter((id) => state.running.some((i) => i.promptId === id));
		if (pending.length > 0) {
			await this.http.expectOk({ method: 'POST', route: '/queue', json: { delete: pending }, signal });
			for (const id of pending) outcomes.set(id, 'deleted');
		}
		for (const id of running) {
			await this.interrupt(id, signal);
			outcomes.set(id, 'interrupted');
		}
		if (pending.length > 0) {
			// Some may have started between the read and the delete.
			const after = await this.readQueue(signal);
			for (const id of pending) {
				if (!after.running.some((i) => i.promptId === id)) continue;
				await this.interrupt(id, signal);
				outcomes.set(id, 'interrupted');
			}
		}
		return outcomes;
	}

	/**
	 * Makes sure prompts we abandoned never run: deletes them from the queue and interrupts whichever
	 * of them runs, every request at once and without reading the queue first. A server that was
	 * stopped handles them, in the order they arrived, as soon as it resumes. Unknown ids are ignored.
	 */
	async purge(promptIds: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
		if (promptIds.length === 0) return;
		const { signal, timeoutMs } = options;
		await Promise.all([
			this.http.expectOk({ method: 'POST', route: '/queue', json: { delete: [...promptIds] }, signal, timeoutMs }),
			...promptIds.map((id) => this.http.expectOk({ method: 'POST', route: '/interrupt', json: { prompt_id: id }, signal, timeoutMs })),
		]);
	}

	/** Where a prompt is: used after an ambiguous submit. */
	async lookup(promptId: string, options: { signal?: AbortSignal } = {}): Promise<LookupOutcome> {
		const state = await this.readQueue(options.signal);
		if (state.running.some((i) => i.promptId === promptId)) return 'running';
		if (state.pending.some((i) => i.promptId === promptId)) return 'pending';
		return (await this.historyEntry(promptId, options.signal)) ? 'done' : 'unknown';
	}

	/** The history entry of a finished prompt; undefined while it is not finished or unknown. */
	history(promptId: string, options: { signal?: AbortSignal } = {}): Promise<HistoryEntry | undefined> {
		return this.historyEntry(promptId, options.signal);
	}

	async queueInfo(options: { signal?: AbortSignal } = {}): Promise<QueueInfo> {
		const body = await this.http.expectJson<{ exec_info?: { queue_remaining?: unknown } }>({ method: 'GET', route: '/prompt', signal: options.signal });
		const remaining = Number(body?.exec_info?.queue_remaining);
		return { queueRemaining: Number.isFinite(remaining) ? remaining : 0 };
	}

	queue(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<QueueState> {
		return this.readQueue(options.signal, options.timeoutMs);
	}

	async systemStats(options: { signal?: AbortSignal } = {}): Promise<SystemStats> {
		const body = await this.http.expectJson<Partial<SystemStats>>({ method: 'GET', route: '/system_stats', signal: options.signal });
		return { system: body.system ?? {}, devices: Array.isArray(body.devices) ? body.devices : [] };
	}

	/** The catalogue this client read within `objectInfoTtlMs`, without asking the server. */
	cachedObjectInfo(): ObjectInfoMap | undefined {
		const cached = this.objectInfoCache;
		return cached && Date.now() - cached.at < this.objectInfoTtlMs ? cached.value : undefined;
	}

	/** `/object_info`, cached for `objectInfoTtlMs`; concurrent callers share one request. */
	async objectInfo(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<ObjectInfoMap> {
		const cached = this.cachedObjectInfo();
		if (!options.force && cached) return cached;
		if (!options.force && this.objectInfoInFlight) return this.objectInfoInFlight;
		const request = this.http
			.expectJson<ObjectInfoMap>({
				method: 'GET',
				route: '/object_info',
				signal: options.signal,
				// Large installs take a while to list every node and model file.
				timeoutMs: Math.max(this.requestTimeoutMs, 60_000),
			})
			.then((value) => {
				this.objectInfoCache = { at: Date.now(), value };
				return value;
			})
			.finally(() => {
				if (this.objectInfoInFlight === request) this.objectInfoInFlight = undefined;
			});
		this.objectInfoInFlight = request;
		return request;
	}

	/** Asks the server to unload models and/or free memory after the current job. */
	free(options: { unloadModels?: boolean; freeMemory?: boolean; signal?: AbortSignal } = {}): Promise<void> {
		return this.http.expectOk({
			method: 'POST',
			route: '/free',
			json: { unload_models: options.unloadModels ?? false, free_memory: options.freeMemory ?? false },
			signal: options.signal,
		});
	}

	extractOutputs(history: HistoryEntry): OutputFile[] {
		return extractOutputs(history);
	}

	/** The `/view` address of an output file, for references (never carries credentials). */
	viewUrl(file: FileRef): string {
		const path = routePath(this.address, '/view', { filename: file.filename, subfolder: file.subfolder, type: file.type });
		return `${this.address.origin}${path}`;
	}

	/**
	 * Streams a file from `/view`. `maxBytes` is checked against a declared Content-Length and enforced
	 * while streaming; `deadline` bounds the whole download (headers and body), `inactivityMs` the
	 * stretches without a byte.
	 */
	async download(file: FileRef, options: DownloadOptions = {}): Promise<{ stream: Readable; size?: number; mimeType: string }> {
		const { maxBytes } = options;
		const left = options.deadline === undefined ? undefined : options.deadline - Date.now();
		if (left !== undefined && left <= 0) throw this.outOfTime(file);
		const deadline = left === undefined ? undefined : AbortSignal.timeout(left);
		const bounds = [options.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
		const signal = bounds.length > 1 ? AbortSignal.any(bounds) : bounds[0];
		const inactivityMs = Math.max(1, options.inactivityMs ?? TRANSFER_INACTIVITY_MS);
		const req = {
			method: 'GET' as const,
			route: '/view',
			query: { filename: file.filename, subfolder: file.subfolder, type: file.type },
			signal,
			bodyTimeoutMs: inactivityMs,
		};
		const server = this.server;
		const http = this.http;
		/** Why a transfer ended early, as the error a caller acts on. */
		const failure = (error: unknown): Error => {
			if (error instanceof OutputTooLargeError) return error;
			if (options.signal?.aborted) return new CancelledError(`Downloading "${file.filename}" from ${server} was cancelled.`, server);
			if (deadline?.aborted) return this.outOfTime(file);
			if (error instanceof TransientServerError) return error;
			if (networkReason(error) === 'timeout') {
				return new TransientServerError(`Downloading "${file.filename}" from ${server} stalled: no data for ${seconds(inactivityMs)}.`, 'timeout', server);
			}
			return new TransientServerError(
				http.clean(`Downloading "${file.filename}" from ${server} failed: ${error instanceof Error ? error.message : String(error)}.`),
				'reset',
				server,
			);
		};
		let response;
		try {
			response = await this.http.stream(req);
		} catch (error) {
			throw failure(error);
		}
		const body = response.body;
		const discard = () => {
			if (body.destroyed) return;
			body.on('error', () => undefined);
			body.destroy();
		};
		if (response.status !== 200) {
			let text = '';
			try {
				text = (await readAtMost(body, ERROR_SNIPPET_BYTES)).bytes.toString('utf8');
			} catch {
				// the status says enough
			}
			discard();
			this.http.throwIf5xx(response, req);
			const missing = response.status === 404 ? `the file "${file.filename}" is not there (temporary files vanish when the server restarts)` : text;
			throw this.http.unexpected(req, response.status, missing);
		}
		const size = declaredLength(response.headers);
		if (maxBytes !== undefined && size !== undefined && size > maxBytes) {
			discard();
			throw new OutputTooLargeError(file, maxBytes, this.server, size);
		}
		const contentType = header(response.headers, 'content-type')?.split(';')[0]?.trim();
		const mimeType = contentType && contentType !== 'application/octet-stream' ? contentType : guessMimeType(file.filename);
		async function* limited(): AsyncGenerator<Buffer> {
			let received = 0;
			try {
				for await (const chunk of body) {
					const buffer = chunk as Buffer;
					received += buffer.length;
					if (maxBytes !== undefined && received > maxBytes) throw new OutputTooLargeError(file, maxBytes, server);
					yield buffer;
				}
			} catch (error) {
				throw failure(error);
			} finally {
				discard();
			}
		}
		return { stream: Readable.from(limited(), { objectMode: false }), size, mimeType };
	}

	async downloadBuffer(file: FileRef, options: DownloadOptions = {}): Promise<Buffer> {
		const { stream } = await this.download(file, options);
		const chunks: Buffer[] = [];
		for await (const chunk of stream) chunks.push(chunk as Buffer);
		return Buffer.concat(chunks);
	}

	/**
	 * Puts an input image on the server under a content-hash name in our own sub-folder; skips the
	 * upload when the server already has that file.
	 */
	async uploadImage(bytes: Buffer, name: string, options: { signal?: AbortSignal } = {}): Promise<UploadResult> {
		const filename = contentHashName(bytes, name);
		const subfolder = UPLOAD_SUBFOLDER;
		const probeReq = { method: 'GET' as const, route: '/view', query: { filename, subfolder, type: 'input' }, signal: options.signal };
		const probe = await this.http.stream(probeReq);
		const length = header(probe.headers, 'content-length');
		await probe.body.dump().catch(() => undefined);
		this.http.throwIf5xx(probe, probeReq);
		if (probe.status === 200 && (length === undefined || Number(length) === bytes.length)) {
			return { name: filename, subfolder, type: 'input', reference: `${subfolder}/${filename}`, uploaded: false };
		}
		const form = new FormData();
		form.append('image', new Blob([bytes], { type: guessMimeType(filename) }), filename);
		form.append('type', 'input');
		form.append('subfolder', subfolder);
		// The name is the content hash: replacing a same-named file never changes its bytes.
		form.append('overwrite', 'true');
		const answer = await this.http.expectJson<{ name?: unknown; subfolder?: unknown; type?: unknown }>({
			method: 'POST',
			route: '/upload/image',
			form,
			signal: options.signal,
			timeoutMs: Math.max(this.requestTimeoutMs, 60_000),
		});
		const storedName = typeof answer.name === 'string' ? answer.name : filename;
		const storedFolder = typeof answer.subfolder === 'string' ? answer.subfolder : subfolder;
		const type = typeof answer.type === 'string' ? answer.type : 'input';
		return {
			name: storedName,
			subfolder: storedFolder,
			type,
			reference: storedFolder ? `${storedFolder}/${storedName}` : storedName,
			uploaded: true,
		};
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

	private async interrupt(promptId: string, signal?: AbortSignal): Promise<void> {
		await this.http.expectOk({ method: 'POST', route: '/interrupt', json: { prompt_id: promptId }, signal });
	}

	private async historyEntry(promptId: string, signal?: AbortSignal, timeoutMs?: number): Promise<HistoryEntry | undefined> {
		const body = await this.http.expectJson<unknown>({ method: 'GET', route: `/history/${encodeURIComponent(promptId)}`, signal, timeoutMs });
		return parseHistoryEntry(body, promptId);
	}

	private async readQueue(signal?: AbortSignal, timeoutMs?: number): Promise<QueueState> {
		const req = { method: 'GET' as const, route: '/queue', signal, timeoutMs };
		const body = await this.http.expectJson<unknown>(req);
		const state = parseQueue(body);
		if (!state) throw this.http.unexpected(req, 200, 'not a queue');
		return state;
	}

	private outOfTime(file: FileRef): TransientServerError {
		return new TransientServerError(
			`Downloading "${file.filename}" from ${this.server} did not finish before the attempt's time limit (Total Timeout) ran out.`,
			'total-timeout',
			this.server,
		);
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
