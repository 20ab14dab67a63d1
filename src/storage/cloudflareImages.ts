/**
 * Cloudflare Images over its REST API (undici): multipart uploads with pre-checks, the response
 * envelope, 5409 "already exists" as success, one request budget for every call of the token (a 429
 * pauses the whole client), batch tokens that expire, delivery URLs and signed delivery URLs.
 */
import { createHmac } from 'crypto';
import { Agent, FormData, fetch, type Dispatcher } from 'undici';
import { parseRetryAfter } from '../util/backoff';
import { redact } from '../util/redact';
import { isVideo, sniffContentType } from './contentType';
import { StorageError, isNetworkCode } from './errors';
import { countFrames, readImageDimensions } from './imageSize';
import { TokenBucket, type WindowBudget } from './tokenBucket';
import type { StorageLogger } from './types';

// Hosted-image limits, from Cloudflare's "Limits and formats" (developers.cloudflare.com/images/get-started/limits/).
export const CF_MAX_BYTES = 10 * 1024 * 1024;
/** Longest side, for every format but WebP (and AVIF, refused here), which the limit excludes. */
export const CF_MAX_DIMENSION = 12_000;
/** Area of a still image, or of all frames of an animation together. */
export const CF_MAX_MEGAPIXELS = 100;
export const CF_MAX_METADATA_BYTES = 1024;
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
export const CF_ACCEPTED_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml', 'image/heic'];
const RETRYABLE_CODES = new Set(['5408', '5433', '5450', '5500', '5503', '5540', '5541', '5542', '5550', '971']);

export interface CloudflareImagesConfig {
	accountId: string;
	apiToken: string;
	/** The hash in delivery URLs; read from the first upload's variants when not set. */
	accountHash?: string;
	/** A zone of the same account, for `https://<domain>/cdn-cgi/imagedelivery/...` URLs. */
	deliveryDomain?: string;
	apiBaseUrl?: string;
	batchBaseUrl?: string;
	/** Upload, get and delete through a batch token (200 req/s per token, outside the global API limit). */
	useBatchToken?: boolean;
	/** Sustained requests per second to the host images go to (default 4, the API budget's pace; 50 with a batch token). */
	ratePerSecond?: number;
	/** The API host's budget for this token (default 1,200 requests per 5 minutes); every API call counts. */
	apiBudget?: WindowBudget;
	/** The Images signing key (dashboard: Images → Keys), for signed delivery URLs of private images. */
	signingKey?: string;
	requestTimeoutMs?: number;
	/** Longest wait for the rate limiter (a 429 pause, or the budget) before a request fails (default 5 minutes). */
	maxWaitMs?: number;
	connections?: number;
	log?: StorageLogger;
}

export interface CloudflareImage {
	id: string;
	filename?: string;
	uploaded?: string;
	requireSignedURLs?: boolean;
	variants: string[];
	metadata?: Record<string, unknown>;
	/** True when the custom ID already existed (5409) and this is the stored image. */
	existed: boolean;
}

export interface CloudflareUploadRequest {
	data: Buffer;
	fileName: string;
	contentType: string;
	/** Custom ID; without it Cloudflare assigns a UUID. */
	id?: string;
	metadata?: Record<string, unknown>;
	requireSignedURLs?: boolean;
}

