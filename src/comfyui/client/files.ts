/**
 * Files on one ComfyUI server: puts input images in our upload sub-folder under content-hash names,
 * streams output files from `/view` within the caller's size and time bounds, and builds their
 * `/view` addresses.
 */
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { FormData } from 'undici';
import { declaredLength, readAtMost } from '../../util/bytes';
import { CancelledError, TransientServerError } from '../errors';
import { routePath, type ServerAddress } from './address';
import { OutputTooLargeError } from './errors';
import { networkReason, type HttpTransport } from './http';
import { fileExtension, guessMimeType } from './outputs';
import type { FileRef, UploadResult } from './types';

export interface DownloadOptions {
	maxBytes?: number;
	signal?: AbortSignal;
	/** When (ms since epoch) the whole download must have ended, headers and body. */
	deadline?: number;
	/** Longest stretch without a byte of the body (default `TRANSFER_INACTIVITY_MS`). */
	inactivityMs?: number;
}

/** What file transfers need of the client they belong to. */
export interface FilesContext {
	/** Display address of the server, without credentials. */
	server: string;
	address: ServerAddress;
	http: HttpTransport;
	requestTimeoutMs: number;
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

export class ServerFiles {
	constructor(private readonly context: FilesContext) {}

	/** The `/view` address of an output file, for references (never carries credentials). */
	viewUrl(file: FileRef): string {
		const { address } = this.context;
		const path = routePath(address, '/view', { filename: file.filename, subfolder: file.subfolder, type: file.type });
		return `${address.origin}${path}`;
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
		const { server, http } = this.context;
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
			response = await http.stream(req);
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
			http.throwIf5xx(response, req);
			const missing = response.status === 404 ? `the file "${file.filename}" is not there (temporary files vanish when the server restarts)` : text;
			throw http.unexpected(req, response.status, missing);
		}
		const size = declaredLength(response.headers);
		if (maxBytes !== undefined && size !== undefined && size > maxBytes) {
			discard();
			throw new OutputTooLargeError(file, maxBytes, server, size);
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
		const { http } = this.context;
		const filename = contentHashName(bytes, name);
		const subfolder = UPLOAD_SUBFOLDER;
		const probeReq = { method: 'GET' as const, route: '/view', query: { filename, subfolder, type: 'input' }, signal: options.signal };
		const probe = await http.stream(probeReq);
		const length = header(probe.headers, 'content-length');
		await probe.body.dump().catch(() => undefined);
		http.throwIf5xx(probe, probeReq);
		if (probe.status === 200 && (length === undefined || Number(length) === bytes.length)) {
			return { name: filename, subfolder, type: 'input', reference: `${subfolder}/${filename}`, uploaded: false };
		}
		const form = new FormData();
		form.append('image', new Blob([bytes], { type: guessMimeType(filename) }), filename);
		form.append('type', 'input');
		form.append('subfolder', subfolder);
		// The name is the content hash: replacing a same-named file never changes its bytes.
		form.append('overwrite', 'true');
		const answer = await http.expectJson<{ name?: unknown; subfolder?: unknown; type?: unknown }>({
			method: 'POST',
			route: '/upload/image',
			form,
			signal: options.signal,
			timeoutMs: Math.max(this.context.requestTimeoutMs, 60_000),
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

	private outOfTime(file: FileRef): TransientServerError {
		const { server } = this.context;
		return new TransientServerError(
			`Downloading "${file.filename}" from ${server} did not finish before the attempt's time limit (Total Timeout) ran out.`,
			'total-timeout',
			server,
		);
	}
}
