/**
 * The one backoff helper every wait and retry goes through: exponential delays with jitter,
 * `Retry-After` parsing, an abortable sleep and a retry loop.
 */

export interface BackoffOptions {
	/** Delay before the first retry, in ms. */
	initialMs: number;
	/** Upper bound of any single delay, in ms. */
	maxMs: number;
	/** Growth per attempt (default 2). */
	factor?: number;
	/** Fraction of the delay that is randomised, 0..1 (default 0.2: delay × [0.8, 1.2]). */
	jitter?: number;
}

/** Delay before retry number `attempt` (0 = first retry). Pure given `random`. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
	const factor = options.factor ?? 2;
	const jitter = options.jitter ?? 0.2;
	const base = Math.min(options.maxMs, options.initialMs * Math.pow(factor, Math.max(0, attempt)));
	const spread = base * jitter;
	const delay = base - spread + random() * 2 * spread;
	return Math.max(0, Math.min(options.maxMs, Math.round(delay)));
}

/**
 * Parses an HTTP `Retry-After` value (delta seconds or an HTTP date) into milliseconds from `now`.
 * Returns undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined | null, now: number = Date.now()): number | undefined {
	const raw = Array.isArray(value) ? value[0] : value;
	if (raw === undefined || raw === null) return undefined;
	const text = String(raw).trim();
	if (text === '') return undefined;
	if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
	const date = Date.parse(text);
	if (Number.isNaN(date)) return undefined;
	return Math.max(0, date - now);
}

/** Error thrown by `sleep` and `retry` when their signal aborts. */
export class AbortedError extends Error {
	constructor(reason?: unknown) {
		super(reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'The operation was aborted');
		this.name = 'AbortedError';
	}
}

/** Waits `ms`, or rejects with `AbortedError` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
	return new Promise((resolve, reject) => {
		const onAbort = () => {
			clearTimeout(timer);
			reject(new AbortedError(signal?.reason));
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, Math.max(0, ms));
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}

/** What `retry` asks of a failure: give up, or try again (optionally after a server-imposed delay). */
export type RetryDecision = { retry: false } | { retry: true; afterMs?: number };

export interface RetryOptions {
	/** Total attempts including the first (≥ 1). */
	attempts: number;
	backoff: BackoffOptions;
	classify: (error: unknown, attempt: number) => RetryDecision;
	signal?: AbortSignal;
	/** Called before each wait; `attempt` is the attempt that just failed (1-based). */
	onRetry?: (info: { error: unknown; attempt: number; delayMs: number }) => void;
	random?: () => number;
	/** Longest delay a `Retry-After` may impose; beyond it the error is final (default 5 minutes). */
	maxRetryAfterMs?: number;
}

/** Runs `fn` until it succeeds, the classifier says stop, or attempts run out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
	const attempts = Math.max(1, options.attempts);
	for (let attempt = 1; ; attempt++) {
		if (options.signal?.aborted) throw new AbortedError(options.signal.reason);
		try {
			return await fn(attempt);
		} catch (error) {
			if (attempt >= attempts) throw error;
			const decision = options.classify(error, attempt);
			if (!decision.retry) throw error;
			const computed = backoffDelay(attempt - 1, options.backoff, options.random);
			const imposed = decision.afterMs;
			if (imposed !== undefined && imposed > (options.maxRetryAfterMs ?? 300_000)) throw error;
			const delayMs = imposed !== undefined ? Math.max(imposed, computed) : computed;
			options.onRetry?.({ error, attempt, delayMs });
			await sleep(delayMs, options.signal);
		}
	}
}
