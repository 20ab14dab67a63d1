/**
 * One source for the defaults and choices of the node's parameters: the descriptions show them, the
 * operations apply them; where the storage engine has a default of its own, it is that one.
 */
import {
	CF_DEFAULT_RATE_PER_SECOND,
	DEFAULT_ATTEMPTS,
	DEFAULT_BACKOFF,
	DEFAULT_MAX_RETRY_AFTER_MS,
	DEFAULT_MULTIPART_THRESHOLD_BYTES,
	DEFAULT_UPLOAD_CONCURRENCY,
	MAX_PRESIGN_SECONDS,
} from '../../../src/storage';

export const MB = 1024 * 1024;

export type UrlKind = 'public' | 'presigned' | 'none';

export const DEFAULTS = {
	/** S3 object key template of an upload. */
	keyTemplate: '{{executionId}}/{{itemIndex}}-{{property}}.{{ext}}',
	/** Which URL an upload returns (S3). */
	uploadUrlKind: 'public' as UrlKind,
	/** Which URL Get URL builds (S3). */
	getUrlKind: 'presigned' as Exclude<UrlKind, 'none'>,
	presignExpiry: 3600,
	variant: 'public',
	signedUrlExpiry: 3600,
	// Upload options
	attempts: DEFAULT_ATTEMPTS,
	concurrency: DEFAULT_UPLOAD_CONCURRENCY,
	retryDelayMs: DEFAULT_BACKOFF.initialMs,
	maxRetryAfterSeconds: DEFAULT_MAX_RETRY_AFTER_MS / 1000,
	multipartThresholdMb: DEFAULT_MULTIPART_THRESHOLD_BYTES / MB,
	ratePerSecond: CF_DEFAULT_RATE_PER_SECOND,
};

export const LIMITS = {
	attempts: { min: 1, max: 10 },
	concurrency: { min: 1, max: 64 },
	presignExpiry: { min: 1, max: MAX_PRESIGN_SECONDS },
	multipartThresholdMb: { min: 5 },
};
