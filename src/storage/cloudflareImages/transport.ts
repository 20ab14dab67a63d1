/**
 * Sends every Cloudflare Images request of one client: to the API host with the API token or, with a
 * batch token, to the batch host; through the host's rate limiter and the token's budget (a 429 pauses
 * the whole client); and turns each answer into its envelope or a StorageError that says what to do.
 */
import { Agent, fetch, type Dispatcher, type FormData } from 'undici';
import { parseRetryAfter } from '../../util/backoff';
import { redact } from '../../util/redact';
import { StorageError, isNetworkCode } from '../errors';
import { TokenBucket, type WindowBudget } from '../tokenBucket';
import type { StorageLogger } from '../types';
import type { CloudflareImagesConfig, Envelope } from './types';

/**
 * Cloudflare's global API budget: 1,200 requests per 5 minutes per token, every call counted; past
 * it "all API calls for the next five minutes will be blocked" with HTTP 429
 * (developers.cloudflare.com/fundamentals/api/reference/limits/). Batch-host calls do not count.
 */
export const CF_API_BUDGET: WindowBudget = { requests: 1200, windowMs: 300_000 };
export const CF_RATE_LIMIT_BLOCK_MS = 300_000;
/** Sustained requests per second by default: the API budget's pace (1,200 per 5 minutes); with a batch token, to the batch host. */
export const CF_DEFAULT_RATE_PER_SECOND = 4;
export const CF_DEFAULT_BATCH_RATE_PER_SECOND = 50;
const RETRYABLE_CODES = new Set(['5408', '5433', '5450', '5500', '5503', '5540', '5541', '5542', '5550', '971']);

/** True for Cloudflare's answer that the image does not exist (code 5404); any other 404 is an error. */
export function isImageNotFound(error: unknown): boolean {
	return error instanceof StorageError && error.code === '5404';
}

/** What one call carries besides its method and path. */
interface CallOptions {
	body?: FormData;
	signal?: AbortSignal;
	/** The image the call is about, for the error. */
	key?: string;
}

/** A call as sent: with its token and the limiter of its host. */
interface RequestOptions extends CallOptions {
	token: string;
	limiter: TokenBucket;
}

export class CloudflareTransport {
	private readonly apiBase: string;
	private readonly batchBase: string;
	/** Every call on the API host: Cloudflare's global budget. */
	private readonly apiLimiter: TokenBucket;
	/** Calls on the batch host, with a batch token (its own 200 requests/s per token). */
	private readonly batchLimiter: TokenBucket;
	private readonly dispatcher: Dispatcher;
	private readonly timeoutMs: number;
	private batchToken?: { token: string; expiresAt: number; renewAt: number };
	private batchTokenPending?: Promise<string>;

	constructor(
		private readonly config: CloudflareImagesConfig,
		/** Where rate-limit pauses and batch-token renewals are told. */
		private readonly log: StorageLogger,
	) {
		this.apiBase = (config.apiBaseUrl ?? 'https://api.cloudflare.com/client/v4').replace(/\/+$/, '');
		this.batchBase = (config.batchBaseUrl ?? 'https://batch.imagedelivery.net').replace(/\/+$/, '');
		const rate = config.ratePerSecond ?? (config.useBatchToken ? CF_DEFAULT_BATCH_RATE_PER_SECOND : CF_DEFAULT_RATE_PER_SECOND);
		// With a batch token, images go to the batch host at `rate` and the API host only hands out tokens.
		this.apiLimiter = new TokenBucket(config.useBatchToken ? CF_DEFAULT_RATE_PER_SECOND : rate, undefined, Date.now, config.apiBudget ?? CF_API_BUDGET);
		this.batchLimiter = new TokenBucket(rate);
		this.dispatcher = new Agent({ connections: config.connections ?? 16, keepAliveTimeout: 10_000 });
		this.timeoutMs = config.requestTimeoutMs ?? 60_000;
	}

	/** One Images API call on the API host or, with a batch token, on the batch host. */
	async call(method: 'GET' | 'POST' | 'DELETE', path: string, options: CallOptions): Promise<Envelope> {
		if (!this.config.useBatchToken) return this.api(method, path, options);
		for (let renewed = false; ; renewed = true) {
			const token = await this.getBatchToken(options.signal);
			try {
				return await this.request(method, `${this.batchBase}/images/v1${path}`, { ...options, token, limiter: this.batchLimiter });
			} catch (error) {
				// A batch token can stop working before the expiry it announced: fetch a new one, once.
				const refused = error instanceof StorageError && (error.httpStatus === 401 || error.httpStatus === 403);
				if (renewed || !refused) throw error;
				if (this.batchToken?.token === token) {
					this.batchToken = undefined;
					this.log('info', `Cloudflare Images refused the batch token (HTTP ${(error as StorageError).httpStatus}); fetching a new one`);
				}
			}
		}
	}

	/** A call under the account's `images/v1` on the API host, with the API token; every one counts against the budget. */
	api(method: 'GET' | 'POST' | 'DELETE', path: string, options: CallOptions = {}): Promise<Envelope> {
		const url = `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1${path}`;
		return this.request(method, url, { ...options, token: this.config.apiToken, limiter: this.apiLimiter });
	}

	close(): Promise<void> {
		return this.dispatcher.close();
	}

