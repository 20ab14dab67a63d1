/**
 * A token bucket shared by every upload of a client: keeps the sustained request rate under a
 * provider's limit, and can be paused as a whole when the provider says "wait" (HTTP 429).
 */
import { AbortedError, sleep } from '../util/backoff';

export class TokenBucket {
	private tokens: number;
	private last: number;
	private pausedUntil = 0;

	constructor(
		/** Tokens added per second (the sustained rate). */
		readonly ratePerSecond: number,
		/** Largest burst. */
		readonly capacity: number = Math.max(1, ratePerSecond),
		private readonly now: () => number = Date.now,
	) {
		if (!(ratePerSecond > 0)) throw new Error(`The rate limit must be above 0 per second; got ${ratePerSecond}`);
		this.tokens = this.capacity;
		this.last = this.now();
	}

	/** Stops handing out tokens until `until` (epoch ms). */
	pause(until: number): void {
		this.pausedUntil = Math.max(this.pausedUntil, until);
	}

	/** Waits for a token; rejects with AbortedError on abort or when the wait would pass `deadline`. */
	async acquire(signal?: AbortSignal, deadline = Number.POSITIVE_INFINITY): Promise<void> {
		for (;;) {
			if (signal?.aborted) throw new AbortedError(signal.reason);
			const now = this.now();
			this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
			this.last = now;
			let waitMs: number;
			if (now < this.pausedUntil) waitMs = this.pausedUntil - now;
			else if (this.tokens >= 1) {
				this.tokens -= 1;
				return;
			} else waitMs = Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
			if (now + waitMs > deadline) throw new AbortedError('Gave up waiting for the upload rate limit');
			await sleep(Math.max(1, waitMs), signal);
		}
	}
}
