/**
 * When a storage request goes again: one policy for every upload, lookup and delete. A retryable
 * provider answer (429, 5xx, a network failure) is tried again after an exponential, jittered backoff,
 * or after what the provider asked (Retry-After) as long as that stays within the wait the run accepts;
 * anything else is final at once.
 */
import { retry, type BackoffOptions, type RetryDecision } from '../util/backoff';
import { StorageError } from './errors';
import type { StorageLogger } from './types';

/** Attempts per request by default, the first included: retries after about 1 s, 2 s and 4 s. */
export const DEFAULT_ATTEMPTS = 4;

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Longest Retry-After honoured by default (5 minutes); a longer demand fails the request with a message saying so. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 300_000;

export interface StorageRetryOptions {
	/** Attempts including the first (default DEFAULT_ATTEMPTS). */
	attempts?: number;
	backoff?: BackoffOptions;
	/** Longest Retry-After to honour (default DEFAULT_MAX_RETRY_AFTER_MS). */
	maxRetryAfterMs?: number;
	signal?: AbortSignal;
	random?: () => number;
	/** Gets a warning line before every wait. */
	log?: StorageLogger;
	/** Names the request in the log line, e.g. `Item 2, property "data", key "a.png"`. */
	where?: string;
}

/** Whether a failed storage request goes again, and after how long the provider asked. */
export function retryDecision(error: unknown, maxRetryAfterMs: number): RetryDecision {
	if (!(error instanceof StorageError) || !error.retryable) return { retry: false };
	if (error.retryAfterMs !== undefined && error.retryAfterMs > maxRetryAfterMs) {
		error.message += ` (the provider asked to wait ${Math.round(error.retryAfterMs / 1000)} s, more than the ${Math.round(maxRetryAfterMs / 1000)} s this node waits; try again later or lower the rate)`;
		return { retry: false };
	}
	return { retry: true, afterMs: error.retryAfterMs };
}

/**
 * Runs `request` under the storage retry policy. `request` gets the attempt number (1-based); a
 * StorageError that ends the run carries the attempts it took.
 */
export async function withRetries<T>(request: (attempt: number) => Promise<T>, options: StorageRetryOptions = {}): Promise<T> {
	const attempts = Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS);
	const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
	let made = 0;
	try {
		return await retry(
			(attempt) => {
				made = attempt;
				return request(attempt);
			},
			{
				attempts,
				backoff: options.backoff ?? DEFAULT_BACKOFF,
				signal: options.signal,
				random: options.random,
				maxRetryAfterMs,
				classify: (error) => retryDecision(error, maxRetryAfterMs),
				onRetry: ({ error, attempt, delayMs }) => {
					if (!options.log) return;
					const reason = error instanceof StorageError ? error.describe() : String(error);
					const asked = error instanceof StorageError && error.retryAfterMs !== undefined ? ' as the provider asked (Retry-After)' : '';
					const where = options.where ? `${options.where}: ` : '';
					options.log('warn', `${where}${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s${asked} (attempt ${attempt + 1} of ${attempts})`);
				},
			},
		);
	} catch (error) {
		if (error instanceof StorageError) error.attempts = made;
		throw error;
	}
}