interface Envelope {
	success?: boolean;
	errors?: Array<{ code?: number | string; message?: string }>;
	result?: {
		id?: string;
		filename?: string;
		uploaded?: string;
		requireSignedURLs?: boolean;
		variants?: string[];
		metadata?: Record<string, unknown>;
		meta?: Record<string, unknown>;
		token?: string;
		expiresAt?: string;
	} | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks everything Cloudflare would refuse, before spending a request. Throws a final StorageError. */
export function precheckCloudflareUpload(request: CloudflareUploadRequest): void {
	const fail = (message: string, code: string) => {
		throw new StorageError(message, { provider: 'cloudflareImages', code, retryable: false, key: request.id });
	};
	if (isVideo(request.contentType)) {
		fail(`Cloudflare Images does not store videos (${request.contentType}): use an S3-compatible bucket or R2 for video`, 'UnsupportedFormat');
	}
	if (!CF_ACCEPTED_TYPES.includes(request.contentType.split(';')[0].trim().toLowerCase())) {
		fail(
			`Cloudflare Images accepts PNG, JPEG, GIF, WebP, SVG and HEIC; this file is ${request.contentType}. Use an S3-compatible bucket for other files`,
			'UnsupportedFormat',
		);
	}
	if (request.data.length > CF_MAX_BYTES) {
		fail(
			`The image is ${(request.data.length / 1024 / 1024).toFixed(1)} MB; Cloudflare Images accepts at most 10 MB. Use an S3-compatible bucket or R2 for larger files`,
			'FileTooLarge',
		);
	}
	const dimensions = readImageDimensions(request.data);
	if (dimensions) {
		const { width, height } = dimensions;
		if (sniffContentType(request.data) !== 'image/webp' && Math.max(width, height) > CF_MAX_DIMENSION) {
			fail(`The image is ${width}×${height} px; Cloudflare Images accepts at most ${CF_MAX_DIMENSION} px per side`, 'ImageTooLarge');
		}
		// Animations count the area of all frames together.
		const frames = countFrames(request.data) ?? 1;
		const megapixels = (width * height * frames) / 1_000_000;
		if (megapixels > CF_MAX_MEGAPIXELS) {
			const size = frames > 1 ? `${width}×${height} px × ${frames} frames` : `${width}×${height} px`;
			fail(
				`The image is ${size} = ${megapixels.toFixed(1)} megapixels; Cloudflare Images accepts at most ${CF_MAX_MEGAPIXELS} megapixels${frames > 1 ? ' for all frames together' : ''}. Make it smaller or use an S3-compatible bucket`,
				'ImageTooLarge',
			);
		}
	}
	if (request.metadata !== undefined) {
		const bytes = Buffer.byteLength(JSON.stringify(request.metadata));
		if (bytes > CF_MAX_METADATA_BYTES) fail(`The metadata is ${bytes} bytes as JSON; Cloudflare Images accepts at most 1024`, 'MetadataTooLarge');
	}
	if (request.id !== undefined) {
		const id = request.id;
		if (id === '' || id.startsWith('/') || id.endsWith('/')) fail(`The custom image ID "${id}" must not be empty or start or end with "/"`, 'InvalidId');
		if (UUID.test(id)) fail(`The custom image ID "${id}" must not be a UUID (Cloudflare reserves those)`, 'InvalidId');
		if (Buffer.byteLength(id) > 1024) fail('The custom image ID is longer than 1024 bytes', 'InvalidId');
		if (request.requireSignedURLs) fail('Cloudflare Images does not allow a custom ID together with "require signed URLs"', 'InvalidId');
	}
}

/** Account hash from a variant URL (`imagedelivery.net/<hash>/...` or `/cdn-cgi/imagedelivery/<hash>/...`). */
export function accountHashFromVariants(variants: readonly string[]): string | undefined {
	for (const url of variants) {
		const match = /imagedelivery\.net\/([^/]+)\//.exec(url) ?? /\/cdn-cgi\/imagedelivery\/([^/]+)\//.exec(url);
		if (match) return match[1];
	}
	return undefined;
}

/** Encodes an image ID for a delivery URL, keeping `/` between segments (so `%` becomes `%25`). */
export function encodeImageId(id: string): string {
	return id.split('/').map(encodeURIComponent).join('/');
}

/**
 * `{image_id}` in an API path: one segment, fully URL-encoded — Cloudflare requires it ("must be
 * fully URL encoded", delete-images docs) and its SDK sends `/` as `%2F`. Unencoded, `renders/x`
 * would be another route and the image would never be found.
 */
export function encodeApiImageId(id: string): string {
	if (id === '' || id === '.' || id === '..') {
		throw new StorageError(`The image ID "${id}" cannot name an image: give the ID an upload returned`, { provider: 'cloudflareImages', code: 'InvalidId', key: id });
	}
	return encodeURIComponent(id);
}

/** True for Cloudflare's answer that the image does not exist (code 5404); any other 404 is an error. */
export function isImageNotFound(error: unknown): boolean {
	return error instanceof StorageError && error.code === '5404';
}

/** Flexible variants (`w=400,sharpen=3`) as opposed to named ones (`public`). */
export function isFlexibleVariant(variant: string): boolean {
	return variant.includes('=');
}

/**
 * Signs a delivery URL of a private image as Cloudflare defines it in "Serve private images"
 * (developers.cloudflare.com/images/optimization/hosted-images/serve-private-images/): `exp` (Unix
 * seconds) joins the query, then `sig` = hex HMAC-SHA256 of `pathname + "?" + query`, keyed with the
 * UTF-8 bytes of the Images signing key.
 */
export function signDeliveryUrl(url: string, signingKey: string, expiresAt: number): string {
	const signed = new URL(url);
	signed.searchParams.delete('sig');
	signed.searchParams.set('exp', String(Math.floor(expiresAt)));
	const sig = createHmac('sha256', signingKey).update(`${signed.pathname}?${signed.searchParams.toString()}`).digest('hex');
	signed.searchParams.set('sig', sig);
	return signed.toString();
}

/** Why a URL cannot be signed: the key is missing. `option` names the node setting that asked for it. */
export function signingKeyMissing(option: string): string {
	return `${option} needs the URL Signing Key of the Cloudflare Images credential, which is empty: copy a key from Images → Keys in the Cloudflare dashboard into the credential's "URL Signing Key" field, or turn ${option} off`;
}

/** Delivery URL of one variant, on imagedelivery.net or on a custom domain of the same account. */
export function buildDeliveryUrl(input: { accountHash: string; id: string; variant: string; deliveryDomain?: string }): string {
	const path = `${encodeURIComponent(input.accountHash)}/${encodeImageId(input.id)}/${input.variant.split('/').map(encodeURIComponent).join('/').replace(/%3D/g, '=').replace(/%2C/g, ',')}`;
	const domain = input.deliveryDomain?.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
	return domain ? `https://${domain}/cdn-cgi/imagedelivery/${path}` : `https://imagedelivery.net/${path}`;
}

export class CloudflareImagesClient {
	private readonly apiBase: string;
	private readonly batchBase: string;
	/** Every call on the API host: Cloudflare's global budget. */
	private readonly apiLimiter: TokenBucket;
	/** Calls on the batch host, with a batch token (its own 200 requests/s per token). */
	private readonly batchLimiter: TokenBucket;
	private readonly dispatcher: Dispatcher;
	private readonly timeoutMs: number;
	private readonly log: StorageLogger;
	private accountHash?: string;
	private batchToken?: { token: string; expiresAt: number; renewAt: number };
	private batchTokenPending?: Promise<string>;