	private async getBatchToken(signal?: AbortSignal): Promise<string> {
		if (this.batchToken && Date.now() < this.batchToken.renewAt) return this.batchToken.token;
		this.batchTokenPending ??= (async () => {
			try {
				const fetchedAt = Date.now();
				const envelope = await this.api('GET', '/batch_token', { signal });
				const token = envelope.result?.token;
				if (!token) throw new StorageError('Cloudflare answered the batch token request without a token', { provider: 'cloudflareImages' });
				const expiresAt = Date.parse(envelope.result?.expiresAt ?? '') || fetchedAt + 10 * 60_000;
				// Renew a minute before it expires, or a quarter of its life before for short-lived tokens.
				const renewAt = expiresAt - Math.min(60_000, (expiresAt - fetchedAt) / 4);
				this.batchToken = { token, expiresAt, renewAt };
				return token;
			} finally {
				this.batchTokenPending = undefined;
			}
		})();
		return this.batchTokenPending;
	}

	private async request(
		method: string,
		url: string,
		options: RequestOptions,
	): Promise<Envelope> {
		const secrets = [this.config.apiToken, options.token, this.config.signingKey];
		const done = await this.acquire(options.limiter, options.signal, options.key);
		try {
			return await this.exchange(method, url, options, secrets);
		} finally {
			done();
		}
	}

	/** Sends one request and reads its envelope; a failure becomes a StorageError that says what to do. */
	private async exchange(
		method: string,
		url: string,
		options: RequestOptions,
		secrets: ReadonlyArray<string | undefined>,
	): Promise<Envelope> {
		const timeout = AbortSignal.timeout(this.timeoutMs);
		const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
		let response: Awaited<ReturnType<typeof fetch>>;
		try {
			response = await fetch(url, {
				method,
				headers: { authorization: `Bearer ${options.token}` },
				body: options.body,
				signal,
				dispatcher: this.dispatcher,
			});
		} catch (error) {
			if (options.signal?.aborted) throw error;
			const cause = (error as { cause?: { code?: string; message?: string } }).cause;
			const code = timeout.aborted ? 'TimeoutError' : cause?.code;
			const detail = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : redact(cause?.message ?? String(error), secrets);
			throw new StorageError(`Cloudflare Images could not be reached: ${detail}`, {
				provider: 'cloudflareImages',
				code,
				retryable: timeout.aborted || isNetworkCode(code) || code === undefined,
				key: options.key,
				cause: error,
			});
		}
		const text = await response.text();
		let envelope: Envelope | undefined;
		try {
			envelope = JSON.parse(text) as Envelope;
		} catch {
			envelope = undefined;
		}
		if (response.ok && envelope?.success !== false && envelope) return envelope;
		const first = envelope?.errors?.[0];
		const bodyCode = first?.code !== undefined ? String(first.code) : /ERROR (\d{4})/.exec(text)?.[1];
		const message = redact(first?.message ?? `Cloudflare answered HTTP ${response.status}`, secrets);
		const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
		const status = response.status;
		if (status === 404 && bodyCode !== '5404') {
			// Only 5404 says "no such image"; any other 404 is a route that does not exist (a wrong base URL,
			// a proxy), which must not read as a quiet "absent".
			const path = redact(new URL(url).pathname, secrets);
			throw new StorageError(
				`Cloudflare Images has no API route ${method} ${path} (HTTP 404${bodyCode ? `, code ${bodyCode}` : ''}: ${message}); check the API Base URL${this.config.useBatchToken ? ' and Batch API Base URL' : ''} of the Cloudflare Images credential`,
				{ provider: 'cloudflareImages', code: bodyCode ?? 'RouteNotFound', httpStatus: status, retryable: false, key: options.key },
			);
		}
		const rateLimited = status === 429 || bodyCode === '971';
		// Without Retry-After, the documented block is five minutes.
		const waitMs = rateLimited ? (retryAfterMs ?? CF_RATE_LIMIT_BLOCK_MS) : retryAfterMs;
		if (rateLimited) {
			// Cloudflare blocks every call of the token after a 429: stop all requests, not just this one.
			options.limiter.pause(Date.now() + (retryAfterMs ?? CF_RATE_LIMIT_BLOCK_MS));
			const asked = retryAfterMs !== undefined ? `it asks to wait ${Math.round(retryAfterMs / 1000)} s` : 'no Retry-After, so the documented 5-minute block applies';
			this.log('warn', `Cloudflare Images rate limit reached (HTTP 429${bodyCode ? `, code ${bodyCode}` : ''}); ${asked}, pausing all requests`);
		}
		const blocked = rateLimited && retryAfterMs === undefined ? ' (no Retry-After: Cloudflare blocks every call of the token for 5 minutes after a 429)' : '';
		const retryable = rateLimited || status >= 500 || status === 408 || (bodyCode !== undefined && RETRYABLE_CODES.has(bodyCode));
		throw new StorageError(`Cloudflare Images: ${message}${blocked}`, {
			provider: 'cloudflareImages',
			code: bodyCode,
			httpStatus: status,
			retryable,
			retryAfterMs: waitMs,
			key: options.key,
		});
	}

	/** Waits for the limiter of the host; a wait past Max Wait fails the request instead of stalling. */
	private async acquire(limiter: TokenBucket, signal: AbortSignal | undefined, key: string | undefined): Promise<() => void> {
		const maxWaitMs = this.config.maxWaitMs ?? 300_000;
		try {
			return await limiter.acquire(signal, Date.now() + maxWaitMs);
		} catch (error) {
			if (signal?.aborted) throw error;
			const budget = limiter.budget ? `, or the token's budget of ${limiter.budget.requests} requests per ${Math.round(limiter.budget.windowMs / 60_000)} minutes is spent` : '';
			throw new StorageError(
				`Cloudflare Images: the next request could not go out within the ${Math.round(maxWaitMs / 1000)} s this node waits (Max Wait Asked by Provider): Cloudflare asked to pause (HTTP 429)${budget}; try again later or use a batch token`,
				{ provider: 'cloudflareImages', code: '971', httpStatus: 429, retryable: false, key },
			);
		}
	}
}
