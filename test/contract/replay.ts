import { readFileSync } from 'fs';
import { join } from 'path';
import { fetch } from 'undici';
import WebSocket from 'ws';

export interface RecordedExchange {
	note: string | null;
	method: string;
	path: string;
	status: number;
	content_type?: string;
	request_json?: unknown;
	response_json?: unknown;
	response_bytes?: number;
	response_head?: string;
}

export function loadProbe(name: 'probe1' | 'probe2'): { http: RecordedExchange[]; ws: unknown } {
	return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'comfyui', `${name}.json`), 'utf8'));
}

export interface Reply {
	status: number;
	contentType: string;
	json?: unknown;
	bytes: Buffer;
}

export async function send(baseUrl: string, method: string, path: string, body?: { json?: unknown; raw?: Buffer; type?: string }): Promise<Reply> {
	const headers: Record<string, string> = {};
	let payload: Buffer | string | undefined;
	if (body?.json !== undefined) {
		payload = JSON.stringify(body.json);
		headers['content-type'] = 'application/json';
	} else if (body?.raw) {
		payload = body.raw;
		if (body.type) headers['content-type'] = body.type;
	}
	const res = await fetch(baseUrl + path, { method, headers, body: payload, signal: AbortSignal.timeout(10_000) });
	const bytes = Buffer.from(await res.arrayBuffer());
	const contentType = res.headers.get('content-type') ?? '';
	let json: unknown;
	if (contentType.startsWith('application/json')) json = JSON.parse(bytes.toString('utf8'));
	return { status: res.status, contentType, json, bytes };
}

export function multipart(fields: Record<string, string>, file: { field: string; filename: string; data: Buffer; type?: string }): { raw: Buffer; type: string } {
	const boundary = '----simtest' + Math.random().toString(16).slice(2);
	const parts: Buffer[] = [];
	for (const [k, v] of Object.entries(fields)) {
		parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
	}
	parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.type ?? 'image/png'}\r\n\r\n`));
	parts.push(file.data, Buffer.from(`\r\n--${boundary}--\r\n`));
	return { raw: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

/** A websocket that records every frame: text frames as parsed JSON, binary frames as 'BIN'. */
export class Recorder {
	readonly frames: Array<{ type: string; data?: Record<string, unknown>; binary?: Buffer }> = [];
	readonly ws: WebSocket;
	private constructor(ws: WebSocket) {
		this.ws = ws;
		ws.on('message', (d: Buffer, isBinary: boolean) => {
			if (isBinary) this.frames.push({ type: 'BIN', binary: Buffer.from(d) });
			else {
				const m = JSON.parse(d.toString('utf8')) as { type: string; data: Record<string, unknown> };
				this.frames.push({ type: m.type, data: m.data });
			}
		});
	}
	static async open(url: string, firstMessage?: unknown): Promise<Recorder> {
		const ws = new WebSocket(url);
		const r = new Recorder(ws);
		await new Promise<void>((resolve, reject) => {
			ws.once('open', () => resolve());
			ws.once('error', reject);
		});
		if (firstMessage !== undefined) ws.send(JSON.stringify(firstMessage));
		return r;
	}
	types(): string[] {
		return this.frames.map((f) => f.type);
	}
	close(): void {
		this.ws.close();
	}
}

export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
	const end = Date.now() + timeoutMs;
	while (!cond()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 5));
	}
}

/** Types of recorded ws frames, in order. */
export function recordedTypes(frames: Array<{ text?: { type: string }; binary_event?: number }>): string[] {
	return frames.map((f) => (f.text ? f.text.type : 'BIN'));
}

/** Replace recorded prompt ids by the simulator's, in paths and bodies. */
export function mapIds(text: string, ids: Map<string, string>): string {
	let out = text;
	for (const [from, to] of ids) out = out.split(from).join(to);
	return out;
}
