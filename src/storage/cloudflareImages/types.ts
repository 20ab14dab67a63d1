/**
 * The shapes Cloudflare Images is spoken to in: the client's configuration, an upload request, a
 * stored image as this package returns it, and the API's response envelope.
 */
import type { WindowBudget } from '../tokenBucket';
import type { StorageLogger } from '../types';

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

/** Every answer of the Images API (and of the batch token request) comes in this envelope. */
export interface Envelope {
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
