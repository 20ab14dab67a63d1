/**
 * Cloudflare Images over its REST API (undici): multipart uploads with pre-checks, the response
 * envelope, 5409 "already exists" as success, 429 pauses the whole client, batch tokens, delivery URLs.
 */
import { Agent, FormData, fetch, type Dispatcher } from 'undici';
import { parseRetryAfter } from '../util/backoff';
import { redact } from '../util/redact';
import { isVideo } from './contentType';
import { StorageError, isNetworkCode } from './errors';
import { readImageDimensions } from './imageSize';
import { TokenBucket } from './tokenBucket';
import type { StorageLogger } from './types';

export const CF_MAX_BYTES = 10 * 1024 * 1024;
export const CF_MAX_DIMENSION = 12_000;
export const CF_MAX_METADATA_BYTES = 1024;
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
	/** Upload through a batch token (200 req/s per token, outside the global API limit). */
	useBatchToken?: boolean;
	/** Sustained uploads per second (default 4; 50 with a batch token). */
	ratePerSecond?: number;
	requestTimeoutMs?: number;
	/** Longest wait for the rate limiter (after a 429 pause) before a file fails (default 5 minutes). */
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
	if (dimensions && Math.max(dimensions.width, dimensions.height) > CF_MAX_DIMENSION) {
		fail(
			`The image is ${dimensions.width}×${dimensions.height} px; Cloudflare Images accepts at most ${CF_MAX_DIMENSION} px per side`,
			'ImageTooLarge',
		);
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

/** Encodes an image ID for a URL path, keeping `/` between segments (so `%` becomes `%25`). */
export function encodeImageId(id: string): string {
	return id.split('/').map(encodeURIComponent).join('/');
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
	private readonly bucket: TokenBucket;
	private readonly dispatcher: Dispatcher;
	private readonly timeoutMs: number;
	private readonly log: StorageLogger;
	private accountHash?: string;
	private batchToken?: { token: string; expiresAt: number };
	private batchTokenPending?: Promise<string>;

	constructor(private readonly config: CloudflareImagesConfig) {
		if (!config.accountId?.trim()) throw new Error('The Cloudflare account ID is empty');
		if (!config.apiToken?.trim()) throw new Error('The Cloudflare API token is empty');
		this.apiBase = (config.apiBaseUrl ?? 'https://api.cloudflare.com/client/v4').replace(/\/+$/, '');
		this.batchBase = (config.batchBaseUrl ?? 'https://batch.imagedelivery.net').replace(/\/+$/, '');
		this.bucket = new TokenBucket(config.ratePerSecond ?? (config.useBatchToken ? 50 : 4));
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

	/** Uploads one image; a taken custom ID returns the stored image with `existed: true`. */
	async upload(request: CloudflareUploadRequest, signal?: AbortSignal): Promise<CloudflareImage> {
		precheckCloudflareUpload(request);
		const form = new FormData();
		form.append('file', new Blob([request.data], { type: request.contentType }), request.fileName || 'image');
		if (request.id !== undefined) form.append('id', request.id);
		if (request.metadata !== undefined) form.append('metadata', JSON.stringify(request.metadata));
		if (request.requireSignedURLs !== undefined) form.append('requireSignedURLs', String(request.requireSignedURLs));
		try {
			const envelope = await this.call('POST', '', { body: form, signal, key: request.id, rateLimited: true });
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

	/** The stored image, or undefined when Cloudflare does not know the ID (5404 / 404). */
	async get(id: string, signal?: AbortSignal): Promise<CloudflareImage | undefined> {
		try {
			return this.toImage(await this.call('GET', `/${encodeImageId(id)}`, { signal, key: id }), true);
		} catch (error) {
			if (error instanceof StorageError && (error.httpStatus === 404 || error.code === '5404')) return undefined;
			throw error;
		}
	}

	/** Deletes an image; returns false when it did not exist. */
	async delete(id: string, signal?: AbortSignal): Promise<boolean> {
		try {
			await this.call('DELETE', `/${encodeImageId(id)}`, { signal, key: id });
			return true;
		} catch (error) {
			if (error instanceof StorageError && (error.httpStatus === 404 || error.code === '5404')) return false;
			throw error;
		}
	}

	/** A cheap authenticated call for the credential test. */
	async check(signal?: AbortSignal): Promise<void> {
		await this.request('GET', `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1/stats`, {
			token: this.config.apiToken,
			signal,
		});
	}

	/** Delivery URL of `variant`; needs the account hash (configured, or seen in a variant URL). */
	deliveryUrl(id: string, variant: string, variants: readonly string[] = []): string | undefined {
		if (!this.accountHash) this.accountHash = accountHashFromVariants(variants);
		if (!this.accountHash) return undefined;
		return buildDeliveryUrl({ accountHash: this.accountHash, id, variant, deliveryDomain: this.config.deliveryDomain });
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
			metadata: result.metadata ?? result.meta,
			existed,
		};
	}

	/** One Images API call on the API host or, with a batch token, on the batch host. */
	private async call(
		method: 'GET' | 'POST' | 'DELETE',
		path: string,
		options: { body?: FormData; signal?: AbortSignal; key?: string; rateLimited?: boolean },
	): Promise<Envelope> {
		if (options.rateLimited) {
			const maxWaitMs = this.config.maxWaitMs ?? 300_000;
			try {
				await this.bucket.acquire(options.signal, Date.now() + maxWaitMs);
			} catch (error) {
				if (options.signal?.aborted) throw error;
				throw new StorageError(
					`Cloudflare Images asked to pause uploads for longer than ${Math.round(maxWaitMs / 1000)} s (rate limit); try again later or use a batch token`,
					{ provider: 'cloudflareImages', code: '971', httpStatus: 429, retryable: false, key: options.key },
				);
			}
		}
		if (this.config.useBatchToken) {
			const token = await this.getBatchToken(options.signal);
			return this.request(method, `${this.batchBase}/images/v1${path}`, { ...options, token });
		}
		const url = `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1${path}`;
		return this.request(method, url, { ...options, token: this.config.apiToken });
	}

	private async getBatchToken(signal?: AbortSignal): Promise<string> {
		if (this.batchToken && this.batchToken.expiresAt - Date.now() > 60_000) return this.batchToken.token;
		this.batchTokenPending ??= (async () => {
			try {
				const url = `${this.apiBase}/accounts/${encodeURIComponent(this.config.accountId)}/images/v1/batch_token`;
				const envelope = await this.request('GET', url, { token: this.config.apiToken, signal });
				const token = envelope.result?.token;
				if (!token) throw new StorageError('Cloudflare answered the batch token request without a token', { provider: 'cloudflareImages' });
				const expiresAt = Date.parse(envelope.result?.expiresAt ?? '') || Date.now() + 10 * 60_000;
				this.batchToken = { token, expiresAt };
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
		options: { token: string; body?: FormData; signal?: AbortSignal; key?: string },
	): Promise<Envelope> {
		const secrets = [this.config.apiToken, options.token];
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
		const rateLimited = status === 429 || bodyCode === '971';
		if (rateLimited) {
			const waitMs = retryAfterMs ?? 60_000;
			// Cloudflare blocks every call of the token after a 429: stop all uploads, not just this one.
			this.bucket.pause(Date.now() + waitMs);
			this.log('warn', `Cloudflare Images rate limit reached (HTTP 429${bodyCode ? `, code ${bodyCode}` : ''}); it asks to wait ${Math.round(waitMs / 1000)} s, pausing all uploads`);
		}
		const retryable = rateLimited || status >= 500 || status === 408 || (bodyCode !== undefined && RETRYABLE_CODES.has(bodyCode));
		throw new StorageError(`Cloudflare Images: ${message}`, {
			provider: 'cloudflareImages',
			code: bodyCode,
			httpStatus: status,
			retryable,
			retryAfterMs: rateLimited ? (retryAfterMs ?? 60_000) : retryAfterMs,
			key: options.key,
		});
	}
}
