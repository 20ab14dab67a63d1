/**
 * Decides how each HTTP request and websocket connection is answered: base path and /api prefix,
 * auth and origin checks, the route table, and the handlers of the queue, history and info routes.
 */
import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import type { Socket } from 'net';
import type { WebSocket, WebSocketServer } from 'ws';
import { Catalogue, classDef } from './catalogue';
import type { Executor } from './executor';
import { sendHugeJson, type Faults } from './faults';
import type { DataFiles } from './files';
import type { ServerInfo } from './info';
import { hostPart, isLoopbackHost, parseJson, readBody, send500, sendEmpty, sendJson, sendText } from './http-util';
import type { PromptQueue } from './queue';
import type { ClientSocket, Sockets } from './sockets';
import type { HistoryEntry, QueueItem, SimulatorOptions, SimulatorRecords } from './types';
import { Prompt, validatePrompt } from './validate';

const MODEL_FOLDERS = [
	'checkpoints', 'configs', 'loras', 'vae', 'text_encoders', 'diffusion_models', 'clip_vision', 'style_models', 'embeddings', 'diffusers',
	'vae_approx', 'controlnet', 'gligen', 'upscale_models', 'custom_nodes', 'hypernetworks', 'photomaker', 'classifiers', 'model_patches', 'audio_encoders',
];

export interface RouteParts {
	opts: SimulatorOptions;
	catalogue: Catalogue;
	basePath: string;
	records: SimulatorRecords;
	queue: PromptQueue;
	sockets: Sockets;
	faults: Faults;
	files: DataFiles;
	executor: Executor;
	info: ServerInfo;
	/** The server is down (crashed, restarting or stopped): upgrades are dropped. */
	isDown(): boolean;
}

/** The HTTP and websocket side of one simulated server. */
export class Routes {
	constructor(private readonly p: RouteParts) {}

	private routePath(rawPath: string): string | null {
		let path = rawPath;
		const basePath = this.p.basePath;
		if (basePath) {
			if (path !== basePath && !path.startsWith(basePath + '/')) return null;
			path = path.slice(basePath.length) || '/';
		}
		if (path === '/api' || path.startsWith('/api/')) path = path.slice(4) || '/';
		return path;
	}

