/**
 * Per-server circuit breaker, Envoy outlier-detection style, as pure transitions over a plain record
 * (so the memory store and the Redis Lua scripts hold the very same state; the scripts' includes
 * `store/lua/includes/breaker_*.lua` and `slow_start_factor.lua` mirror the functions they need).
 *
 * - closed: every scene admitted; `threshold` consecutive transient failures open it.
 * - open until `openUntil`: nothing admitted. Open time = min(cap, base × 2^ejections) ± jitter.
 * - half-open (open and `now ≥ openUntil`): exactly one trial scene is admitted (`trialUntil` marks it
 *   taken, and frees it again if the trial's worker dies); success closes, failure re-opens for longer.
 * - after a close, `recoveredAt` drives slow start; the ejection count decays after a quiet `capMs`.
 * Only transient outcomes reach these functions: workflow errors never count against a server.
 */

export interface BreakerOptions {
	/** Consecutive transient failures that open the breaker (default 3). */
	threshold: number;
	/** First open time in ms (default 5 000). */
	baseMs: number;
	/** Longest open time in ms (default 300 000). */
	capMs: number;
	/** Fraction of the open time that is randomised, 0..1 (default 0.2 → ×[0.8, 1.2], still capped). */
	jitter: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = { threshold: 3, baseMs: 5_000, capMs: 300_000, jitter: 0.2 };

export interface BreakerState {
	open: boolean;
	/** Consecutive transient failures (kept while open, for display). */
	failures: number;
	/** How many times it opened without a quiet period since (the k in base × 2^k). */
	ejections: number;
	openUntil: number;
	/** While > now, the half-open trial is taken. */
	trialUntil: number;
	lastFailureAt: number;
	lastOpenedAt: number;
	/** When it last closed after being open (slow start origin); 0 = never. */
	recoveredAt: number;
}

export const CLOSED: BreakerState = Object.freeze({
	open: false,
	failures: 0,
	ejections: 0,
	openUntil: 0,
	trialUntil: 0,
	lastFailureAt: 0,
	lastOpenedAt: 0,
	recoveredAt: 0,
});

export type BreakerPhase = 'closed' | 'open' | 'halfOpen';

export function phase(state: BreakerState, now: number): BreakerPhase {
	if (!state.open) return 'closed';
	return now >= state.openUntil ? 'halfOpen' : 'open';
}

export interface Admission {
	admitted: boolean;
	/** The scene would be the half-open trial. */
	trial: boolean;
}

export function admit(state: BreakerState, now: number): Admission {
	if (!state.open) return { admitted: true, trial: false };
	if (now < state.openUntil) return { admitted: false, trial: false };
	if (state.trialUntil > now) return { admitted: false, trial: false };
	return { admitted: true, trial: true };
}

/** Marks the half-open trial as taken for `ttlMs` (the lease time of the scene that takes it). */
export function startTrial(state: BreakerState, now: number, ttlMs: number): BreakerState {
	return { ...state, trialUntil: now + ttlMs };
}

export function onSuccess(state: BreakerState, now: number, options: BreakerOptions = DEFAULT_BREAKER_OPTIONS): BreakerState {
	if (state.open) {
		// A success that predates the end of the open time proves little; the trial decides.
		if (now < state.openUntil) return state;
		return { ...state, open: false, failures: 0, openUntil: 0, trialUntil: 0, recoveredAt: now };
	}
	const quiet = state.ejections > 0 && now - state.lastOpenedAt > options.capMs;
	if (state.failures === 0 && !quiet) return state;
	return { ...state, failures: 0, ejections: quiet ? 0 : state.ejections };
}

/** `random` in [0, 1) drives the jitter (pass Math.random in production, a constant in tests). */
export function onFailure(state: BreakerState, now: number, random: number, options: BreakerOptions = DEFAULT_BREAKER_OPTIONS): BreakerState {
	const failures = state.failures + 1;
	if (state.open) {
		if (now < state.openUntil) return { ...state, failures, lastFailureAt: now };
		return openFor(state, failures, now, random, options);
	}
	if (failures >= options.threshold) return openFor(state, failures, now, random, options);
	return { ...state, failures, lastFailureAt: now };
}

/** Open time for the (k+1)-th ejection, before jitter. */
export function openDurationMs(ejections: number, options: BreakerOptions): number {
	return Math.min(options.capMs, options.baseMs * Math.pow(2, ejections));
}

function openFor(state: BreakerState, failures: number, now: number, random: number, options: BreakerOptions): BreakerState {
	const base = openDurationMs(state.ejections, options);
	const duration = Math.floor(Math.min(options.capMs, base * (1 + options.jitter * (2 * random - 1))));
	return {
		...state,
		open: true,
		failures,
		ejections: state.ejections + 1,
		openUntil: now + duration,
		trialUntil: 0,
		lastFailureAt: now,
		lastOpenedAt: now,
	};
}

/**
 * Slow start: effective weight multiplier after a recovery, ramping linearly from 10 % to 100 % over
 * `slowStartMs` (0 disables it).
 */
export function slowStartFactor(state: BreakerState, now: number, slowStartMs: number): number {
	if (state.open || state.recoveredAt <= 0 || slowStartMs <= 0) return 1;
	const elapsed = now - state.recoveredAt;
	if (elapsed >= slowStartMs) return 1;
	return Math.max(0.1, elapsed / slowStartMs);
}

/** Compact text form shared with the Lua scripts: eight numbers, comma-separated. */
export function encodeBreaker(state: BreakerState): string {
	return [state.open ? 1 : 0, state.failures, state.ejections, state.openUntil, state.trialUntil, state.lastFailureAt, state.lastOpenedAt, state.recoveredAt].join(',');
}

export function decodeBreaker(text: string | null | undefined): BreakerState {
	if (!text) return { ...CLOSED };
	const n = text.split(',').map(Number);
	return { open: n[0] === 1, failures: n[1] || 0, ejections: n[2] || 0, openUntil: n[3] || 0, trialUntil: n[4] || 0, lastFailureAt: n[5] || 0, lastOpenedAt: n[6] || 0, recoveredAt: n[7] || 0 };
}
