/**
 * Uploads the files of many items through ONE concurrency limit, with retries (exponential backoff,
 * jitter, Retry-After), skip-if-exists and URL building. Each item's failure stays with that item.
 */
import { createHash } from 'crypto';
import type { Readable } from 'stream';
import pLimit from 'p-limit';
import { AbortedError, type BackoffOptions } from '../util/backoff';
import { CF_MAX_BYTES, isFlexibleVariant, signingKeyMissing, type CloudflareImagesClient } from './cloudflareImages';
import { SNIFF_BYTES, extensionFromMime, isGenericMime, resolveContentType } from './contentType';
import { StorageError, type StorageProviderKind } from './errors';
import { renderKey, splitFileName, templateNeedsSha256, type KeyContext } from './keyTemplate';
import { DEFAULT_ATTEMPTS, DEFAULT_MAX_RETRY_AFTER_MS, withRetries } from './retryPolicy';
import type { S3Storage } from './s3';
import type { StorageLogger, UploadBody } from './types';

export interface UploadFileSpec {
	itemIndex: number;
	property: string;
	fileName?: string;
	/** Mime type declared by the binary data. */
	mimeType?: string;
	body: UploadBody;
	/** Object key template (S3) or custom ID template (Cloudflare; empty = Cloudflare assigns an ID). */
	keyTemplate: string;
	keyContext: Pick<KeyContext, 'executionId' | 'nodeName' | 'workflowId' | 'now'>;
	contentTypeOverride?: string;
	cacheControl?: string;
	contentDisposition?: string;
	metadata?: Record<string, string>;
	/** S3 canned ACL of this file (none = the bucket's default). */
	acl?: 'private' | 'public-read';
	/** This file's own attempts, backoff and skip-if-exists (default: the run's, in UploaderOptions). */
	attempts?: number;
	backoff?: BackoffOptions;
	skipIfExists?: boolean;
}

export type UploadTarget =
	| {
			provider: 's3';
			storage: S3Storage;
			urlKind: 'public' | 'presigned' | 'none';
			presignExpirySeconds?: number;
	  }
	| {
			provider: 'cloudflareImages';
			client: CloudflareImagesClient;
			/** Variant for the main `url` (default `public`). */
			variant?: string;
			/** Private images: their URLs are signed with the credential's signing key. */
			requireSignedURLs?: boolean;
			/** Lifetime of signed URLs (default 1 hour). */
			signedUrlExpirySeconds?: number;
	  };

/**
 * Files uploading at once by default: most of an upload's time is the provider's latency, not
 * bandwidth, so many small uploads in flight pay off (large files also share a multipart limit of
 * their own, so this does not multiply memory).
 */
export const DEFAULT_UPLOAD_CONCURRENCY = 32;

export interface UploaderOptions {
	/** Files uploading at once, across all items (default DEFAULT_UPLOAD_CONCURRENCY). */
	concurrency?: number;
	/** Attempts per file including the first (default DEFAULT_ATTEMPTS: retries after about 1 s, 2 s, 4 s); a file may set its own. */
	attempts?: number;
	backoff?: BackoffOptions;
	skipIfExists?: boolean;
	/** Longest Retry-After to honour; a longer demand fails the file (default 5 minutes). */
	maxRetryAfterMs?: number;
	signal?: AbortSignal;
	log?: StorageLogger;
	random?: () => number;
}

export interface FileResult {
	property: string;
	fileName?: string;
	provider: StorageProviderKind;
	bucket?: string;
	account?: string;
	key?: string;
	id?: string;
	size: number;
	contentType: string;
	etag?: string;
	url?: string;
	presignedUrl?: string;
	variants?: string[];
	sha256?: string;
	multipart?: boolean;
	attempts: number;
	skipped: boolean;
	skippedReason?: string;
}

export interface ItemResult {
	itemIndex: number;
	files: FileResult[];
	error?: StorageError;
}

/** Runs every file through one limiter and returns one result per distinct item index, in input order. */
export async function uploadAll(files: UploadFileSpec[], target: UploadTarget, options: UploaderOptions = {}): Promise<ItemResult[]> {
	preflight(target);
	const limit = pLimit(Math.max(1, Math.floor(options.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY)));
	const items = new Map<number, ItemResult>();
	for (const file of files) if (!items.has(file.itemIndex)) items.set(file.itemIndex, { itemIndex: file.itemIndex, files: [] });
	const settled = await Promise.all(
		files.map((file) =>
			limit(async () => {
				const item = items.get(file.itemIndex) as ItemResult;
				// Once a file of the item failed, the item's remaining files are not worth sending.
				if (item.error) return { file, result: undefined };
				try {
					return { file, result: await uploadOne(file, target, options) };
				} catch (error) {
					if (error instanceof AbortedError) throw error;
					const storageError = toItemError(error, file);
					item.error ??= storageError;
					return { file, result: undefined };
				}
			}),
		),
	);
	for (const { file, result } of settled) if (result) items.get(file.itemIndex)?.files.push(result);
	return [...items.values()];
}

