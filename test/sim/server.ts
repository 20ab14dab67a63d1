import { randomUUID, createHash } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'http';
import type { Socket } from 'net';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { tmpdir } from 'os';
import { join, resolve, sep, relative, posix, basename, extname } from 'path';
import { WebSocket, WebSocketServer } from 'ws';
import { Catalogue, classDef, defaultCatalogue, InputSpec, NodeClassDef, ObjectInfoEntry } from './catalogue';
import {
	contentTypeFor,
	hostPart,
	isLoopbackHost,
	parseJson,
	parseMultipart,
	readBody,
	send500,
	sendEmpty,
	sendJson,
	sendText,
	seededRandom,
} from './http-util';
import { encodePng, encodeWebp, pngSize } from './media';
import { isSimValue, NodeIo, NodeResult, NodeRuntimeError, runNode, SimValue } from './nodes';
import { isLink, Prompt, validatePrompt } from './validate';

export interface HttpErrorRule {
	routes: string[] | '*';
	/** Only these methods (default: all). */
	methods?: string[];
	status?: number;
	rate: number;
	/** The error body echoes the request's credentials (see `authEcho`). */
	echoAuth?: boolean;
	/** `Retry-After` header value sent with the error (seconds or an HTTP date). */
	retryAfter?: string;
}
export interface ExecutionErrorRule {
	nodeClass?: string;
	nodeId?: string;
	message?: string;
	exceptionType?: string;
	/** The exception message echoes the credentials of the request that queued the prompt (see `authEcho`). */
	echoAuth?: boolean;
}
export interface MemoryPressure {
	vramFree?: number;
	ramFree?: number;
}

/** How `/view` misbehaves for the output and temp files whose name contains `match` (every one without it). */
export interface ViewFault {
	match?: string;
	/** Answer with this many bytes: the file's own, then zeros, generated while sending (never held in memory). */
	size?: number;
	/** Leave out Content-Length (chunked), so only the bytes received tell the size. */
	undeclared?: boolean;
	/** After the headers, one byte every this many ms. */
	dripMs?: number;
	/** Take the request and never send the headers. */
	hangHeaders?: boolean;
}

/** Answers the matching routes with a valid JSON body of `bytes` bytes, generated while sending. */
export interface HugeJsonRule {
	routes: string[] | '*';
	bytes: number;
	/** Leave out Content-Length (chunked). */
	undeclared?: boolean;
}

export interface SimulatorFaults {
	hang?: boolean;
	httpErrors?: HttpErrorRule | null;
	executionError?: ExecutionErrorRule | null;
	memoryPressure?: MemoryPressure | null;
	ambiguousSubmit?: number;
	/** The first rule that matches a file decides how its download misbehaves. */
	view?: ViewFault[] | null;
	hugeJson?: HugeJsonRule | null;
}

export interface SimulatorOptions {
	host?: string;
	port?: number;
	name?: string;
	speed?: number;
	msPerStep?: number;
	classCostMs?: Record<string, number>;
	catalogue?: Catalogue;
	models?: { checkpoints?: string[]; loras?: string[]; vae?: string[]; upscale_models?: string[] };
	memory?: { vramTotal?: number; vramFree?: number; ramTotal?: number; ramFree?: number };
	basePath?: string;
	requireAuth?: { header: string; value: string };
	faults?: SimulatorFaults;
	/** seed of the RNG behind fault rates (default 1) */
	seed?: number;
	/** reported device: a CUDA GPU (default) or the CPU as in the recordings (`index: null`) */
	device?: 'cuda' | 'cpu';
	/** folder holding input/, output/, temp/ (default: a fresh temp folder removed on stop) */
	dataDir?: string;
}

type QueueItem = [number, string, Prompt, Record<string, unknown>, string[]];

interface HistoryEntry {
	prompt: QueueItem;
	outputs: Record<string, unknown>;
	status: { status_str: 'success' | 'error'; completed: boolean; messages: Array<[string, Record<string, unknown>]> };
	meta: Record<string, { node_id: string; display_node: string; parent_node: null; real_node_id: string }>;
}

interface ClientSocket {
	ws: WebSocket;
	sid: string;
	previewMetadata: boolean;
	gotFirstMessage: boolean;
}

export interface SimulatorRecords {
	prompts: Array<{ promptId: string; clientId?: string; number: number; receivedAt: number; prompt: Record<string, unknown>; front: boolean }>;
	started: string[];
	/** how each run ended, when, and how many files it wrote to output/ (an interrupted run may have written some) */
	finished: Array<{ promptId: string; status: 'success' | 'error' | 'interrupted'; at: number; outputs: number }>;
	deleted: string[];
	interrupted: string[];
	uploads: string[];
	frees: number;
	peakActive: number;
	/** Prompts queued or running after every change of that count, with the time (ms) it changed. */
	activity: Array<{ at: number; active: number }>;
	/** clientId of every websocket that connected, in order */
	wsClients: string[];
}

const DEFAULT_CLASS_COST: Record<string, number> = { VAEDecode: 20, CheckpointLoaderSimple: 10, SaveImage: 5 };
const GB = 1024 ** 3;
const MODEL_FOLDERS = [
	'checkpoints', 'configs', 'loras', 'vae', 'text_encoders', 'diffusion_models', 'clip_vision', 'style_models', 'embeddings', 'diffusers',
	'vae_approx', 'controlnet', 'gligen', 'upscale_models', 'custom_nodes', 'hypernetworks', 'photomaker', 'classifiers', 'model_patches', 'audio_encoders',
];

type PauseResult = 'ok' | 'interrupt' | 'dead';
/** A timer that fires this much later than due means the process was stopped, not just busy. */
const STALL_MS = 500;

/**
 * A ComfyUI 0.3.64 look-alike: the same routes (also under /api), JSON shapes, websocket message order,
 * one worker per server, real output files, and switches for the faults a cluster must survive.
 */
export class ComfyUiSimulator {
	readonly name: string;
	readonly records: SimulatorRecords = { prompts: [], started: [], finished: [], deleted: [], interrupted: [], uploads: [], frees: 0, peakActive: 0, activity: [], wsClients: [] };
	private readonly opts: SimulatorOptions;
	private readonly catalogue: Catalogue;
	private readonly host: string;
	private readonly basePath: string;
	private readonly dataDir: string;
	private readonly ownsDataDir: boolean;
	private readonly random: () => number;
	private server: Server | null = null;
	private wss: WebSocketServer | null = null;
	private sockets = new Set<Socket>();
	private clients = new Map<string, ClientSocket>();
	private allClients = new Set<ClientSocket>();
	private boundPort = 0;
	private epoch = 0;
	private down = false;
	private stopped = false;

