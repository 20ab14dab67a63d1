/**
 * Input images given by URL: each URL is fetched once per execution even when many scenes use it,
 * at most 10 at once, retried after 1 s, 2 s and 4 s on network errors, 429 and 5xx.
 */
import pLimit from 'p-limit';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { retry } from '../util/backoff';
import { redactUrl } from '../util/redact';

export class InputUrlError extends Error {
	constructor(
		message: string,
		readonly url: string,
		readonly status?: number,
	) {
		super(message);
		this.name = 'InputUrlError';
	}
}

export interface FetchedFile {
	bytes: Buffer;
	fileName: string;
	mimeType?: string;
}

export interface UrlFetcherOptions {
	concurrency?: number;
	attempts?: number;
	timeoutMs?: number;
	maxBytes?: number;
	signal?: AbortSignal;
}

export class UrlFetcher {
	private readonly cache = new Map<string, Promise<FetchedFile>>();
	private readonly limit: ReturnType<typeof pLimit>;
	/** Number of HTTP requests made (for tests and telemetry). */
	requests = 0;

	constructor(private readonly options: UrlFetcherOptions = {}) {
		this.limit = pLimit(options.concurrency ?? 10);
	}

	fetch(url: string): Promise<FetchedFile> {
		let pending = this.cache.get(url);
		if (!pending) {
			pending = this.limit(() => this.download(url));
			this.cache.set(url, pending);
		}
		return pending;
	}

	private async download(url: string): Promise<FetchedFile> {
		let parsed: URL;
		try {
			parsed = new URL(url);
		} catch {
			throw new InputUrlError(`"${url}" is not a URL; use an http(s) address of the image`, url);
		}
		if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
			throw new InputUrlError(`${redactUrl(url)} is not an http(s) URL`, url);
		}
		const shown = redactUrl(url);
		const maxBytes = this.options.maxBytes ?? 100 * 1024 * 1024;
		return retry(
			async () => {
				this.requests++;
				const signals = [AbortSignal.timeout(this.options.timeoutMs ?? 30_000)];
				if (this.options.signal) signals.push(this.options.signal);
				const response = await request(url, { method: 'GET', signal: AbortSignal.any(signals), dispatcher: redirecting() });
				if (response.statusCode >= 400) {
					await response.body.dump().catch(() => undefined);
					throw new InputUrlError(
						`Fetching input image ${shown} failed with HTTP ${response.statusCode}`,
						url,
						response.statusCode,
					);
				}
				const chunks: Buffer[] = [];
				let size = 0;
				for await (const chunk of response.body) {
					size += (chunk as Buffer).length;
					if (size > maxBytes) {
						response.body.destroy();
						throw new InputUrlError(`Input image ${shown} is larger than ${maxBytes} bytes`, url);
					}
					chunks.push(chunk as Buffer);
				}
				const header = response.headers['content-type'];
				const mimeType = Array.isArray(header) ? header[0] : header;
				return { bytes: Buffer.concat(chunks), fileName: fileNameOf(parsed), mimeType: mimeType?.split(';')[0].trim() };
			},
			{
				attempts: this.options.attempts ?? 4,
				backoff: { initialMs: 1000, maxMs: 4000, factor: 2, jitter: 0.1 },
				signal: this.options.signal,
				classify: (error) => {
					if (error instanceof InputUrlError) {
						if (error.status === 429 || (error.status !== undefined && error.status >= 500)) return { retry: true };
						return { retry: false };
					}
					return { retry: true };
				},
			},
		).catch((error: unknown) => {
			if (error instanceof InputUrlError) throw error;
			const message = error instanceof Error ? error.message : String(error);
			throw new InputUrlError(`Fetching input image ${shown} failed: ${message}`, url);
		});
	}
}

let redirectDispatcher: Dispatcher | undefined;

/**
 * The package's own connections for input URLs, following up to 5 redirects (undici 7 follows them only
 * through its interceptor; the `maxRedirections` option was removed). Never undici's global dispatcher:
 * inside n8n that is the Agent of Node's bundled undici (set when axios loads), whose handler API this
 * undici's interceptors do not speak ("invalid onError method" on Node 20). Idle sockets do not keep
 * the process alive.
 */
function redirecting(): Dispatcher {
	redirectDispatcher ??= new Agent({ connections: 10, keepAliveTimeout: 10_000 }).compose(interceptors.redirect({ maxRedirections: 5 }));
	return redirectDispatcher;
}

function fileNameOf(url: URL): string {
	const last = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '');
	return last || 'input.png';
}