	constructor(private readonly config: CloudflareImagesConfig) {
		if (!config.accountId?.trim()) throw new Error('The Cloudflare account ID is empty');
		if (!config.apiToken?.trim()) throw new Error('The Cloudflare API token is empty');
		this.apiBase = (config.apiBaseUrl ?? 'https://api.cloudflare.com/client/v4').replace(/\/+$/, '');
		this.batchBase = (config.batchBaseUrl ?? 'https://batch.imagedelivery.net').replace(/\/+$/, '');
		const rate = config.ratePerSecond ?? (config.useBatchToken ? CF_DEFAULT_BATCH_RATE_PER_SECOND : CF_DEFAULT_RATE_PER_SECOND);
		// With a batch token, images go to the batch host at `rate` and the API host only hands out tokens.
		this.apiLimiter = new TokenBucket(config.useBatchToken ? CF_DEFAULT_RATE_PER_SECOND : rate, undefined, Date.now, config.apiBudget ?? CF_API_BUDGET);
		this.batchLimiter = new TokenBucket(rate);
		this.dispatcher = new Agent({ connections: config.connections ?? 16, keepAliveTimeout: 10_000 });
		this.timeoutMs = config.requestTimeoutMs ?? 60_000;
		this.log = config.log ?? (() => undefined);
		this.accountHash = config.accountHash?.trim() || undefined;
	}

	get account(): string {
		return this.config.accountId;
	}

	get knownAccountHash(): string | undefined {
		return this.accountHash;
	}

	/** Whether the credential holds a signing key for private images' delivery URLs. */
	get canSign(): boolean {
		return !!this.config.signingKey?.trim();
	}

	/** Uploads one image; a taken custom ID returns the stored image with `existed: true`. */
	async upload(request: CloudflareUploadRequest, signal?: AbortSignal): Promise<CloudflareImage> {
		precheckCloudflareUpload(request);
		const form = new FormData();
		form.append('file', new Blob([request.data], { type: request.contentType }), request.fileName || 'image');
		// The custom ID travels as a form field, as is: only API paths need it encoded.
		if (request.id !== undefined) form.append('id', request.id);
		if (request.metadata !== undefined) form.append('metadata', JSON.stringify(request.metadata));
		if (request.requireSignedURLs !== undefined) form.append('requireSignedURLs', String(request.requireSignedURLs));
		try {
			const envelope = await this.call('POST', '', { body: form, signal, key: request.id });
			return this.toImage(envelope, false);
		} catch (error) {
			if (request.id !== undefined && error instanceof StorageError && (error.code === '5409' || error.httpStatus === 409)) {
				this.log('info', `Cloudflare Images already has "${request.id}" (5409); returning the stored image instead of uploading again`);
				const existing = await this.get(request.id, signal);
				if (existing) return { ...existing, existed: true };
			}
			throw error;
		}
	}

