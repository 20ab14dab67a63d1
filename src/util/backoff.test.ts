import { backoffDelay, parseRetryAfter, retry, sleep, AbortedError } from './backoff';

describe('backoffDelay', () => {
	const opts = { initialMs: 1000, maxMs: 8000, jitter: 0.2 };
	it('doubles per attempt around the base, within the jitter band', () => {
		expect(backoffDelay(0, opts, () => 0.5)).toBe(1000);
		expect(backoffDelay(1, opts, () => 0.5)).toBe(2000);
		expect(backoffDelay(2, opts, () => 0.5)).toBe(4000);
		expect(backoffDelay(2, opts, () => 0)).toBe(3200);
		expect(backoffDelay(2, opts, () => 0.999999)).toBe(4800);
	});
	it('never exceeds the cap', () => {
		expect(backoffDelay(10, opts, () => 0.999)).toBe(8000);
	});
});

describe('parseRetryAfter', () => {
	it('reads seconds and HTTP dates', () => {
		expect(parseRetryAfter('3')).toBe(3000);
		expect(parseRetryAfter('0.5')).toBe(500);
		const now = Date.parse('2026-01-01T00:00:00Z');
		expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
		expect(parseRetryAfter(undefined)).toBeUndefined();
		expect(parseRetryAfter('soon')).toBeUndefined();
	});
});

describe('retry', () => {
	it('retries retryable failures and returns the first success', async () => {
		const seen: number[] = [];
		const result = await retry(
			async (attempt) => {
				seen.push(attempt);
				if (attempt < 3) throw new Error('flaky');
				return 'ok';
			},
			{ attempts: 3, backoff: { initialMs: 1, maxMs: 2 }, classify: () => ({ retry: true }) },
		);
		expect(result).toBe('ok');
		expect(seen).toEqual([1, 2, 3]);
	});
	it('stops at a final error and after the last attempt', async () => {
		let calls = 0;
		await expect(
			retry(
				async () => {
					calls++;
					throw new Error('bad request');
				},
				{ attempts: 5, backoff: { initialMs: 1, maxMs: 1 }, classify: () => ({ retry: false }) },
			),
		).rejects.toThrow('bad request');
		expect(calls).toBe(1);
	});
	it('honours a server-imposed delay', async () => {
		const delays: number[] = [];
		await retry(
			async (attempt) => {
				if (attempt === 1) throw new Error('429');
				return 1;
			},
			{
				attempts: 2,
				backoff: { initialMs: 1, maxMs: 1 },
				classify: () => ({ retry: true, afterMs: 30 }),
				onRetry: ({ delayMs }) => delays.push(delayMs),
			},
		);
		expect(delays).toEqual([30]);
	});
	it('sleep rejects when aborted', async () => {
		const controller = new AbortController();
		const pending = sleep(10_000, controller.signal);
		controller.abort();
		await expect(pending).rejects.toBeInstanceOf(AbortedError);
	});
});