	// server state (lost on restart)
	private counter = 0;
	private pending: QueueItem[] = [];
	private running: QueueItem | null = null;
	private runningNode: string | null = null;
	private history = new Map<string, HistoryEntry>();
	private cache = new Map<string, NodeResult>();
	private freeMemoryPending = false;
	private interruptFlag = false;
	/** Work (cost ms) the running prompt's last pause did beyond what it asked (a late timer). */
	private overrun = 0;
	private wakers = new Set<() => void>();

	// faults
	private speed: number;
	private hang = false;
	private httpErrors: HttpErrorRule | null = null;
	private executionError: ExecutionErrorRule | null = null;
	private memoryPressure: MemoryPressure | null = null;
	private ambiguousSubmits = 0;
	/** What each prompt's exception will echo, kept only while an echoing execution error is set. */
	private authEchoes = new Map<string, string>();
	private viewFaults: ViewFault[] = [];
	private hugeJson: HugeJsonRule | null = null;

	private constructor(opts: SimulatorOptions) {
		this.opts = opts;
		this.name = opts.name ?? 'comfyui-sim';
		this.catalogue = opts.catalogue ?? defaultCatalogue();
		this.host = opts.host ?? '127.0.0.1';
		this.basePath = (opts.basePath ?? '').replace(/\/+$/, '');
		this.speed = opts.speed ?? 1;
		this.random = seededRandom(opts.seed ?? 1);
		this.ownsDataDir = !opts.dataDir;
		this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'comfyui-sim-'));
		for (const d of ['input', 'output', 'temp']) mkdirSync(join(this.dataDir, d), { recursive: true });
		const f = opts.faults ?? {};
		this.hang = f.hang ?? false;
		this.httpErrors = f.httpErrors ?? null;
		this.executionError = f.executionError ?? null;
		this.memoryPressure = f.memoryPressure ?? null;
		this.ambiguousSubmits = f.ambiguousSubmit ?? 0;
		this.viewFaults = f.view ?? [];
		this.hugeJson = f.hugeJson ?? null;
	}

	static async start(options: SimulatorOptions = {}): Promise<ComfyUiSimulator> {
		const sim = new ComfyUiSimulator(options);
		await sim.listen(options.port ?? 0);
		return sim;
	}

	get port(): number {
		return this.boundPort;
	}

	get url(): string {
		const h = this.host.includes(':') ? `[${this.host}]` : this.host;
		return `http://${h}:${this.boundPort}${this.basePath}`;
	}

	/** Folder with input/, output/ and temp/. */
	get directory(): string {
		return this.dataDir;
	}

	activePromptIds(): string[] {
		return [...(this.running ? [this.running[1]] : []), ...this.sortedPending().map((i) => i[1])];
	}

	// ------------------------------------------------------------------ lifecycle and faults

	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		await this.goDown();
		if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
	}

	crash(): void {
		void this.goDown();
	}

	async restart(downMs = 0): Promise<void> {
		if (this.stopped) throw new Error('simulator stopped');
		await this.goDown();
		if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
		if (this.stopped) return;
		this.resetState();
		rmSync(join(this.dataDir, 'temp'), { recursive: true, force: true });
		mkdirSync(join(this.dataDir, 'temp'), { recursive: true });
		await this.listen(this.boundPort);
	}

	setHang(on: boolean): void {
		this.hang = on;
		this.wake();
	}

	setSpeed(speed: number): void {
		if (!(speed > 0)) throw new Error('speed must be > 0');
		this.speed = speed;
		this.wake(); // a running pause recomputes its remaining time
	}

	setHttpErrors(rule: HttpErrorRule | null): void {
		this.httpErrors = rule;
	}

	dropWebSockets(): void {
		for (const c of this.allClients) c.ws.terminate();
	}

	setExecutionError(rule: ExecutionErrorRule | null): void {
		this.executionError = rule;
	}

	setMemoryPressure(p: MemoryPressure | null): void {
		this.memoryPressure = p;
	}

	setAmbiguousSubmit(count: number): void {
		this.ambiguousSubmits = Math.max(0, Math.floor(count));
	}

	setViewFaults(rules: ViewFault[] | null): void {
		this.viewFaults = rules ?? [];
	}

	setHugeJson(rule: HugeJsonRule | null): void {
		this.hugeJson = rule;
	}

	private resetState(): void {
		this.counter = 0;
		this.pending = [];
		this.running = null;
		this.runningNode = null;
		this.history.clear();
		this.cache.clear();
		this.freeMemoryPending = false;
		this.interruptFlag = false;
		this.authEchoes.clear();
		this.recordActivity();
	}

	private async listen(port: number): Promise<void> {
		const server = createServer((req, res) => {
			this.handle(req, res).catch(() => {
				if (!res.headersSent) send500(res);
				else res.destroy();
			});
		});
		server.keepAliveTimeout = 5000;
		server.on('connection', (s: Socket) => {
			this.sockets.add(s);
			s.on('close', () => this.sockets.delete(s));
		});
		const wss = new WebSocketServer({ noServer: true });
		server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.handleUpgrade(wss, req, socket, head));
		await new Promise<void>((resolvePromise, reject) => {
			server.once('error', reject);
			server.listen(port, this.host, () => {
				server.off('error', reject);
				resolvePromise();
			});
		});
		const addr = server.address();
		this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
		this.server = server;
		this.wss = wss;
		this.down = false;
		this.epoch++;
		void this.workerLoop(this.epoch);
	}

	private async goDown(): Promise<void> {
		if (this.down) return;
		this.down = true;
		this.epoch++;
		this.wake();
		const server = this.server;
		this.server = null;
		for (const c of this.allClients) c.ws.terminate();
		this.allClients.clear();
		this.clients.clear();
		for (const s of this.sockets) s.destroy();
		this.sockets.clear();
		this.wss?.close();
		this.wss = null;
		if (server) {
			server.closeAllConnections?.();
			await new Promise<void>((r) => server.close(() => r()));
		}
	}

	// ------------------------------------------------------------------ routing

	private routePath(rawPath: string): string | null {
		let p = rawPath;
		if (this.basePath) {
			if (p !== this.basePath && !p.startsWith(this.basePath + '/')) return null;
			p = p.slice(this.basePath.length) || '/';
		}
		if (p === '/api' || p.startsWith('/api/')) p = p.slice(4) || '/';
		return p;
	}

	private authorised(req: IncomingMessage): boolean {
		const rule = this.opts.requireAuth;
		if (!rule) return true;
		return req.headers[rule.header.toLowerCase()] === rule.value;
	}

	/** aiohttp origin-only middleware: loopback Host with a different Origin is refused. */
	private originRefused(req: IncomingMessage): boolean {
		const origin = req.headers.origin;
		const hostHeader = req.headers.host;
		if (!origin || !hostHeader) return false;
		const h = hostPart(hostHeader);
		const o = hostPart(origin);
		if (!h || !o) return false;
		return isLoopbackHost(h.hostname) && h.host !== o.host;
	}

	private handleUpgrade(wss: WebSocketServer, req: IncomingMessage, socket: Socket, head: Buffer): void {
		const url = new URL(req.url ?? '/', 'http://x');
		const path = this.routePath(url.pathname);
		const refuse = (status: number, text: string): void => {
			socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
		};
		if (this.down) return void socket.destroy();
		if (path !== '/ws') return refuse(404, 'Not Found');
		if (!this.authorised(req)) return refuse(401, 'Unauthorized');
		if (this.originRefused(req)) return refuse(403, 'Forbidden');
		wss.handleUpgrade(req, socket, head, (ws) => this.onWsConnect(ws, url.searchParams.get('clientId') || randomUUID().replace(/-/g, '')));
	}

	private onWsConnect(ws: WebSocket, sid: string): void {
		const client: ClientSocket = { ws, sid, previewMetadata: false, gotFirstMessage: false };
		this.records.wsClients.push(sid);
		this.clients.set(sid, client);
		this.allClients.add(client);
		ws.on('close', () => {
			this.allClients.delete(client);
			// as the real server: the close pops the sid even if a newer socket took it over
			this.clients.delete(sid);
		});
		ws.on('error', () => undefined);
		ws.on('message', (data, isBinary) => {
			if (client.gotFirstMessage) return;
			client.gotFirstMessage = true;
			if (isBinary) return;
			const parsed = parseJson(Buffer.from(data as Buffer));
			if (!parsed.ok) return;
			const msg = parsed.value as { type?: string; data?: { supports_preview_metadata?: boolean } };
			if (msg?.type === 'feature_flags') {
				client.previewMetadata = msg.data?.supports_preview_metadata === true;
				this.sendTo(client, 'feature_flags', { supports_preview_metadata: true, max_upload_size: 104857600 });
			}
		});
		this.sendTo(client, 'status', { status: this.queueInfo(), sid });
		if (this.running && this.running[3].client_id === sid && this.runningNode) {
			this.sendTo(client, 'executing', { node: this.runningNode });
		}
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://x');
		const path = this.routePath(url.pathname);
		const method = req.method ?? 'GET';
		if (!this.authorised(req)) return sendText(res, 401, '401: Unauthorized');
		if (this.originRefused(req)) return sendEmpty(res, 403);
		if (path === null) return sendText(res, 404, '404: Not Found');
		if (this.httpErrors && this.matchesRule(this.httpErrors, method, path) && this.random() < this.httpErrors.rate) {
			const status = this.httpErrors.status ?? 500;
			if (this.httpErrors.retryAfter !== undefined) res.setHeader('Retry-After', this.httpErrors.retryAfter);
			if (this.httpErrors.echoAuth) return sendText(res, status, `${status}: Simulated error; ${this.authEcho(req.headers)}`);
			return status === 500 ? send500(res) : sendText(res, status, `${status}: Simulated error`);
		}
		if (this.hugeJson && method === 'GET' && this.matchesRule(this.hugeJson, method, path)) return sendHugeJson(res, this.hugeJson);
		const key = `${method} ${path}`;
		switch (key) {
			case 'GET /prompt':
				return sendJson(res, 200, this.queueInfo());
			case 'POST /prompt':
				return this.postPrompt(req, res);
			case 'GET /queue':
				return sendJson(res, 200, { queue_running: this.running ? [this.running] : [], queue_pending: [...this.pending] });
			case 'POST /queue':
				return this.withJson(req, res, (b) => this.postQueue(b, res));
			case 'GET /history':
				return sendJson(res, 200, this.historySlice(url.searchParams));
			case 'POST /history':
				return this.withJson(req, res, (b) => {
					const body = (b ?? {}) as { clear?: unknown; delete?: unknown };
					if (body.clear) this.history.clear();
					if (Array.isArray(body.delete)) for (const id of body.delete) this.history.delete(String(id));
					sendEmpty(res);
				});
			case 'POST /interrupt':
				return this.postInterrupt(req, res);
			case 'POST /free':
				return this.withJson(req, res, (b) => {
					const body = (b ?? {}) as { free_memory?: unknown; unload_models?: unknown };
					this.records.frees++;
					if (body.free_memory) this.freeMemoryPending = true;
					sendEmpty(res);
				});
			case 'GET /system_stats':
				return sendJson(res, 200, this.systemStats());
			case 'GET /object_info':
				return sendJson(res, 200, Object.fromEntries(Object.keys(this.catalogue).map((k) => [k, this.objectInfo(k)])));
			case 'GET /features':
				return sendJson(res, 200, { supports_preview_metadata: true, max_upload_size: 104857600 });
			case 'GET /models':
				return sendJson(res, 200, MODEL_FOLDERS);
			case 'GET /extensions':
				return sendJson(res, 200, []);
			case 'GET /embeddings':
				return sendJson(res, 200, []);
			case 'GET /view':
				return this.view(req, res, url.searchParams);
			case 'POST /upload/image':
				return this.upload(req, res);
		}
		if (method === 'GET' && path.startsWith('/history/')) {
			const id = decodeURIComponent(path.slice('/history/'.length));
			const entry = this.history.get(id);
			return sendJson(res, 200, entry ? { [id]: entry } : {});
		}
		if (method === 'GET' && path.startsWith('/object_info/')) {
			const cls = decodeURIComponent(path.slice('/object_info/'.length));
			return sendJson(res, 200, classDef(this.catalogue, cls) ? { [cls]: this.objectInfo(cls) } : {});
		}
		if (method === 'GET' && path.startsWith('/models/')) {
			const folder = decodeURIComponent(path.slice('/models/'.length));
			if (!MODEL_FOLDERS.includes(folder)) return sendEmpty(res, 404);
			const models = this.opts.models as Record<string, string[] | undefined> | undefined;
			return sendJson(res, 200, models?.[folder] ?? []);
		}
		return sendText(res, 404, '404: Not Found');
	}

	/**
	 * A server that echoes the credentials it was sent (a debugging proxy, a custom node dumping its
	 * request): the auth header raw, inside a JSON dump (escaped), as base64 of that dump and URL-encoded.
	 */
	private authEcho(headers: IncomingHttpHeaders): string {
		const name = (this.opts.requireAuth?.header ?? 'authorization').toLowerCase();
		const value = String(headers[name] ?? '');
		const dump = JSON.stringify({ [name]: value });
		return `${name}: ${value}; headers ${dump}; trace ${Buffer.from(dump).toString('base64')}; replay ?${name}=${encodeURIComponent(value)}`;
	}

	private matchesRule(rule: { routes: string[] | '*'; methods?: string[] }, method: string, path: string): boolean {
		if (rule.methods && !rule.methods.includes(method)) return false;
		if (rule.routes === '*') return true;
		return rule.routes.some((r) => {
			const norm = r.replace(/^\/api(?=\/)/, '');
			return norm.endsWith('*') ? path.startsWith(norm.slice(0, -1)) : path === norm;
		});
	}

	private async withJson(req: IncomingMessage, res: ServerResponse, fn: (body: unknown) => void | Promise<void>): Promise<void> {
		const body = await readBody(req);
		if (body === 'too-large') return sendText(res, 413, 'Request Entity Too Large');
		const parsed = parseJson(body);
		if (!parsed.ok) return send500(res);
		await fn(parsed.value);
	}

	// ------------------------------------------------------------------ route handlers

	private queueInfo(): { exec_info: { queue_remaining: number } } {
		return { exec_info: { queue_remaining: this.pending.length + (this.running ? 1 : 0) } };
	}

	private async postPrompt(req: IncomingMessage, res: ServerResponse): Promise<void> {
		return this.withJson(req, res, (raw) => {
			const body = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
			let number: number;
			if ('number' in body) number = Number(body.number);
			else {
				number = this.counter;
				if ('front' in body && body.front) number = -number;
				this.counter++;
			}
			if (!('prompt' in body)) {
				return sendJson(res, 400, { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} });
			}
			const prompt = body.prompt;
			const promptId = 'prompt_id' in body ? pyStr(body.prompt_id) : randomUUID();
			const partial = Array.isArray(body.partial_execution_targets) ? body.partial_execution_targets.map(String) : undefined;
			const result = validatePrompt(prompt, {
				catalogue: this.catalogue,
				partialTargets: partial,
				comboOptions: (def, name, spec) => this.comboOptions(def, name, spec),
				customValidate: (def, name, value) => this.customValidate(def, name, value),
			});
			const extra: Record<string, unknown> = body.extra_data && typeof body.extra_data === 'object' ? { ...(body.extra_data as Record<string, unknown>) } : {};
			if ('client_id' in body) extra.client_id = body.client_id;
			if (!result.ok) return sendJson(res, 400, { error: result.error, node_errors: result.nodeErrors });
			const item: QueueItem = [number, promptId, prompt as Prompt, extra, result.outputs];
			if (this.executionError?.echoAuth) this.authEchoes.set(promptId, this.authEcho(req.headers));
			this.records.prompts.push({
				promptId,
				clientId: typeof extra.client_id === 'string' ? extra.client_id : undefined,
				number,
				receivedAt: Date.now(),
				prompt: prompt as Record<string, unknown>,
				front: !('number' in body) && Boolean(body.front),
			});
			this.pending.push(item);
			this.broadcastStatus();
			this.wake();
			if (this.ambiguousSubmits > 0) {
				this.ambiguousSubmits--;
				req.socket.destroy();
				return;
			}
			sendJson(res, 200, { prompt_id: promptId, number, node_errors: result.nodeErrors });
		});
	}

	private postQueue(raw: unknown, res: ServerResponse): void {
		const body = (raw ?? {}) as { clear?: unknown; delete?: unknown };
		if (body.clear) {
			for (const item of this.pending) this.records.deleted.push(item[1]);
			this.pending = [];
			this.broadcastStatus();
		}
		if (Array.isArray(body.delete)) {
			for (const id of body.delete) {
				const i = this.pending.findIndex((it) => it[1] === String(id));
				if (i >= 0) {
					this.pending.splice(i, 1);
					this.records.deleted.push(String(id));
					this.broadcastStatus();
				}
			}
		}
		sendEmpty(res);
	}

	private async postInterrupt(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const body = await readBody(req);
		let target: string | undefined;
		if (body !== 'too-large' && body.length > 0) {
			const parsed = parseJson(body);
			if (parsed.ok && parsed.value && typeof parsed.value === 'object' && 'prompt_id' in parsed.value) {
				target = String((parsed.value as { prompt_id: unknown }).prompt_id);
			}
		}
		const runningId = this.running?.[1];
		if (target === undefined) {
			this.interruptFlag = true;
			if (runningId) this.records.interrupted.push(runningId);
		} else if (runningId === target) {
			this.interruptFlag = true;
			this.records.interrupted.push(target);
		}
		this.wake();
		sendEmpty(res);
	}

	private historySlice(q: URLSearchParams): Record<string, HistoryEntry> {
		let entries = [...this.history.entries()];
		const offset = Number(q.get('offset') ?? '');
		if (Number.isFinite(offset) && offset > 0) entries = entries.slice(offset);
		const max = Number(q.get('max_items') ?? '');
		if (q.has('max_items') && Number.isFinite(max)) entries = max > 0 ? entries.slice(-max) : [];
		return Object.fromEntries(entries);
	}

	private systemStats(): unknown {
		const m = this.opts.memory ?? {};
		const vramTotal = m.vramTotal ?? 24 * GB;
		const ramTotal = m.ramTotal ?? 64 * GB;
		const vramFree = this.memoryPressure?.vramFree ?? m.vramFree ?? Math.round(vramTotal * 0.9);
		const ramFree = this.memoryPressure?.ramFree ?? m.ramFree ?? Math.round(ramTotal * 0.75);
		return {
			system: {
				os: 'posix',
				ram_total: ramTotal,
				ram_free: ramFree,
				comfyui_version: '0.3.64',
				required_frontend_version: '1.27.10',
				installed_templates_version: null,
				required_templates_version: '0.1.95',
				python_version: '3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]',
				pytorch_version: '2.8.0+cu128',
				embedded_python: false,
				argv: ['main.py', '--listen', this.host, '--port', String(this.boundPort)],
			},
			devices: [
				{
					...(this.opts.device === 'cpu' ? { name: 'cpu', type: 'cpu', index: null } : { name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync', type: 'cuda', index: 0 }),
					vram_total: vramTotal,
					vram_free: vramFree,
					torch_vram_total: vramTotal,
					torch_vram_free: vramFree,
				},
			],
		};
	}

	private objectInfo(cls: string): ObjectInfoEntry {
		const def = classDef(this.catalogue, cls)!;
		const info: ObjectInfoEntry = JSON.parse(JSON.stringify(def.info));
		for (const [name, source] of Object.entries(def.dynamicCombos ?? {})) {
			const spec = info.input.required?.[name] ?? info.input.optional?.[name];
			if (spec) spec[0] = this.comboSourceValues(source);
		}
		return info;
	}

	private comboSourceValues(source: string): string[] {
		if (source === 'input_images') return this.inputFiles();
		const models = (this.opts.models ?? {}) as Record<string, string[] | undefined>;
		return [...(models[source] ?? [])];
	}

	private comboOptions(def: NodeClassDef, name: string, spec: InputSpec): string[] | null {
		const dyn = def.dynamicCombos?.[name];
		if (dyn) return this.comboSourceValues(dyn);
		const type = spec[0];
		if (Array.isArray(type)) return type.map(String);
		if (type === 'COMBO') {
			const opts = (spec[1] ?? {}) as { options?: unknown[] };
			return Array.isArray(opts.options) ? opts.options.map(String) : null;
		}
		return null;
	}

	private customValidate(def: NodeClassDef, name: string, value: unknown): string | null {
		if (def.behaviour === 'load-image' && name === 'image') {
			return this.resolveAnnotated(String(value), 'input') ? null : `Invalid image file: ${String(value)}`;
		}
		return null;
	}

	/** Files in input/ (with subfolder paths), sorted, as LoadImage's combo. */
	private inputFiles(): string[] {
		const root = join(this.dataDir, 'input');
		const out: string[] = [];
		const walk = (dir: string, prefix: string): void => {
			for (const e of readdirSync(dir, { withFileTypes: true })) {
				if (e.isDirectory()) walk(join(dir, e.name), prefix + e.name + '/');
				else if (e.isFile()) out.push(prefix + e.name);
			}
		};
		if (existsSync(root)) walk(root, '');
		return out.sort();
	}

	/** "name.png [output]" / "sub/name.png" → absolute path if that file exists inside the folder. */
	private resolveAnnotated(name: string, defaultType: 'input' | 'output' | 'temp'): string | null {
		let type = defaultType;
		let file = name;
		const m = / \[(input|output|temp)\]$/.exec(name);
		if (m) {
			type = m[1] as typeof type;
			file = name.slice(0, -m[0].length);
		}
		const base = join(this.dataDir, type);
		const full = resolve(base, file);
		if (!full.startsWith(base + sep)) return null;
		try {
			return statSync(full).isFile() ? full : null;
		} catch {
			return null;
		}
	}

	private async view(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
		if (!q.has('filename')) return sendEmpty(res, 404);
		let filename = q.get('filename') ?? '';
		let type = q.get('type') ?? 'output';
		const m = / \[(input|output|temp)\]$/.exec(filename);
		if (m) {
			type = m[1];
			filename = filename.slice(0, -m[0].length);
		}
		if (!filename || filename.startsWith('/') || filename.includes('..')) return sendEmpty(res, 400);
		if (!['output', 'input', 'temp'].includes(type)) return sendEmpty(res, 400);
		let dir = join(this.dataDir, type);
		if (q.has('subfolder')) {
			const full = resolve(dir, q.get('subfolder') ?? '');
			const rel = relative(dir, full);
			if (rel.startsWith('..') || resolve(full) !== full.replace(/[/\\]$/, '')) return sendEmpty(res, 403);
			dir = full;
		}
		const name = basename(filename);
		const file = join(dir, name);
		let bytes: Buffer;
		try {
			if (!statSync(file).isFile()) return sendEmpty(res, 404);
			bytes = readFileSync(file);
		} catch {
			return sendEmpty(res, 404);
		}
		const fault = type === 'input' ? undefined : this.viewFaults.find((f) => f.match === undefined || name.includes(f.match));
		if (fault) return faultyView(res, bytes, contentTypeFor(name), fault);
		let contentType = contentTypeFor(name);
		const preview = q.get('preview');
		const channel = q.get('channel');
		const size = pngSize(bytes) ?? { width: 64, height: 64 };
		if (preview) {
			// Re-encoding as the real server does (fmt not webp/jpeg → webp); the simulator answers webp.
			bytes = encodeWebp({ ...size, color: 0x808080 });
			contentType = 'image/webp';
		} else if (channel === 'rgb' || channel === 'a') {
			bytes = channel === 'a' ? encodePng({ ...size, color: 0xffffff }) : bytes;
			contentType = 'image/png';
		}
		const headers: Record<string, string | number> = {
			'Content-Type': contentType,
			'Content-Disposition': `filename="${name}"`,
			'Accept-Ranges': 'bytes',
			'Last-Modified': statSync(file).mtime.toUTCString(),
		};
		const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
		if (range && (range[1] || range[2])) {
			const start = range[1] ? Number(range[1]) : Math.max(0, bytes.length - Number(range[2]));
			const end = range[1] && range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
			if (start >= bytes.length || start > end) {
				res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
				return void res.end();
			}
			const chunk = bytes.subarray(start, end + 1);
			res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': chunk.length });
			return void res.end(chunk);
		}
		res.writeHead(200, { ...headers, 'Content-Length': bytes.length });
		res.end(bytes);
	}

	private async upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const body = await readBody(req);
		if (body === 'too-large') return sendText(res, 413, 'Request Entity Too Large');
		const parts = parseMultipart(body, String(req.headers['content-type'] ?? ''));
		if (!parts) return sendEmpty(res, 400);
		const field = (n: string): string | undefined => {
			const p = parts.find((x) => x.name === n && x.filename === undefined);
			return p ? p.data.toString('utf8') : undefined;
		};
		const image = parts.find((p) => p.name === 'image' && p.filename !== undefined);
		const typeField = field('type') ?? 'input';
		if (!['input', 'temp', 'output'].includes(typeField)) return send500(res);
		if (!image || !image.filename) return sendEmpty(res, 400);
		const subfolder = field('subfolder') ?? '';
		const overwrite = field('overwrite');
		const uploadDir = join(this.dataDir, typeField);
		const folder = resolve(uploadDir, posix.normalize(subfolder || '.'));
		let filename = basename(image.filename);
		let filepath = resolve(folder, filename);
		if (!filepath.startsWith(uploadDir + sep)) return sendEmpty(res, 400);
		mkdirSync(folder, { recursive: true });
		let duplicate = false;
		if (!(overwrite === 'true' || overwrite === '1')) {
			const ext = extname(filename);
			const stem = filename.slice(0, filename.length - ext.length);
			let i = 1;
			while (existsSync(filepath)) {
				if (sha(readFileSync(filepath)) === sha(image.data)) {
					duplicate = true;
					break;
				}
				filename = `${stem} (${i})${ext}`;
				filepath = join(folder, filename);
				i++;
			}
		}
		if (!duplicate) writeFileSync(filepath, image.data);
		this.records.uploads.push(subfolder ? `${subfolder}/${filename}` : filename);
		sendJson(res, 200, { name: filename, subfolder, type: typeField });
	}

	// ------------------------------------------------------------------ websocket sending

	private sendTo(client: ClientSocket, type: string, data: unknown): void {
		if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify({ type, data }));
	}

	/** send_sync: to the socket of `sid`, or to every socket when sid is undefined. */
	private send(sid: string | undefined, type: string, data: unknown): void {
		if (sid === undefined) {
			for (const c of this.allClients) this.sendTo(c, type, data);
			return;
		}
		const c = this.clients.get(sid);
		if (c) this.sendTo(c, type, data);
	}

	/** Sent after every change of the queue. */
	private broadcastStatus(): void {
		this.recordActivity();
		this.send(undefined, 'status', { status: this.queueInfo() });
	}

	private recordActivity(): void {
		const active = this.pending.length + (this.running ? 1 : 0);
		this.records.peakActive = Math.max(this.records.peakActive, active);
		if (this.records.activity.at(-1)?.active !== active) this.records.activity.push({ at: Date.now(), active });
	}

	// ------------------------------------------------------------------ worker

	private wake(): void {
		const ws = [...this.wakers];
		this.wakers.clear();
		for (const w of ws) w();
	}

	private waitForChange(): Promise<void> {
		return new Promise((r) => this.wakers.add(r));
	}

	private sortedPending(): QueueItem[] {
		return [...this.pending].sort((a, b) => a[0] - b[0]);
	}

	private async workerLoop(epoch: number): Promise<void> {
		while (epoch === this.epoch) {
			if (this.pending.length === 0) {
				await this.waitForChange();
				continue;
			}
			const next = this.sortedPending()[0];
			this.pending.splice(this.pending.indexOf(next), 1);
			this.running = next;
			this.interruptFlag = false;
			this.broadcastStatus();
			this.records.started.push(next[1]);
			try {
				await this.execute(next, epoch);
			} catch {
				// a crash mid-run: the process "died", nothing more is sent
			}
			if (epoch !== this.epoch) return;
		}
	}

	/** Sleep for `cost` ms of work at the current speed; wakes early on interrupt, hang and shutdown. */
	private async pause(costMs: number, epoch: number): Promise<PauseResult> {
		// Work a late timer did beyond the previous pause counts toward this one: a prompt's steps add
		// up to its cost, as on a GPU, instead of each step adding the timer's lateness.
		let remaining = costMs - this.overrun;
		this.overrun = 0;
		for (;;) {
			if (epoch !== this.epoch) return 'dead';
			if (this.hang) {
				await this.waitForChange();
				continue;
			}
			if (this.interruptFlag) return 'interrupt';
			if (remaining <= 0) {
				this.overrun = -remaining;
				return 'ok';
			}
			const started = Date.now();
			const speed = this.speed;
			const ms = remaining / speed;
			let timer: NodeJS.Timeout | undefined;
			await new Promise<void>((r) => {
				const done = (): void => {
					if (timer) clearTimeout(timer);
					this.wakers.delete(done);
					r();
				};
				timer = setTimeout(done, ms);
				this.wakers.add(done);
			});
			const elapsed = Date.now() - started;
			// A process that was stopped (SIGSTOP) and resumed wakes long after its timer was due:
			// a GPU does no work while its process is stopped, so that stretch counts for nothing and
			// the step resumes where it was.
			if (elapsed > ms + STALL_MS) continue;
			remaining -= elapsed * speed;
		}
	}

	private nodeSignature(prompt: Prompt, id: string, memo: Map<string, string>, stack: Set<string> = new Set()): string {
		const known = memo.get(id);
		if (known) return known;
		const node = prompt[id];
		stack.add(id);
		const inputs: Record<string, unknown> = {};
		for (const k of Object.keys(node.inputs ?? {}).sort()) {
			const v = node.inputs[k];
			inputs[k] = isLink(v) && !stack.has(String(v[0])) ? ['link', this.nodeSignature(prompt, String(v[0]), memo, stack), v[1]] : v;
		}
		let changed = '';
		const def = classDef(this.catalogue, node.class_type);
		if (def?.behaviour === 'load-image') {
			const f = this.resolveAnnotated(String(node.inputs?.image ?? ''), 'input');
			changed = f ? sha(readFileSync(f)) : 'missing';
		}
		stack.delete(id);
		const sig = sha(Buffer.from(JSON.stringify([node.class_type, inputs, changed])));
		memo.set(id, sig);
		return sig;
	}

	/** Nodes needed by the outputs, dependencies first (output order, then depth-first). */
	private executionOrder(prompt: Prompt, outputs: string[]): string[] {
		const order: string[] = [];
		const seen = new Set<string>();
		const visit = (id: string): void => {
			if (seen.has(id) || !prompt[id]) return;
			seen.add(id);
			for (const v of Object.values(prompt[id].inputs ?? {})) if (isLink(v)) visit(String(v[0]));
			order.push(id);
		};
		for (const o of outputs) visit(o);
		return order;
	}

	private async execute(item: QueueItem, epoch: number): Promise<void> {
		const [, promptId, prompt, extra, outputs] = item;
		this.overrun = 0;
		const sid = typeof extra.client_id === 'string' ? extra.client_id : undefined;
		const messages: Array<[string, Record<string, unknown>]> = [];
		const alive = (): boolean => epoch === this.epoch;
		const addMessage = (type: string, data: Record<string, unknown>, broadcast = false): void => {
			const d = { ...data, timestamp: Date.now() };
			messages.push([type, d]);
			if (sid !== undefined || broadcast) this.send(sid, type, d);
		};
		/** messages sent with the prompt's sid: not at all when the prompt has no client */
		const toClient = (type: string, data: Record<string, unknown>): void => {
			if (sid !== undefined) this.send(sid, type, data);
		};
		/** progress and progress_state: to the client, or broadcast when there is none */
		const toClientOrAll = (type: string, data: Record<string, unknown>): void => this.send(sid, type, data);

		addMessage('execution_start', { prompt_id: promptId });
		if (this.freeMemoryPending) {
			this.cache.clear();
			this.freeMemoryPending = false;
		}
		const order = this.executionOrder(prompt, outputs);
		const memo = new Map<string, string>();
		const sigs = new Map(order.map((id) => [id, this.nodeSignature(prompt, id, memo)]));
		// classic cache: keep only what this prompt uses
		const keep = new Set(sigs.values());
		for (const k of [...this.cache.keys()]) if (!keep.has(k)) this.cache.delete(k);
		const cached = order.filter((id) => this.cache.has(sigs.get(id)!));
		addMessage('execution_cached', { nodes: cached, prompt_id: promptId });

		const states: Record<string, Record<string, unknown>> = {};
		const sendStates = (): void => toClientOrAll('progress_state', { prompt_id: promptId, nodes: JSON.parse(JSON.stringify(states)) });
		const setState = (id: string, value: number, max: number, state: string): void => {
			states[id] = { value, max, state, node_id: id, prompt_id: promptId, display_node_id: id, parent_node_id: null, real_node_id: id };
		};
		const results = new Map<string, NodeResult>();
		const executed: string[] = [];
		const ui: Record<string, unknown> = {};
		const pngText: Record<string, string> = { prompt: JSON.stringify(prompt) };
		const pnginfo = extra.extra_pnginfo;
		if (pnginfo && typeof pnginfo === 'object') for (const [k, v] of Object.entries(pnginfo)) pngText[k] = JSON.stringify(v);

		type Outcome = { kind: 'success' } | { kind: 'interrupted'; node: string } | { kind: 'error'; node: string; message: string; exceptionType: string; inputs: Record<string, unknown> };
		let outcome: Outcome = { kind: 'success' };
		let outputFiles = 0;
		for (const id of order) {
			const node = prompt[id];
			const def = classDef(this.catalogue, node.class_type)!;
			const sig = sigs.get(id)!;
			const hit = this.cache.get(sig);
			if (hit) {
				results.set(id, hit);
				executed.push(id);
				if (hit.ui) {
					ui[id] = hit.ui;
					toClient('executed', { node: id, display_node: id, output: hit.ui, prompt_id: promptId });
					setState(id, 1, 1, 'finished');
					sendStates();
				}
				continue;
			}
			if (this.hang) {
				const r = await this.pause(0, epoch);
				if (r === 'dead') return;
			}
			if (!alive()) return;
			if (this.interruptFlag) {
				outcome = { kind: 'interrupted', node: id };
				break;
			}
			setState(id, 0, 1, 'running');
			sendStates();
			this.runningNode = id;
			toClient('executing', { node: id, display_node: id, prompt_id: promptId });
			const inputs: Record<string, unknown> = {};
			for (const [k, v] of Object.entries(node.inputs ?? {})) inputs[k] = isLink(v) ? results.get(String(v[0]))?.outputs[v[1]] : v;

			const steps = def.stepsInput ? Math.max(0, Math.floor(Number(node.inputs?.[def.stepsInput]) || 0)) : 0;
			const msPerStep = this.opts.msPerStep ?? 50;
			const costs = this.opts.classCostMs ?? {};
			const fixed = Object.hasOwn(costs, node.class_type) ? costs[node.class_type] : Object.hasOwn(DEFAULT_CLASS_COST, node.class_type) ? DEFAULT_CLASS_COST[node.class_type] : 2;
			let stop: PauseResult = 'ok';
			if (steps > 0) {
				const preview = node.inputs?.send_preview === true || def.behaviour === 'sampler';
				for (let s = 1; s <= steps && stop === 'ok'; s++) {
					stop = await this.pause(msPerStep, epoch);
					if (stop !== 'ok') break;
					setState(id, s, steps, 'running');
					sendStates();
					if (preview && node.inputs?.send_preview === true) this.sendPreview(sid, promptId, id, true);
					toClientOrAll('progress', { value: s, max: steps, prompt_id: promptId, node: id });
					if (preview && node.inputs?.send_preview === true) this.sendPreview(sid, promptId, id, false);
				}
			}
			if (stop === 'ok') stop = await this.pause(fixed, epoch);
			if (stop === 'dead') return;
			if (stop === 'interrupt') {
				outcome = { kind: 'interrupted', node: id };
				break;
			}
			const rule = this.executionError;
			if (rule && (rule.nodeId === undefined || rule.nodeId === id) && (rule.nodeClass === undefined || rule.nodeClass === node.class_type)) {
				const echo = rule.echoAuth ? ` (${this.authEchoes.get(promptId) ?? 'no credentials'})` : '';
				outcome = { kind: 'error', node: id, message: `${rule.message ?? 'Simulated failure'}${echo}`, exceptionType: rule.exceptionType ?? 'RuntimeError', inputs };
				break;
			}
			let result: NodeResult;
			try {
				result = runNode(def.behaviour, inputs, this.nodeIo(() => outputFiles++), pngText);
			} catch (e) {
				const err = e instanceof NodeRuntimeError ? e : new NodeRuntimeError(e instanceof Error ? e.message : String(e), 'Exception');
				outcome = { kind: 'error', node: id, message: err.message, exceptionType: err.exceptionType, inputs };
				break;
			}
			results.set(id, result);
			this.cache.set(sig, result);
			executed.push(id);
			if (result.ui) {
				ui[id] = result.ui;
				toClient('executed', { node: id, display_node: id, output: result.ui, prompt_id: promptId });
			}
			setState(id, steps > 0 ? steps : 1, steps > 0 ? steps : 1, 'finished');
			sendStates();
		}
		if (!alive()) return;
		this.runningNode = null;

		let statusStr: 'success' | 'error' = 'success';
		let recordStatus: 'success' | 'error' | 'interrupted' = 'success';
		if (outcome.kind === 'success') {
			addMessage('execution_success', { prompt_id: promptId });
		} else if (outcome.kind === 'interrupted') {
			statusStr = 'error';
			recordStatus = 'interrupted';
			const n = outcome.node;
			addMessage('execution_interrupted', { prompt_id: promptId, node_id: n, node_type: prompt[n].class_type, executed: [...executed] }, true);
		} else {
			statusStr = 'error';
			recordStatus = 'error';
			const n = outcome.node;
			addMessage('execution_error', {
				prompt_id: promptId,
				node_id: n,
				node_type: prompt[n].class_type,
				executed: [...executed],
				exception_message: outcome.message,
				exception_type: outcome.exceptionType,
				traceback: [
					'  File "/srv/ComfyUI/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
					`  File "/srv/ComfyUI/nodes.py", line 1, in ${prompt[n].class_type}\n    raise ${outcome.exceptionType}(...)\n`,
				],
				current_inputs: Object.fromEntries(Object.entries(outcome.inputs).map(([k, v]) => [k, [isSimValue(v) ? describeTensor(v) : v]])),
				current_outputs: [...order].reverse(),
			});
		}
		const meta: HistoryEntry['meta'] = {};
		for (const id of Object.keys(ui)) meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
		this.authEchoes.delete(promptId);
		// the real server keeps the newest entry last; re-using an id moves it
		this.history.delete(promptId);
		this.history.set(promptId, {
			prompt: item,
			outputs: ui,
			status: { status_str: statusStr, completed: statusStr === 'success', messages },
			meta,
		});
		while (this.history.size > 10000) this.history.delete(this.history.keys().next().value as string);
		this.running = null;
		this.records.finished.push({ promptId, status: recordStatus, at: Date.now(), outputs: outputFiles });
		this.broadcastStatus();
		toClient('executing', { node: null, prompt_id: promptId });
	}

	/** Binary preview frame: type 1 (JPEG/PNG) to legacy sockets, type 4 with metadata to sockets that asked. */
	private sendPreview(sid: string | undefined, promptId: string, nodeId: string, metadataPhase: boolean): void {
		const targets = sid === undefined ? [...this.allClients] : [this.clients.get(sid)].filter((c): c is ClientSocket => !!c);
		const png = encodePng({ width: 8, height: 8, color: 0x336699 });
		for (const c of targets) {
			if (c.ws.readyState !== WebSocket.OPEN) continue;
			if (c.previewMetadata && metadataPhase) {
				const meta = Buffer.from(JSON.stringify({ node_id: nodeId, prompt_id: promptId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId, image_type: 'image/png' }));
				const head = Buffer.alloc(8);
				head.writeUInt32BE(4, 0);
				head.writeUInt32BE(meta.length, 4);
				c.ws.send(Buffer.concat([head, meta, png]));
			} else if (!c.previewMetadata && !metadataPhase) {
				const head = Buffer.alloc(8);
				head.writeUInt32BE(1, 0);
				head.writeUInt32BE(2, 4); // PNG
				c.ws.send(Buffer.concat([head, png]));
			}
		}
	}

	private nodeIo(onOutputFile?: () => void): NodeIo {
		const dirOf = (type: string, subfolder: string): string => join(this.dataDir, type, subfolder);
		return {
			nextCounter: (type, subfolder, prefix) => {
				const dir = dirOf(type, subfolder);
				let max = 0;
				if (existsSync(dir)) {
					for (const f of readdirSync(dir)) {
						if (!f.startsWith(prefix + '_')) continue;
						const m = /^_(\d{5,})_?\./.exec(f.slice(prefix.length));
						if (m) max = Math.max(max, Number(m[1]));
					}
				}
				return max + 1;
			},
			writeFile: (type, subfolder, filename, bytes) => {
				const dir = dirOf(type, subfolder);
				mkdirSync(dir, { recursive: true });
				const full = join(dir, filename);
				writeFileSync(full, bytes);
				if (type === 'output') onOutputFile?.();
				return full;
			},
			readInput: (name) => {
				const f = this.resolveAnnotated(name, 'input');
				return f ? readFileSync(f) : null;
			},
			randomLetters: (n) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join(''),
		};
	}
}