	/** The stored image, or undefined when Cloudflare answers that it does not know the ID (5404). */
	async get(id: string, signal?: AbortSignal): Promise<CloudflareImage | undefined> {
		try {
			return this.toImage(await this.call('GET', `/${encodeApiImageId(id)}`, { signal, key: id }), true);
		} catch (error) {
			if (isImageNotFound(error)) return undefined;
			throw error;
		}
	}

	/** Deletes an image; returns false when Cloudflare answers that it did not exist (5404). */
	async delete(id: string, signal?: AbortSignal): Promise<boolean> {
		try {
			await this.call('DELETE', `/${encodeApiImageId(id)}`, { signal, key: id });
			return true;
		} catch (error) {
			if (isImageNotFound(error)) return false;
			throw error;
		}
	}

	/** A cheap authenticated call for the credential test. */
	async check(signal?: AbortSignal): Promise<void> {
		await this.request('GET', `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1/stats`, {
			token: this.config.apiToken,
			limiter: this.apiLimiter,
			signal,
		});
	}

	/**
	 * Delivery URL of `variant`; needs the account hash (configured, or seen in a variant URL). With
	 * `signedForSeconds` it is signed (see `signDeliveryUrl`) on imagedelivery.net, the host
	 * Cloudflare documents signing for, even when a delivery domain is set.
	 */
	deliveryUrl(id: string, variant: string, variants: readonly string[] = [], signedForSeconds?: number): string | undefined {
		if (!this.accountHash) this.accountHash = accountHashFromVariants(variants);
		if (!this.accountHash) return undefined;
		if (signedForSeconds === undefined) return buildDeliveryUrl({ accountHash: this.accountHash, id, variant, deliveryDomain: this.config.deliveryDomain });
		return this.sign(buildDeliveryUrl({ accountHash: this.accountHash, id, variant }), signedForSeconds);
	}

	/** Signs a delivery URL for `seconds`; throws when the credential has no signing key. */
	sign(url: string, seconds: number): string {
		const key = this.config.signingKey?.trim();
		if (!key) throw new StorageError(signingKeyMissing('Require Signed URLs'), { provider: 'cloudflareImages', code: 'SigningKeyMissing' });
		if (!(seconds >= 1)) throw new StorageError(`A signed URL must be valid for at least 1 second; got ${seconds}`, { provider: 'cloudflareImages', code: 'InvalidExpiry' });
		return signDeliveryUrl(url, key, Date.now() / 1000 + seconds);
	}

	close(): Promise<void> {
		return this.dispatcher.close();
	}

	private toImage(envelope: Envelope, existed: boolean): CloudflareImage {
		const result = envelope.result ?? {};
		if (!result.id) throw new StorageError('Cloudflare Images answered without an image ID', { provider: 'cloudflareImages' });
		const variants = Array.isArray(result.variants) ? result.variants : [];
		if (!this.accountHash) this.accountHash = accountHashFromVariants(variants);
		return {
			id: result.id,
			filename: result.filename,
			uploaded: result.uploaded,
			requireSignedURLs: result.requireSignedURLs,
			variants,
			// The API schema names it `meta`; some documentation examples show `metadata`.
			metadata: result.meta ?? result.metadata,
			existed,
		};
	}

	/** One Images API call on the API host or, with a batch token, on the batch host. */
	private async call(method: 'GET' | 'POST' | 'DELETE', path: string, options: { body?: FormData; signal?: AbortSignal; key?: string }): Promise<Envelope> {
		if (!this.config.useBatchToken) {
			const url = `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1${path}`;
			return this.request(method, url, { ...options, token: this.config.apiToken, limiter: this.apiLimiter });
		}
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

	private async getBatchToken(signal?: AbortSignal): Promise<string> {
		if (this.batchToken && Date.now() < this.batchToken.renewAt) return this.batchToken.token;
		this.batchTokenPending ??= (async () => {
			try {
				const url = `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1/batch_token`;
				const fetchedAt = Date.now();
				const envelope = await this.request('GET', url, { token: this.config.apiToken, limiter: this.apiLimiter, signal });
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
		options: { token: string; limiter: TokenBucket; body?: FormData; signal?: AbortSignal; key?: string },
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
		options: { token: string; limiter: TokenBucket; body?: FormData; signal?: AbortSignal; key?: string },
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
