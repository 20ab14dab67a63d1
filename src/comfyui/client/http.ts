/**
 * HTTP to one ComfyUI server over an undici connection pool. Every request has a timeout and honours
 * the caller's AbortSignal; failures become the typed errors of `../errors`, with secrets redacted.
 */
import { Pool, type Dispatcher, type FormData } from 'undici';
import { parseRetryAfter } from '../../util/backoff';
import { declaredLength, formatBytes, readAtMost } from '../../util/bytes';
import { redact } from '../../util/redact';
import { CancelledError, TransientServerError, type TransientReason } from '../errors';
import { routePath, type ServerAddress } from './address';

export interface HttpRequest {
	method: 'GET' | 'POST' | 'HEAD';
	route: string;
	query?: Record<string, string | undefined>;
	json?: unknown;
	form?: FormData;
	signal?: AbortSignal;
	/** Overrides the client's request timeout (headers and whole body; for `stream`, the headers only). */
	timeoutMs?: number;
	/** For `stream`: longest stretch without a byte of the body (default: the request timeout). */
	bodyTimeoutMs?: number;
	headers?: Record<string, string>;
}

export interface HttpAnswer {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	text: string;
}

export interface HttpStream {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	body: Dispatcher.ResponseData['body'];
}

export interface TransportOptions {
	address: ServerAddress;
	headers: Record<string, string>;
	secrets: string[];
	requestTimeoutMs: number;
	dispatcher?: Dispatcher;
}

/**
 * Largest answer read whole (JSON of `/history`, `/queue`, `/object_info`, `/system_stats`, …). The
 * biggest real one, `/object_info` of an install with hundreds of custom nodes, is a few MB.
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Network error codes → transient reasons. */
export function networkReason(error: unknown): TransientReason {
	const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code ?? '') : '';
	const name = error instanceof Error ? error.name : '';
	if (code === 'ECONNREFUSED') return 'refused';
	if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'ECONNABORTED') return 'reset';
	if (
		code === 'UND_ERR_HEADERS_TIMEOUT' ||
		code === 'UND_ERR_BODY_TIMEOUT' ||
		code === 'UND_ERR_CONNECT_TIMEOUT' ||
		code === 'ETIMEDOUT' ||
		name === 'TimeoutError'
	)
		return 'timeout';
	return 'network';
}

const REASON_TEXT: Partial<Record<TransientReason, string>> = {
	refused: 'refused the connection (is it running?)',
	reset: 'closed the connection unexpectedly',
	timeout: 'did not answer in time',
	network: 'could not be reached',
};

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
	const value = headers[name];
	return Array.isArray(value) ? value[0] : value;
}

export class HttpTransport {
	readonly dispatcher: Dispatcher;
	private readonly ownsDispatcher: boolean;

	constructor(private readonly options: TransportOptions) {
		this.ownsDispatcher = !options.dispatcher;
		this.dispatcher =
			options.dispatcher ??
			new Pool(options.address.origin, {
				connections: 32,
				keepAliveTimeout: 10_000,
				headersTimeout: options.requestTimeoutMs,
				bodyTimeout: options.requestTimeoutMs,
			});
	}

	get server(): string {
		return this.options.address.display;
	}

	/** Removes every secret from `text`. */
	clean(text: string): string {
		return redact(text, this.options.secrets);
	}

	/** Sends a request and returns its status, headers and body text. Never throws on HTTP status. */
	async request(req: HttpRequest): Promise<HttpAnswer> {
		const timeoutMs = req.timeoutMs ?? this.options.requestTimeoutMs;
		const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
		const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
		try {
			const response = await this.dispatch(req, signal, timeoutMs, timeoutMs);
			const declared = declaredLength(response.headers);
			const { bytes, complete } =
				declared !== undefined && declared > MAX_ANSWER_BYTES
					? { bytes: Buffer.alloc(0), complete: false }
					: await readAtMost(response.body, MAX_ANSWER_BYTES);
			if (!complete) {
				if (!response.body.destroyed) {
					response.body.on('error', () => undefined);
					response.body.destroy();
				}
				throw this.tooLarge(req, response.statusCode, declared);
			}
			return { status: response.statusCode, headers: response.headers, text: bytes.toString('utf8') };
		} catch (error) {
			throw this.translate(error, req, req.signal, timeout);
		}
	}

	/**
	 * A request whose body is streamed to the caller: the headers are bounded by the timeout, the body
	 * by inactivity (`bodyTimeoutMs`); the caller's signal bounds the whole.
	 */
	async stream(req: HttpRequest): Promise<HttpStream> {
		const timeoutMs = req.timeoutMs ?? this.options.requestTimeoutMs;
		try {
			const response = await this.dispatch(req, req.signal, timeoutMs, req.bodyTimeoutMs ?? timeoutMs);
			return { status: response.statusCode, headers: response.headers, body: response.body };
		} catch (error) {
			throw this.translate(error, req, req.signal);
		}
	}

