/**
 * S3-compatible storage through the AWS SDK v3: one client per credential with a keep-alive agent,
 * buffers through PutObject, large files and videos streamed through lib-storage multipart.
 */
import http from 'http';
import https from 'https';
import { PassThrough, type Readable } from 'stream';
import {
	DeleteObjectCommand,
	GetObjectCommand,
	HeadBucketCommand,
	HeadObjectCommand,
	ListBucketsCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	S3Client,
	type ObjectCannedACL,
	type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pLimit from 'p-limit';
import { parseRetryAfter } from '../util/backoff';
import { redact } from '../util/redact';
import { StorageError, isNetworkCode, isRetryableStatus } from './errors';
import {
	buildPublicUrl,
	resolveS3Location,
	type ChecksumMode,
	type ResolvedS3Location,
	type S3PresetName,
} from './presets';
import { isVideo } from './contentType';
import type { UploadBody } from './types';

export const MAX_PRESIGN_SECONDS = 604_800;
const MIB = 1024 * 1024;
/** Files above this size (and every video) go up in parts by default. */
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 16 * MIB;

export interface S3StorageConfig {
	preset: S3PresetName;
	endpoint?: string;
	region?: string;
	/** Cloudflare account ID, for the R2 endpoint. */
	accountId?: string;
	forcePathStyle?: boolean;
	checksumMode?: ChecksumMode;
	accessKeyId: string;
	secretAccessKey: string;
	sessionToken?: string;
	bucket: string;
	/** CDN / custom domain / r2.dev base for public URLs (or a template containing `{key}`). */
	publicUrlBase?: string;
	/** Sockets in the keep-alive agent; keep it ≥ file concurrency (default 64). */
	maxSockets?: number;
	/** Files above this size, and every video, go through multipart (default 16 MiB). */
	multipartThresholdBytes?: number;
	/** Multipart part size (default 8 MiB, at least 5 MiB). */
	partSizeBytes?: number;
	/** Parts in flight per multipart upload (default 4). */
	queueSize?: number;
	/** Multipart uploads running at once, bounding memory to about this × queueSize × partSize (default 2). */
	multipartConcurrency?: number;
	connectionTimeoutMs?: number;
	requestTimeoutMs?: number;
}

export interface S3PutRequest {
	key: string;
	body: UploadBody;
	contentType: string;
	cacheControl?: string;
	contentDisposition?: string;
	metadata?: Record<string, string>;
	acl?: ObjectCannedACL;
}

export interface S3PutOutcome {
	etag?: string;
	size: number;
	multipart: boolean;
}

export type S3Existence =
	| { state: 'exists'; size?: number; etag?: string; contentType?: string }
	| { state: 'absent' }
	| { state: 'unknown'; reason: string };

interface SdkErrorShape {
	name?: string;
	message?: string;
	code?: string;
	Code?: string;
	$metadata?: { httpStatusCode?: number };
	$response?: { headers?: Record<string, string | undefined> };
}

export class S3Storage {
	readonly bucket: string;
	readonly location: ResolvedS3Location;
	/** PutObject / Head / Delete: single attempt, the uploader owns retries and their logging. */
	private readonly client: S3Client;
	/** Multipart parts are buffers, so the SDK may retry each part on its own. */
	private readonly multipartClient: S3Client;
	private readonly agent: http.Agent;
	private readonly secrets: string[];
	private readonly multipartLimit: ReturnType<typeof pLimit>;
	readonly multipartThresholdBytes: number;
	private readonly partSizeBytes: number;
	private readonly queueSize: number;
	private readonly publicUrlBase?: string;

	constructor(config: S3StorageConfig) {
		if (!config.bucket?.trim()) throw new Error('No bucket name: set it in the node or in the credential');
		this.bucket = config.bucket.trim();
		this.location = resolveS3Location(config);
		this.secrets = [config.secretAccessKey, config.sessionToken ?? ''].filter(Boolean);
		this.multipartThresholdBytes = config.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES;
		this.partSizeBytes = Math.max(5 * MIB, config.partSizeBytes ?? 8 * MIB);
		this.queueSize = Math.max(1, config.queueSize ?? 4);
		this.multipartLimit = pLimit(Math.max(1, config.multipartConcurrency ?? 2));
		this.publicUrlBase = config.publicUrlBase;
		const maxSockets = Math.max(8, config.maxSockets ?? 64);
		const isHttps = !this.location.endpoint || this.location.endpoint.startsWith('https:');
		this.agent = isHttps ? new https.Agent({ keepAlive: true, maxSockets }) : new http.Agent({ keepAlive: true, maxSockets });
		const base = {
			region: this.location.region,
			endpoint: this.location.endpoint,
			forcePathStyle: this.location.forcePathStyle,
			credentials: {
				accessKeyId: config.accessKeyId,
				secretAccessKey: config.secretAccessKey,
				sessionToken: config.sessionToken || undefined,
			},
			requestChecksumCalculation: this.location.checksumMode,
			responseChecksumValidation: this.location.checksumMode,
			// An options object makes the SDK build its NodeHttpHandler around our agent.
			requestHandler: {
				[isHttps ? 'httpsAgent' : 'httpAgent']: this.agent,
				connectionTimeout: config.connectionTimeoutMs ?? 10_000,
				requestTimeout: config.requestTimeoutMs ?? 120_000,
				throwOnRequestTimeout: true,
			},
		};
		this.client = new S3Client({ ...base, maxAttempts: 1 });
		this.multipartClient = new S3Client({ ...base, maxAttempts: 3 });
	}

	get presetName(): S3PresetName {
		return this.location.preset.name;
	}

	/** Whether this body goes through multipart: large, unknown size from a stream, or a video. */
	usesMultipart(body: UploadBody, contentType: string): boolean {
		const size = body.kind === 'buffer' ? body.data.length : body.size;
		return isVideo(contentType) || size === undefined || size > this.multipartThresholdBytes;
	}

	async put(request: S3PutRequest, signal?: AbortSignal): Promise<S3PutOutcome> {
		const params: PutObjectCommandInput = {
			Bucket: this.bucket,
			Key: request.key,
			ContentType: request.contentType,
			CacheControl: request.cacheControl || undefined,
			ContentDisposition: request.contentDisposition || undefined,
			Metadata: request.metadata && Object.keys(request.metadata).length > 0 ? request.metadata : undefined,
			// R2 and B2 reject x-amz-acl: never send it there.
			ACL: request.acl && this.location.preset.supportsAcl ? request.acl : undefined,
		};
		try {
			if (this.usesMultipart(request.body, request.contentType)) {
				return await this.multipartLimit(() => this.putMultipart(params, request.body, signal));
			}
			const data = request.body.kind === 'buffer' ? request.body.data : await readAll(await request.body.open());
			const output = await this.client.send(
				new PutObjectCommand({ ...params, Body: data, ContentLength: data.length }),
				{ abortSignal: signal },
			);
			return { etag: output.ETag, size: data.length, multipart: false };
		} catch (error) {
			throw this.toStorageError(error, request.key);
		}
	}

	private async putMultipart(params: PutObjectCommandInput, body: UploadBody, signal?: AbortSignal): Promise<S3PutOutcome> {
		let size = 0;
		let source: Buffer | Readable;
		if (body.kind === 'buffer') {
			source = body.data;
			size = body.data.length;
		} else {
			const counter = new PassThrough({ highWaterMark: 1024 * 1024 });
			counter.on('data', (chunk: Buffer) => {
				size += chunk.length;
			});
			const stream = await body.open();
			stream.on('error', (error) => counter.destroy(error));
			source = stream.pipe(counter);
		}
		const controller = new AbortController();
		const onAbort = () => controller.abort();
		signal?.addEventListener('abort', onAbort, { once: true });
		if (signal?.aborted) controller.abort();
		try {
			const upload = new Upload({
				client: this.multipartClient,
				params: { ...params, Body: source },
				partSize: this.partSizeBytes,
				queueSize: this.queueSize,
				leavePartsOnError: false,
				abortController: controller,
			});
			const output = await upload.done();
			return { etag: output.ETag, size, multipart: true };
		} finally {
			signal?.removeEventListener('abort', onAbort);
		}
	}

	/** HeadObject: 404 → absent; 403 → unknown (AWS answers 403 for missing keys without s3:ListBucket). */
	async exists(key: string, signal?: AbortSignal): Promise<S3Existence> {
		try {
			const output = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
			return { state: 'exists', size: output.ContentLength, etag: output.ETag, contentType: output.ContentType };
		} catch (error) {
			const shape = error as SdkErrorShape;
			const status = shape.$metadata?.httpStatusCode;
			if (status === 404 || shape.name === 'NotFound' || shape.name === 'NoSuchKey') return { state: 'absent' };
			if (status === 403) return { state: 'unknown', reason: 'HeadObject answered 403 (the key may lack s3:ListBucket)' };
			throw this.toStorageError(error, key);
		}
	}

	async delete(key: string, signal?: AbortSignal): Promise<void> {
		try {
			await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
		} catch (error) {
			throw this.toStorageError(error, key);
		}
	}

	/** A presigned GET URL valid for `expiresInSeconds` (1 s … 7 days). */
	async presignGet(key: string, expiresInSeconds: number, options: { contentDisposition?: string } = {}): Promise<string> {
		validatePresignExpiry(expiresInSeconds);
		const command = new GetObjectCommand({
			Bucket: this.bucket,
			Key: key,
			ResponseContentDisposition: options.contentDisposition || undefined,
		});
		return getSignedUrl(this.client, command, { expiresIn: Math.floor(expiresInSeconds) });
	}

	/** Public URL from the public base or the preset template; throws when the provider has none. */
	publicUrl(key: string): string {
		const url = buildPublicUrl({ location: this.location, bucket: this.bucket, key, publicUrlBase: this.publicUrlBase });
		if (!url) {
			throw new Error(
				`${this.location.preset.displayName} has no public URL at its S3 endpoint: set "Public URL Base" in the credential (a custom domain or r2.dev URL), or use presigned URLs`,
			);
		}
		return url;
	}

	/** Cheap reachability check for the credential test: HeadBucket, falling back to a 1-key listing. */
	async check(signal?: AbortSignal): Promise<void> {
		try {
			await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal });
		} catch (headError) {
			try {
				await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 }), { abortSignal: signal });
			} catch {
				throw this.toStorageError(headError, undefined);
			}
		}
	}

	/** Credential check when no bucket is known: lists the account's buckets. */
	async listBuckets(signal?: AbortSignal): Promise<string[]> {
		try {
			const output = await this.client.send(new ListBucketsCommand({}), { abortSignal: signal });
			return (output.Buckets ?? []).map((b) => b.Name ?? '').filter(Boolean);
		} catch (error) {
			throw this.toStorageError(error, undefined);
		}
	}

	toStorageError(error: unknown, key: string | undefined): StorageError {
		if (error instanceof StorageError) return error;
		const shape = (error ?? {}) as SdkErrorShape;
		const status = shape.$metadata?.httpStatusCode;
		const code = shape.Code ?? (shape.code && shape.code !== 'undefined' ? shape.code : undefined) ?? shape.name;
		const retryAfter = shape.$response?.headers?.['retry-after'];
		const network = isNetworkCode(shape.code) || shape.name === 'TimeoutError' || shape.name === 'RequestTimeout';
		const aborted = shape.name === 'AbortError';
		let message = redact(shape.message || String(error), this.secrets);
		if (!message || message === 'UnknownError') message = status ? `The S3 server answered HTTP ${status}` : 'The S3 request failed';
		if (code === 'NoSuchBucket') message += ` (bucket "${this.bucket}")`;
		if (code === 'ENOTFOUND' && !this.location.forcePathStyle) {
			message += ' — the bucket name became part of the host name; turn on path-style addressing for this provider';
		}
		return new StorageError(message, {
			provider: 's3',
			code,
			httpStatus: status,
			retryable: !aborted && (network || isRetryableStatus(status) || code === 'SlowDown'),
			retryAfterMs: parseRetryAfter(retryAfter),
			key,
			cause: error,
		});
	}

	destroy(): void {
		this.client.destroy();
		this.multipartClient.destroy();
		this.agent.destroy();
	}
}

export function validatePresignExpiry(seconds: number): void {
	if (!Number.isFinite(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
		throw new Error(`A presigned URL's expiry must be between 1 second and 7 days (604800 s); got ${seconds}`);
	}
}

async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}
