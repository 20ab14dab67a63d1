/**
 * Decides how a simulated server misbehaves: its speed and hang, which requests fail, which node
 * raises, how memory looks, which submit loses its answer, and how /view and huge JSON bodies go wrong.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'http';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { send500, sendText, seededRandom } from './http-util';

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

/** The fault switches of one server (kept across restarts) and the decisions they make. */
export class Faults {
	/** Work done per ms of wall time: 2 is twice as fast as `msPerStep` and the class costs say. */
	speed: number;
	/** Execution stops before the next node and inside every pause; HTTP and websockets keep answering. */
	hang: boolean;
	httpErrors: HttpErrorRule | null;
	executionError: ExecutionErrorRule | null;
	memoryPressure: MemoryPressure | null;
	ambiguousSubmits: number;
	viewFaults: ViewFault[];
	hugeJson: HugeJsonRule | null;
	private readonly random: () => number;
	/** What each prompt's exception will echo, kept only while an echoing execution error is set. */
	private readonly authEchoes = new Map<string, string>();

	constructor(
		options: { speed?: number; seed?: number; faults?: SimulatorFaults },
		/** The header the server requires (`authorization` when none): what `authEcho` repeats. */
		private readonly authHeader: string,
	) {
		this.speed = options.speed ?? 1;
		this.random = seededRandom(options.seed ?? 1);
		const f = options.faults ?? {};
		this.hang = f.hang ?? false;
		this.httpErrors = f.httpErrors ?? null;
		this.executionError = f.executionError ?? null;
		this.memoryPressure = f.memoryPressure ?? null;
		this.ambiguousSubmits = f.ambiguousSubmit ?? 0;
		this.viewFaults = f.view ?? [];
		this.hugeJson = f.hugeJson ?? null;
	}

	/** A restart forgets what prompts would echo (they are gone with the queue). */
	reset(): void {
		this.authEchoes.clear();
	}

	/** Answers the request with a simulated HTTP error when the rule matches and the seeded draw says so. */
	failRequest(req: IncomingMessage, res: ServerResponse, method: string, path: string): boolean {
		const rule = this.httpErrors;
		if (!(rule && matchesRule(rule, method, path) && this.random() < rule.rate)) return false;
		const status = rule.status ?? 500;
		if (rule.retryAfter !== undefined) res.setHeader('Retry-After', rule.retryAfter);
		if (rule.echoAuth) sendText(res, status, `${status}: Simulated error; ${this.authEcho(req.headers)}`);
		else if (status === 500) send500(res);
		else sendText(res, status, `${status}: Simulated error`);
		return true;
	}

	/** The huge-JSON rule that answers this GET instead of the route, if any. */
	hugeJsonFor(method: string, path: string): HugeJsonRule | null {
		return this.hugeJson && method === 'GET' && matchesRule(this.hugeJson, method, path) ? this.hugeJson : null;
	}

	/** Keeps what the prompt's exception will echo, when the execution error echoes credentials. */
	rememberAuth(promptId: string, headers: IncomingHttpHeaders): void {
		if (this.executionError?.echoAuth) this.authEchoes.set(promptId, this.authEcho(headers));
	}

	forgetAuth(promptId: string): void {
		this.authEchoes.delete(promptId);
	}

	/** The exception node `nodeId` of class `nodeClass` raises in this prompt, or null when it runs. */
	executionErrorAt(promptId: string, nodeId: string, nodeClass: string): { message: string; exceptionType: string } | null {
		const rule = this.executionError;
		if (!rule || (rule.nodeId !== undefined && rule.nodeId !== nodeId) || (rule.nodeClass !== undefined && rule.nodeClass !== nodeClass)) return null;
		const echo = rule.echoAuth ? ` (${this.authEchoes.get(promptId) ?? 'no credentials'})` : '';
		return { message: `${rule.message ?? 'Simulated failure'}${echo}`, exceptionType: rule.exceptionType ?? 'RuntimeError' };
	}

	/** True when this submit is to be queued without an answer (the connection is dropped). */
	takeAmbiguousSubmit(): boolean {
		if (this.ambiguousSubmits <= 0) return false;
		this.ambiguousSubmits--;
		return true;
	}

	/** The rule that shapes the download of the output or temp file `name`, if any. */
	viewFaultFor(name: string): ViewFault | undefined {
		return this.viewFaults.find((f) => f.match === undefined || name.includes(f.match));
	}

	/**
	 * A server that echoes the credentials it was sent (a debugging proxy, a custom node dumping its
	 * request): the auth header raw, inside a JSON dump (escaped), as base64 of that dump and URL-encoded.
	 */
	private authEcho(headers: IncomingHttpHeaders): string {
		const name = this.authHeader.toLowerCase();
		const value = String(headers[name] ?? '');
		const dump = JSON.stringify({ [name]: value });
		return `${name}: ${value}; headers ${dump}; trace ${Buffer.from(dump).toString('base64')}; replay ?${name}=${encodeURIComponent(value)}`;
	}
}

function matchesRule(rule: { routes: string[] | '*'; methods?: string[] }, method: string, path: string): boolean {
	if (rule.methods && !rule.methods.includes(method)) return false;
	if (rule.routes === '*') return true;
	return rule.routes.some((r) => {
		const norm = r.replace(/^\/api(?=\/)/, '');
		return norm.endsWith('*') ? path.startsWith(norm.slice(0, -1)) : path === norm;
	});
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
export async function faultyView(res: ServerResponse, own: Buffer, contentType: string, fault: ViewFault): Promise<void> {
	if (fault.hangHeaders) return new Promise<void>((r) => res.once('close', () => r()));
	const total = fault.size ?? own.length;
	const headers: Record<string, string | number> = { 'Content-Type': contentType };
	if (!fault.undeclared) headers['Content-Length'] = total;
	res.writeHead(200, headers);
	res.flushHeaders();
	await pipeline(Readable.from(generatedBody(own, total, fault.dripMs)), res).catch(() => undefined);
}

/** A valid JSON object of `bytes` bytes (`{"padding":"xxx…"}`), generated while sending. */
export async function sendHugeJson(res: ServerResponse, rule: HugeJsonRule): Promise<void> {
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