const FILL_CHUNK = Buffer.alloc(256 * 1024);

/** `total` bytes: `own` first, then zeros; with `dripMs` one byte at a time. */
async function* generatedBody(own: Buffer, total: number, dripMs?: number): AsyncGenerator<Buffer> {
	let sent = 0;
	if (dripMs) {
		for (; sent < total; sent++) {
			if (sent > 0) await new Promise((r) => setTimeout(r, dripMs));
			yield Buffer.from([sent < own.length ? own[sent] : 0]);
		}
		return;
	}
	if (own.length > 0) {
		const head = own.subarray(0, total);
		sent = head.length;
		yield head;
	}
	while (sent < total) {
		const n = Math.min(FILL_CHUNK.length, total - sent);
		sent += n;
		yield n === FILL_CHUNK.length ? FILL_CHUNK : FILL_CHUNK.subarray(0, n);
	}
}

/** A `/view` answer as a fault rule shapes it: never-ending headers, a drip, or a generated size. */
async function faultyView(res: ServerResponse, own: Buffer, contentType: string, fault: ViewFault): Promise<void> {
	if (fault.hangHeaders) return new Promise<void>((r) => res.once('close', () => r()));
	const total = fault.size ?? own.length;
	const headers: Record<string, string | number> = { 'Content-Type': contentType };
	if (!fault.undeclared) headers['Content-Length'] = total;
	res.writeHead(200, headers);
	res.flushHeaders();
	await pipeline(Readable.from(generatedBody(own, total, fault.dripMs)), res).catch(() => undefined);
}