	/** Parses a JSON answer; a 5xx becomes a transient error, other non-2xx statuses are the caller's. */
	async json<T>(req: HttpRequest): Promise<{ status: number; body: T | undefined; text: string }> {
		const answer = await this.request(req);
		this.throwIf5xx(answer, req);
		let body: T | undefined;
		if (answer.text.trim() !== '') {
			try {
				body = JSON.parse(answer.text) as T;
			} catch {
				body = undefined;
			}
		}
		return { status: answer.status, body, text: answer.text };
	}

	/** Like `json`, but anything but a 2xx JSON body is an `unexpected-response` error. */
	async expectJson<T>(req: HttpRequest): Promise<T> {
		const { status, body, text } = await this.json<T>(req);
		if (status < 200 || status >= 300) throw this.unexpected(req, status, text);
		if (body === undefined) throw this.unexpected(req, status, 'the body is not JSON');
		return body;
	}

	/** Like `request`, for endpoints that answer 200 with an empty body. */
	async expectOk(req: HttpRequest): Promise<void> {
		const answer = await this.request(req);
		this.throwIf5xx(answer, req);
		if (answer.status < 200 || answer.status >= 300) throw this.unexpected(req, answer.status, answer.text);
	}

	throwIf5xx(answer: { status: number; headers: Record<string, string | string[] | undefined> }, req: HttpRequest): void {
		if (answer.status < 500) return;
		const retryAfterMs = parseRetryAfter(headerValue(answer.headers, 'retry-after'));
		throw new TransientServerError(
			this.clean(`ComfyUI at ${this.server} answered HTTP ${answer.status} to ${req.method} ${req.route}; the server is failing or overloaded.`),
			'http-5xx',
			this.server,
			answer.status,
			retryAfterMs,
		);
	}

	unexpected(req: HttpRequest, status: number, detail: string): TransientServerError {
		const hint = status === 401 || status === 403 ? ' Check the server credentials (and the reverse proxy in front of ComfyUI).' : '';
		// Redacted before it is cut: a secret cut in half would no longer be recognised.
		const snippet = this.clean(detail).trim().slice(0, 300);
		return new TransientServerError(
			this.clean(
				`ComfyUI at ${this.server} gave an unexpected answer to ${req.method} ${req.route}: HTTP ${status}${snippet ? ` (${snippet})` : ''}.${hint}`,
			),
			'unexpected-response',
			this.server,
			status,
		);
	}

	/** An answer larger than anything ComfyUI sends: the server, or a proxy in front of it, misbehaves. */
	tooLarge(req: HttpRequest, status: number, declared?: number): TransientServerError {
		const size = declared !== undefined ? ` (${formatBytes(declared)} declared)` : '';
		return new TransientServerError(
			this.clean(
				`ComfyUI at ${this.server} answered ${req.method} ${req.route} with more than ${formatBytes(MAX_ANSWER_BYTES)}${size}, more than any ComfyUI answer; the server or a proxy in front of it is misbehaving.`,
			),
			'answer-too-large',
			this.server,
			status,
		);
	}

	async close(): Promise<void> {
		if (this.ownsDispatcher) await this.dispatcher.close();
	}

	private dispatch(req: HttpRequest, signal: AbortSignal | undefined, headersTimeout: number, bodyTimeout: number) {
		const headers: Record<string, string> = { ...this.options.headers, ...req.headers };
		let body: string | FormData | undefined;
		if (req.json !== undefined) {
			headers['content-type'] = 'application/json';
			body = JSON.stringify(req.json);
		} else if (req.form) {
			body = req.form;
		}
		return this.dispatcher.request({
			origin: this.options.address.origin,
			path: routePath(this.options.address, req.route, req.query),
			method: req.method,
			headers,
			body,
			signal,
			headersTimeout,
			bodyTimeout,
		});
	}

	private translate(error: unknown, req: HttpRequest, callerSignal?: AbortSignal, timeout?: AbortSignal): Error {
		if (error instanceof TransientServerError || error instanceof CancelledError) return error;
		if (callerSignal?.aborted) {
			return new CancelledError(`Cancelled while waiting for ComfyUI at ${this.server} (${req.method} ${req.route}).`, this.server);
		}
		const reason = timeout?.aborted ? 'timeout' : networkReason(error);
		const detail = error instanceof Error && error.message ? ` (${error.message})` : '';
		return new TransientServerError(
			this.clean(`ComfyUI at ${this.server} ${REASON_TEXT[reason] ?? 'failed'} during ${req.method} ${req.route}${detail}.`),
			reason,
			this.server,
		);
	}
}