function preflight(target: UploadTarget): void {
	if (target.provider === 'cloudflareImages' && target.requireSignedURLs) {
		// Cloudflare refuses unsigned URLs of private images: without a key, none of the URLs would work.
		if (!target.client.canSign) throw new Error(signingKeyMissing('Require Signed URLs'));
		const variant = target.variant?.trim() || 'public';
		if (isFlexibleVariant(variant)) {
			throw new Error(`Cloudflare Images cannot sign flexible variants ("${variant}"): with Require Signed URLs, pick a named variant such as public`);
		}
		const seconds = target.signedUrlExpirySeconds ?? 3600;
		if (!(seconds >= 1)) throw new Error(`A signed URL must be valid for at least 1 second; got ${seconds}`);
	}
	if (target.provider === 's3') {
		if (target.urlKind === 'public') target.storage.publicUrl('preflight');
		if (target.urlKind === 'presigned') {
			const seconds = target.presignExpirySeconds ?? 3600;
			if (!(seconds >= 1 && seconds <= 604_800)) {
				throw new Error(`A presigned URL's expiry must be between 1 second and 7 days (604800 s); got ${seconds}`);
			}
		}
	}
}

function toItemError(error: unknown, file: UploadFileSpec): StorageError {
	const storageError =
		error instanceof StorageError
			? error
			: new StorageError(error instanceof Error ? error.message : String(error), { cause: error });
	storageError.itemIndex = file.itemIndex;
	storageError.property = file.property;
	return storageError;
}

async function uploadOne(file: UploadFileSpec, target: UploadTarget, options: UploaderOptions): Promise<FileResult> {
	const signal = options.signal;
	const log = options.log ?? (() => undefined);
	// Opening a stream only to sniff it is worth it only when nothing else tells the type.
	const needsSniff = file.body.kind === 'buffer' || (!file.contentTypeOverride?.trim() && isGenericMime(file.mimeType));
	const head = needsSniff ? await readHead(file.body) : undefined;
	const contentType = resolveContentType({ override: file.contentTypeOverride, declared: file.mimeType, head, fileName: file.fileName });
	const ext = splitFileName(file.fileName).ext || extensionFromMime(contentType) || 'bin';
	const sha256 = templateNeedsSha256(file.keyTemplate) ? await hashBody(file.body) : undefined;
	const template = file.keyTemplate.trim();
	let key: string | undefined;
	try {
		key =
			template === '' && target.provider === 'cloudflareImages'
				? undefined
				: renderKey(template, { ...file.keyContext, itemIndex: file.itemIndex, property: file.property, fileName: file.fileName, ext, sha256 });
	} catch (error) {
		throw new StorageError(error instanceof Error ? error.message : String(error), { code: 'InvalidKeyTemplate' });
	}
	const where = `Item ${file.itemIndex}, property "${file.property}"${key ? `, key "${key}"` : ''}`;
	let attempts = 0;
	const retries = {
		attempts: file.attempts ?? options.attempts ?? DEFAULT_ATTEMPTS,
		backoff: file.backoff ?? options.backoff,
		maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
		signal,
		random: options.random,
		log,
		where,
	};
	const run = async <T>(fn: () => Promise<T>): Promise<T> =>
		withRetries((attempt) => {
			attempts = attempt;
			return fn();
		}, retries).catch((error: unknown) => {
			if (error instanceof StorageError) error.key ??= key;
			throw error;
		});
	const skipIfExists = file.skipIfExists ?? options.skipIfExists ?? false;

	if (target.provider === 's3') {
		const storage = target.storage;
		if (!key) throw new StorageError('The object key is empty', { code: 'InvalidKeyTemplate' });
		const objectKey = key;
		const base = { property: file.property, fileName: file.fileName, provider: 's3' as const, bucket: storage.bucket, key: objectKey, contentType, sha256 };
		if (skipIfExists) {
			const existing = await run(() => storage.exists(objectKey, signal));
			if (existing.state === 'exists') {
				return { ...base, size: existing.size ?? 0, etag: existing.etag, ...(await s3Urls(target, objectKey, file)), attempts, skipped: true, skippedReason: 'exists' };
			}
			if (existing.state === 'unknown') log('warn', `${where}: cannot tell whether the object exists (${existing.reason}); uploading it`);
		}
		const metadata = sha256 ? { ...(file.metadata ?? {}), sha256 } : file.metadata;
		const outcome = await run(() =>
			storage.put(
				{ key: objectKey, body: file.body, contentType, cacheControl: file.cacheControl, contentDisposition: file.contentDisposition, metadata, acl: file.acl },
				signal,
			),
		);
		return { ...base, size: outcome.size, etag: outcome.etag, multipart: outcome.multipart, ...(await s3Urls(target, objectKey, file)), attempts, skipped: false };
	}

	const client = target.client;
	const variant = target.variant?.trim() || 'public';
	if (skipIfExists && key) {
		const id = key;
		const existing = await run(() => client.get(id, signal));
		if (existing) {
			const size = file.body.kind === 'buffer' ? file.body.data.length : (file.body.size ?? 0);
			return cfResult(file, target, existing, variant, contentType, size, attempts, true, 'exists');
		}
	}
	const data = await readForCloudflare(file.body);
	const image = await run(() =>
		client.upload(
			{ data, fileName: file.fileName || `${file.property}.${ext}`, contentType, id: key, metadata: file.metadata, requireSignedURLs: target.requireSignedURLs },
			signal,
		),
	);
	return cfResult(file, target, image, variant, contentType, data.length, attempts, image.existed, image.existed ? 'already uploaded (5409)' : undefined);
}

