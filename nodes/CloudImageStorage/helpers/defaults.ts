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

// n8n's lint wants a plain name (not `obj.field`) as a description's default: one constant each.
/** S3 object key template of an upload. */
export const DEFAULT_KEY_TEMPLATE = '{{executionId}}/{{itemIndex}}-{{property}}.{{ext}}';
/** Which URL an upload returns (S3). */
export const DEFAULT_UPLOAD_URL_KIND: UrlKind = 'public';
/** Which URL Get URL builds (S3). */
export const DEFAULT_GET_URL_KIND: Exclude<UrlKind, 'none'> = 'presigned';
export const DEFAULT_PRESIGN_EXPIRY_S = 3600;
export const DEFAULT_VARIANT = 'public';
export const DEFAULT_SIGNED_URL_EXPIRY_S = 3600;
// Upload options
export const DEFAULT_ATTEMPTS_PER_FILE = DEFAULT_ATTEMPTS;
export const DEFAULT_CONCURRENCY = DEFAULT_UPLOAD_CONCURRENCY;
export const DEFAULT_RETRY_DELAY_MS = DEFAULT_BACKOFF.initialMs;
export const DEFAULT_MAX_RETRY_AFTER_S = DEFAULT_MAX_RETRY_AFTER_MS / 1000;
export const DEFAULT_MULTIPART_THRESHOLD_MB = DEFAULT_MULTIPART_THRESHOLD_BYTES / MB;
export const DEFAULT_RATE_PER_SECOND = CF_DEFAULT_RATE_PER_SECOND;

export const LIMITS = {
	attempts: { min: 1, max: 10 },
	concurrency: { min: 1, max: 64 },
	presignExpiry: { min: 1, max: MAX_PRESIGN_SECONDS },
	multipartThresholdMb: { min: 5 },
};