/** A valid JSON object of `bytes` bytes (`{"padding":"xxx…"}`), generated while sending. */
async function sendHugeJson(res: ServerResponse, rule: HugeJsonRule): Promise<void> {
	const head = Buffer.from('{"padding":"');
	const tail = Buffer.from('"}');
	const fill = Buffer.alloc(256 * 1024, 'x');
	const total = Math.max(rule.bytes, head.length + tail.length);
	async function* body(): AsyncGenerator<Buffer> {
		yield head;
		let left = total - head.length - tail.length;
		while (left > 0) {
			const n = Math.min(fill.length, left);
			left -= n;
			yield n === fill.length ? fill : fill.subarray(0, n);
		}
		yield tail;
	}
	const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8' };
	if (!rule.undeclared) headers['Content-Length'] = total;
	res.writeHead(200, headers);
	await pipeline(Readable.from(body()), res).catch(() => undefined);
}

function sha(b: Buffer): string {
	return createHash('sha256').update(b).digest('hex');
}

/** Python's str() for the values a client may send as prompt_id. */
function pyStr(v: unknown): string {
	if (v === null) return 'None';
	if (v === true) return 'True';
	if (v === false) return 'False';
	return typeof v === 'string' ? v : JSON.stringify(v);
}

function describeTensor(v: SimValue): string {
	return `tensor(<${v.batch}x${v.height}x${v.width}x3>)`;
}