function cfResult(
	file: UploadFileSpec,
	target: Extract<UploadTarget, { provider: 'cloudflareImages' }>,
	image: { id: string; variants: string[]; requireSignedURLs?: boolean },
	variant: string,
	contentType: string,
	size: number,
	attempts: number,
	skipped: boolean,
	skippedReason: string | undefined,
): FileResult {
	const client: CloudflareImagesClient = target.client;
	// A private image's URLs work only signed; Cloudflare returns them unsigned.
	const signedFor = target.requireSignedURLs || image.requireSignedURLs ? (target.signedUrlExpirySeconds ?? 3600) : undefined;
	const variants = signedFor === undefined ? image.variants : image.variants.map((url) => client.sign(url, signedFor));
	return {
		property: file.property,
		fileName: file.fileName,
		provider: 'cloudflareImages',
		account: client.account,
		id: image.id,
		key: image.id,
		size,
		contentType,
		url: client.deliveryUrl(image.id, variant, image.variants, signedFor) ?? variants.find((v) => v.split('?')[0].endsWith(`/${variant}`)) ?? variants[0],
		variants,
		attempts,
		skipped,
		skippedReason,
	};
}

async function s3Urls(
	target: Extract<UploadTarget, { provider: 's3' }>,
	key: string,
	file: UploadFileSpec,
): Promise<{ url?: string; presignedUrl?: string }> {
	if (target.urlKind === 'public') return { url: target.storage.publicUrl(key) };
	if (target.urlKind === 'presigned') {
		const presignedUrl = await target.storage.presignGet(key, target.presignExpirySeconds ?? 3600, { contentDisposition: file.contentDisposition });
		return { url: presignedUrl, presignedUrl };
	}
	return {};
}

/** The first bytes, for content sniffing; opens a stream only when it can be reopened. */
async function readHead(body: UploadBody): Promise<Buffer> {
	if (body.kind === 'buffer') return body.data.subarray(0, SNIFF_BYTES);
	const stream = await body.open();
	try {
		const chunks: Buffer[] = [];
		let length = 0;
		for await (const chunk of stream) {
			const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
			chunks.push(buffer);
			length += buffer.length;
			if (length >= SNIFF_BYTES) break;
		}
		return Buffer.concat(chunks).subarray(0, SNIFF_BYTES);
	} finally {
		stream.destroy();
	}
}

async function hashBody(body: UploadBody): Promise<string> {
	const hash = createHash('sha256');
	if (body.kind === 'buffer') return hash.update(body.data).digest('hex');
	const stream: Readable = await body.open();
	for await (const chunk of stream) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

async function readForCloudflare(body: UploadBody): Promise<Buffer> {
	if (body.kind === 'buffer') return body.data;
	if (body.size !== undefined && body.size > CF_MAX_BYTES) {
		throw new StorageError(
			`The image is ${(body.size / 1024 / 1024).toFixed(1)} MB; Cloudflare Images accepts at most 10 MB. Use an S3-compatible bucket or R2 for larger files`,
			{ provider: 'cloudflareImages', code: 'FileTooLarge' },
		);
	}
	const stream = await body.open();
	const chunks: Buffer[] = [];
	let length = 0;
	for await (const chunk of stream) {
		const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
		chunks.push(buffer);
		length += buffer.length;
		if (length > CF_MAX_BYTES) {
			stream.destroy();
			throw new StorageError('The image is larger than 10 MB; Cloudflare Images accepts at most 10 MB. Use an S3-compatible bucket or R2 for larger files', {
				provider: 'cloudflareImages',
				code: 'FileTooLarge',
			});
		}
	}
	return Buffer.concat(chunks);
}
