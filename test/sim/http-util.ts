import type { IncomingMessage, ServerResponse } from 'http';
import { extensionOf, mimeFromExtension, OCTET_STREAM } from '../../src/util/mime';

/** Small HTTP helpers that answer the way aiohttp does for ComfyUI. */

export const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
	res.end(text);
}

/** `web.Response(status=...)` without body: aiohttp labels it application/octet-stream. */
export function sendEmpty(res: ServerResponse, status = 200): void {
	res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': 0 });
	res.end();
}

export function sendText(res: ServerResponse, status: number, text: string): void {
	res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
	res.end(text);
}

export function send500(res: ServerResponse): void {
	sendText(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
}

export const MAX_BODY = 100 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
	return new Promise((resolve, reject) => {
		const parts: Buffer[] = [];
		let size = 0;
		let over = false;
		req.on('data', (c: Buffer) => {
			size += c.length;
			if (size > MAX_BODY) over = true;
			else parts.push(c);
		});
		req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(parts)));
		req.on('error', reject);
	});
}

/** JSON body or undefined when it does not parse (the real handlers then answer 500). */
export function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
	try {
		return { ok: true, value: JSON.parse(body.toString('utf8')) };
	} catch {
		return { ok: false };
	}
}

export interface MultipartPart {
	name: string;
	filename?: string;
	data: Buffer;
}

export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] | null {
	const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
	if (!m) return null;
	const boundary = Buffer.from('--' + (m[1] ?? m[2]).trim());
	const parts: MultipartPart[] = [];
	let pos = body.indexOf(boundary);
	if (pos < 0) return null;
	while (pos >= 0) {
		pos += boundary.length;
		if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing boundary
		if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
		const headerEnd = body.indexOf('\r\n\r\n', pos);
		if (headerEnd < 0) return null;
		const headers = body.toString('utf8', pos, headerEnd);
		const next = body.indexOf(boundary, headerEnd + 4);
		if (next < 0) return null;
		const data = body.subarray(headerEnd + 4, next - 2); // strip CRLF before boundary
		const disp = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
		const name = /\bname="([^"]*)"/i.exec(disp)?.[1];
		const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
		if (name !== undefined) parts.push({ name, filename, data });
		pos = next;
	}
	return parts;
}

/** Where Python's mimetypes, which ComfyUI's /view answers with, differs from the package's table. */
const PYTHON_MIME: Readonly<Record<string, string>> = { wav: 'audio/x-wav' };

/** Python's mimetypes.guess_type as ComfyUI uses it (html/js/css forced to octet-stream). */
export function contentTypeFor(filename: string): string {
	const ext = extensionOf(filename);
	return (Object.hasOwn(PYTHON_MIME, ext) ? PYTHON_MIME[ext] : mimeFromExtension(ext)) ?? OCTET_STREAM;
}

export function isLoopbackHost(host: string): boolean {
	const h = host.replace(/^\[|\]$/g, '').toLowerCase();
	return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** host[:port] of a Host header or an Origin URL */
export function hostPart(value: string): { host: string; hostname: string } | null {
	try {
		const u = new URL(value.includes('://') ? value : `http://${value}`);
		return { host: u.host, hostname: u.hostname };
	} catch {
		return null;
	}
}

/** Seeded PRNG (mulberry32) so fault rates are reproducible. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
