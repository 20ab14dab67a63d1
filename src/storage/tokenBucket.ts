/**
 * A token bucket shared by every request of a client: keeps the sustained request rate under a
 * provider's limit, optionally keeps a hard budget per window (Cloudflare: 1,200 requests per
 * 5 minutes, whatever the rate), and can be paused as a whole when the provider says "wait" (HTTP 429).
 */
import { AbortedError, sleep } from '../util/backoff';

/** At most `requests` acquisitions in any `windowMs`. */
export interface WindowBudget {
	requests: number;
	windowMs: number;
}

export class TokenBucket {
	private tokens: number;
	private last: number;
	private pausedUntil = 0;
	/**
	 * Budget: requests still inside the window, by the time they ended (oldest first), and requests
	 * under way. A request is stamped when its answer came, never earlier than the server counted it,
	 * so network delays cannot squeeze more than the budget into the server's window.
	 */
	private readonly spent: number[] = [];
	private inFlight = 0;

	constructor(
		/** Tokens added per second (the sustained rate). */
		readonly ratePerSecond: number,
		/** Largest burst. */
		readonly capacity: number = Math.max(1, ratePerSecond),
		private readonly now: () => number = Date.now,
		readonly budget?: WindowBudget,
	) {
		if (!(ratePerSecond > 0)) throw new Error(`The rate limit must be above 0 per second; got ${ratePerSecond}`);
		if (budget && !(budget.requests >= 1 && budget.windowMs > 0)) throw new Error(`A request budget needs at least 1 request per window; got ${budget.requests} per ${budget.windowMs} ms`);
		this.tokens = this.capacity;
		this.last = this.now();
	}

	/** Stops handing out tokens until `until` (epoch ms). */
	pause(until: number): void {
		this.pausedUntil = Math.max(this.pausedUntil, until);
	}

	/**
	 * Waits for a token; rejects with AbortedError on abort or when the wait would pass `deadline`.
	 * Resolves to `done`, to call once the request has ended (answered or failed).
	 */
	async acquire(signal?: AbortSignal, deadline = Number.POSITIVE_INFINITY): Promise<() => void> {
		for (;;) {
			if (signal?.aborted) throw new AbortedError(signal.reason);
			const now = this.now();
			this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
			this.last = now;
			const budget = this.budget;
			if (budget) while (this.spent.length > 0 && this.spent[0] <= now - budget.windowMs) this.spent.shift();
			let waitMs: number;
			if (now < this.pausedUntil) waitMs = this.pausedUntil - now;
			else if (budget && this.spent.length + this.inFlight >= budget.requests) {
				// The oldest ended request leaves the window first; with every slot under way, look again soon.
				waitMs = this.spent.length > 0 ? this.spent[0] + budget.windowMs - now + 1 : 100;
			} else if (this.tokens >= 1) {
				this.tokens -= 1;
				return budget ? this.startRequest() : () => undefined;
			} else waitMs = Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
			if (now + waitMs > deadline) throw new AbortedError('Gave up waiting for the request rate limit');
			await sleep(Math.max(1, waitMs), signal);
		}
	}

	private startRequest(): () => void {
		this.inFlight++;
		let ended = false;
		return () => {
			if (ended) return;
			ended = true;
			this.inFlight--;
			this.spent.push(this.now());
		};
	}
}