	private authorised(req: IncomingMessage): boolean {
		const rule = this.p.opts.requireAuth;
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

	handleUpgrade(wss: WebSocketServer, req: IncomingMessage, socket: Socket, head: Buffer): void {
		const url = new URL(req.url ?? '/', 'http://x');
		const path = this.routePath(url.pathname);
		const refuse = (status: number, text: string): void => {
			socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
		};
		if (this.p.isDown()) return void socket.destroy();
		if (path !== '/ws') return refuse(404, 'Not Found');
		if (!this.authorised(req)) return refuse(401, 'Unauthorized');
		if (this.originRefused(req)) return refuse(403, 'Forbidden');
		wss.handleUpgrade(req, socket, head, (ws) => this.onWsConnect(ws, url.searchParams.get('clientId') || randomUUID().replace(/-/g, '')));
	}

	private onWsConnect(ws: WebSocket, sid: string): void {
		const { records, sockets, queue } = this.p;
		const client: ClientSocket = { ws, sid, previewMetadata: false, gotFirstMessage: false };
		records.wsClients.push(sid);
		sockets.add(client);
		ws.on('close', () => sockets.remove(client));
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
				sockets.sendTo(client, 'feature_flags', { supports_preview_metadata: true, max_upload_size: 104857600 });
			}
		});
		sockets.sendTo(client, 'status', { status: queue.info(), sid });
		if (queue.running && queue.running[3].client_id === sid && queue.runningNode) {
			sockets.sendTo(client, 'executing', { node: queue.runningNode });
		}
	}

	async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const { queue, faults, files, catalogue, info } = this.p;
		const url = new URL(req.url ?? '/', 'http://x');
		const path = this.routePath(url.pathname);
		const method = req.method ?? 'GET';
		if (!this.authorised(req)) return sendText(res, 401, '401: Unauthorized');
		if (this.originRefused(req)) return sendEmpty(res, 403);
		if (path === null) return sendText(res, 404, '404: Not Found');
		if (faults.failRequest(req, res, method, path)) return;
		const huge = faults.hugeJsonFor(method, path);
		if (huge) return sendHugeJson(res, huge);
		const key = `${method} ${path}`;
		switch (key) {
			case 'GET /prompt':
				return sendJson(res, 200, queue.info());
			case 'POST /prompt':
				return this.postPrompt(req, res);
			case 'GET /queue':
				return sendJson(res, 200, { queue_running: queue.running ? [queue.running] : [], queue_pending: [...queue.pending] });
			case 'POST /queue':
				return this.withJson(req, res, (b) => this.postQueue(b, res));
			case 'GET /history':
				return sendJson(res, 200, this.historySlice(url.searchParams));
			case 'POST /history':
				return this.withJson(req, res, (b) => {
					const body = (b ?? {}) as { clear?: unknown; delete?: unknown };
					if (body.clear) queue.history.clear();
					if (Array.isArray(body.delete)) for (const id of body.delete) queue.history.delete(String(id));
					sendEmpty(res);
				});
			case 'POST /interrupt':
				return this.postInterrupt(req, res);
			case 'POST /free':
				return this.withJson(req, res, (b) => {
					const body = (b ?? {}) as { free_memory?: unknown; unload_models?: unknown };
					this.p.records.frees++;
					this.p.executor.requestFree(pyTruthy(body.unload_models), pyTruthy(body.free_memory));
					sendEmpty(res);
				});
			case 'GET /system_stats':
				return sendJson(res, 200, info.systemStats());
			case 'GET /object_info':
				return sendJson(res, 200, Object.fromEntries(Object.keys(catalogue).map((k) => [k, info.objectInfo(k)])));
			case 'GET /features':
				return sendJson(res, 200, { supports_preview_metadata: true, max_upload_size: 104857600 });
			case 'GET /models':
				return sendJson(res, 200, MODEL_FOLDERS);
			case 'GET /extensions':
				return sendJson(res, 200, []);
			case 'GET /embeddings':
				return sendJson(res, 200, []);
			case 'GET /view':
				return files.view(req, res, url.searchParams);
			case 'POST /upload/image':
				return files.upload(req, res);
		}
		if (method === 'GET' && path.startsWith('/history/')) {
			const id = decodeURIComponent(path.slice('/history/'.length));
			const entry = queue.history.get(id);
			return sendJson(res, 200, entry ? { [id]: entry } : {});
		}
		if (method === 'GET' && path.startsWith('/object_info/')) {
			const cls = decodeURIComponent(path.slice('/object_info/'.length));
			return sendJson(res, 200, classDef(catalogue, cls) ? { [cls]: info.objectInfo(cls) } : {});
		}
		if (method === 'GET' && path.startsWith('/models/')) {
			const folder = decodeURIComponent(path.slice('/models/'.length));
			if (!MODEL_FOLDERS.includes(folder)) return sendEmpty(res, 404);
			const models = this.p.opts.models as Record<string, string[] | undefined> | undefined;
			return sendJson(res, 200, models?.[folder] ?? []);
		}
		return sendText(res, 404, '404: Not Found');
	}

	private async withJson(req: IncomingMessage, res: ServerResponse, fn: (body: unknown) => void | Promise<void>): Promise<void> {
		const body = await readBody(req);
		if (body === 'too-large') return sendText(res, 413, 'Request Entity Too Large');
		const parsed = parseJson(body);
		if (!parsed.ok) return send500(res);
		await fn(parsed.value);
	}

	private async postPrompt(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const { queue, faults, records, info } = this.p;
		return this.withJson(req, res, (raw) => {
			const body = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
			let number: number;
			if ('number' in body) number = Number(body.number);
			else {
				number = queue.counter;
				if ('front' in body && body.front) number = -number;
				queue.counter++;
			}
			if (!('prompt' in body)) {
				return sendJson(res, 400, { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} });
			}
			const prompt = body.prompt;
			const promptId = 'prompt_id' in body ? pyStr(body.prompt_id) : randomUUID();
			const partial = Array.isArray(body.partial_execution_targets) ? body.partial_execution_targets.map(String) : undefined;
			const result = validatePrompt(prompt, {
				catalogue: this.p.catalogue,
				partialTargets: partial,
				comboOptions: (def, name, spec) => info.comboOptions(def, name, spec),
				customValidate: (def, name, value) => info.customValidate(def, name, value),
			});
			const extra: Record<string, unknown> = body.extra_data && typeof body.extra_data === 'object' ? { ...(body.extra_data as Record<string, unknown>) } : {};
			if ('client_id' in body) extra.client_id = body.client_id;
			if (!result.ok) return sendJson(res, 400, { error: result.error, node_errors: result.nodeErrors });
			const item: QueueItem = [number, promptId, prompt as Prompt, extra, result.outputs];
			faults.rememberAuth(promptId, req.headers);
			records.prompts.push({
				promptId,
				clientId: typeof extra.client_id === 'string' ? extra.client_id : undefined,
				number,
				receivedAt: Date.now(),
				prompt: prompt as Record<string, unknown>,
				front: !('number' in body) && Boolean(body.front),
			});
			queue.pending.push(item);
			queue.statusChanged();
			queue.wake();
			if (faults.takeAmbiguousSubmit()) {
				req.socket.destroy();
				return;
			}
			sendJson(res, 200, { prompt_id: promptId, number, node_errors: result.nodeErrors });
		});
	}

	private postQueue(raw: unknown, res: ServerResponse): void {
		const { queue, records } = this.p;
		const body = (raw ?? {}) as { clear?: unknown; delete?: unknown };
		if (body.clear) {
			for (const item of queue.pending) records.deleted.push(item[1]);
			queue.pending = [];
			queue.statusChanged();
		}
		if (Array.isArray(body.delete)) {
			for (const id of body.delete) {
				const i = queue.pending.findIndex((it) => it[1] === String(id));
				if (i >= 0) {
					queue.pending.splice(i, 1);
					records.deleted.push(String(id));
					queue.statusChanged();
				}
			}
		}
		sendEmpty(res);
	}

	private async postInterrupt(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const { queue, records } = this.p;
		const body = await readBody(req);
		let target: string | undefined;
		if (body !== 'too-large' && body.length > 0) {
			const parsed = parseJson(body);
			if (parsed.ok && parsed.value && typeof parsed.value === 'object' && 'prompt_id' in parsed.value) {
				target = String((parsed.value as { prompt_id: unknown }).prompt_id);
			}
		}
		const runningId = queue.running?.[1];
		if (target === undefined) {
			queue.interruptFlag = true;
			if (runningId) records.interrupted.push(runningId);
		} else if (runningId === target) {
			queue.interruptFlag = true;
			records.interrupted.push(target);
		}
		queue.wake();
		sendEmpty(res);
	}

	private historySlice(q: URLSearchParams): Record<string, HistoryEntry> {
		let entries = [...this.p.queue.history.entries()];
		const offset = Number(q.get('offset') ?? '');
		if (Number.isFinite(offset) && offset > 0) entries = entries.slice(offset);
		const max = Number(q.get('max_items') ?? '');
		if (q.has('max_items') && Number.isFinite(max)) entries = max > 0 ? entries.slice(-max) : [];
		return Object.fromEntries(entries);
	}
}

/** Python's truth of a JSON value: false, 0, '', null, [] and {} are false. */
function pyTruthy(v: unknown): boolean {
	if (Array.isArray(v)) return v.length > 0;
	if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
	return Boolean(v);
}

/** Python's str() for the values a client may send as prompt_id. */
function pyStr(v: unknown): string {
	if (v === null) return 'None';
	if (v === true) return 'True';
	if (v === false) return 'False';
	return typeof v === 'string' ? v : JSON.stringify(v);
}
