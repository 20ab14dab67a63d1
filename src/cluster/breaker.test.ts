import { admit, CLOSED, DEFAULT_BREAKER_OPTIONS, decodeBreaker, encodeBreaker, onFailure, onSuccess, openDurationMs, phase, slowStartFactor, startTrial } from './breaker';

const opts = DEFAULT_BREAKER_OPTIONS;

function failTimes(n: number, now: number, random = 0.5) {
	let state = { ...CLOSED };
	for (let i = 0; i < n; i++) state = onFailure(state, now + i, random, opts);
	return state;
}

describe('breaker', () => {
	it('opens after threshold consecutive failures, not before', () => {
		expect(phase(failTimes(2, 1000), 1002)).toBe('closed');
		const open = failTimes(3, 1000);
		expect(phase(open, 1002)).toBe('open');
		expect(open.openUntil).toBe(1002 + 5000);
		expect(admit(open, 1003)).toEqual({ admitted: false, trial: false });
	});

	it('a success resets the consecutive count', () => {
		let state = failTimes(2, 0);
		state = onSuccess(state, 10, opts);
		state = onFailure(state, 11, 0.5, opts);
		expect(state.open).toBe(false);
		expect(state.failures).toBe(1);
	});

	it('half-open admits exactly one trial; success closes and starts slow start', () => {
		const open = failTimes(3, 0);
		const t = open.openUntil;
		expect(phase(open, t)).toBe('halfOpen');
		expect(admit(open, t)).toEqual({ admitted: true, trial: true });
		const trial = startTrial(open, t, 60_000);
		expect(admit(trial, t + 1)).toEqual({ admitted: false, trial: false });
		// the trial's worker died: the trial frees itself after its TTL
		expect(admit(trial, t + 60_000)).toEqual({ admitted: true, trial: true });
		const closed = onSuccess(trial, t + 100, opts);
		expect(phase(closed, t + 100)).toBe('closed');
		expect(closed.recoveredAt).toBe(t + 100);
		expect(slowStartFactor(closed, t + 100, 30_000)).toBe(0.1);
		expect(slowStartFactor(closed, t + 100 + 15_000, 30_000)).toBe(0.5);
		expect(slowStartFactor(closed, t + 100 + 30_000, 30_000)).toBe(1);
		expect(slowStartFactor(closed, t + 100 + 15_000, 0)).toBe(1);
	});

	it('a failed trial re-opens for twice as long, capped at capMs', () => {
		let state = failTimes(3, 0);
		const durations = [state.openUntil - 2];
		for (let i = 0; i < 8; i++) {
			const now = state.openUntil;
			state = onFailure(state, now, 0.5, opts);
			durations.push(state.openUntil - now);
		}
		expect(durations).toEqual([5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000]);
		expect(openDurationMs(10, opts)).toBe(300_000);
	});

	it('jitters the open time within ±jitter and never above the cap', () => {
		expect(failTimes(3, 0, 0).openUntil - 2).toBe(4000);
		expect(failTimes(3, 0, 0.999999).openUntil - 2).toBe(5999);
		let state = { ...CLOSED, ejections: 20 };
		state = onFailure(onFailure(onFailure(state, 0, 0.99, opts), 0, 0.99, opts), 0, 0.99, opts);
		expect(state.openUntil).toBe(300_000);
	});

	it('failures while open do not extend it; early successes do not close it', () => {
		const open = failTimes(3, 0);
		const later = onFailure(open, 100, 0.5, opts);
		expect(later.openUntil).toBe(open.openUntil);
		expect(onSuccess(open, 100, opts)).toBe(open);
	});

	it('forgets past ejections after a quiet cap period', () => {
		let state = failTimes(3, 0);
		state = onSuccess(state, state.openUntil, opts);
		expect(state.ejections).toBe(1);
		state = onSuccess(state, 400_000, opts);
		expect(state.ejections).toBe(0);
	});

	it('encodes and decodes losslessly', () => {
		const state = startTrial(failTimes(3, 1_700_000_000_000), 1_700_000_009_000, 5000);
		expect(decodeBreaker(encodeBreaker(state))).toEqual(state);
		expect(decodeBreaker(null)).toEqual(CLOSED);
	});
});
