/** The one error type the storage engine throws: carries what a workflow author needs, never a secret. */

export type StorageProviderKind = 's3' | 'cloudflareImages';

export interface StorageErrorInit {
	provider?: StorageProviderKind;
	/** The provider's error code (S3 `SlowDown`, Cloudflare `5409`, `ECONNRESET`, ...). */
	code?: string;
	httpStatus?: number;
	/** Whether trying again may help (429, 5xx, network). */
	retryable?: boolean;
	/** Delay the provider asked for (Retry-After), in ms. */
	retryAfterMs?: number;
	/** Which input item / binary property / key it concerns, for the message. */
	itemIndex?: number;
	property?: string;
	key?: string;
	cause?: unknown;
}

export class StorageError extends Error {
	readonly provider?: StorageProviderKind;
	readonly code?: string;
	readonly httpStatus?: number;
	readonly retryable: boolean;
	readonly retryAfterMs?: number;
	itemIndex?: number;
	property?: string;
	key?: string;
	/** Attempts made before giving up (set by the uploader). */
	attempts?: number;

	constructor(message: string, init: StorageErrorInit = {}) {
		super(message);
		this.name = 'StorageError';
		this.provider = init.provider;
		this.code = init.code;
		this.httpStatus = init.httpStatus;
		this.retryable = init.retryable ?? false;
		this.retryAfterMs = init.retryAfterMs;
		this.itemIndex = init.itemIndex;
		this.property = init.property;
		this.key = init.key;
		if (init.cause !== undefined) (this as { cause?: unknown }).cause = init.cause;
	}

	/** Message prefixed with item, property and key, e.g. `Item 2, property "data", key "a/b.png": ...`. */
	describe(): string {
		const where: string[] = [];
		if (this.itemIndex !== undefined) where.push(`item ${this.itemIndex}`);
		if (this.property !== undefined) where.push(`property "${this.property}"`);
		if (this.key !== undefined) where.push(`key "${this.key}"`);
		const code = this.code !== undefined || this.httpStatus !== undefined
			? ` [${[this.code, this.httpStatus !== undefined ? `HTTP ${this.httpStatus}` : undefined].filter(Boolean).join(', ')}]`
			: '';
		const prefix = where.length > 0 ? `${where.join(', ').replace(/^./, (c) => c.toUpperCase())}: ` : '';
		return `${prefix}${this.message}${code}`;
	}
}

const NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'EPIPE',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'ENOTFOUND',
	'EAI_AGAIN',
	'UND_ERR_SOCKET',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
	'UND_ERR_CLOSED',
]);

/** Network-level failure codes worth retrying. */
export function isNetworkCode(code: string | undefined): boolean {
	return code !== undefined && NETWORK_CODES.has(code);
}

/** HTTP statuses worth retrying: timeouts, rate limits and server errors. */
export function isRetryableStatus(status: number | undefined): boolean {
	return status === 408 || status === 429 || (status !== undefined && status >= 500);
}
