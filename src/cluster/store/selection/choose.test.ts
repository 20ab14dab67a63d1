/**
 * Whether the store's selection filters and picks as documented: smooth weighted round robin,
 * round robin, pinned, memory pressure, breakers with their half-open trial, panic and slow start.
 */
import { CLOSED, type BreakerState } from '../../breaker';
import { DEFAULT_SELECTION_OPTIONS, type Choice, type SelectionSnapshot, type ServerSnapshot, type StoreStrategy } from '../types';
import { choose } from './choose';

function server(id: string, extra: Partial<ServerSnapshot> = {}): ServerSnapshot {
	return { id, weight: 1, max: 2, inFlight: 0, breaker: { ...CLOSED }, swrrCurrent: 0, ...extra };
}

function snap(servers: ServerSnapshot[], extra: Partial<SelectionSnapshot> = {}): SelectionSnapshot {
	return { servers, rrCursor: 0, options: { ...DEFAULT_SELECTION_OPTIONS }, ...extra };
}

function pick(s: SelectionSnapshot, strategy: StoreStrategy = 'weighted', exclude: string[] = [], now = 1_000_000): Choice {
	return choose(s, { strategy, exclude, now });
}

function id(choice: Choice): string {
	if ('none' in choice) throw new Error(`expected a server, got none: ${choice.none}`);
	return choice.serverId;
}

/** Applies the round-robin updates of each choice, as a store would. */
function sequence(servers: ServerSnapshot[], strategy: StoreStrategy, n: number): string[] {
	const s = snap(servers);
	const out: string[] = [];
	for (let i = 0; i < n; i++) {
		const choice = pick(s, strategy);
		if ('none' in choice) throw new Error(choice.none);
		out.push(choice.serverId);
		if (choice.rr.cursor !== undefined) s.rrCursor = choice.rr.cursor;
		for (const [sid, current] of Object.entries(choice.rr.swrr ?? {})) s.servers.find((x) => x.id === sid)!.swrrCurrent = current;
	}
	return out;
}

const openBreaker = (now: number, lastFailureAt: number): BreakerState => ({ ...CLOSED, open: true, failures: 3, ejections: 1, openUntil: now + 10_000, lastFailureAt, lastOpenedAt: lastFailureAt });

describe('weighted (smooth weighted round robin)', () => {
	it('gives nginx sequence a a b a c a a for weights 5, 1, 1', () => {
		expect(sequence([server('a', { weight: 5 }), server('b'), server('c')], 'weighted', 7).join(' ')).toBe('a a b a c a a');
	});
	it('repeats the cycle and honours proportions over many turns', () => {
		const seq = sequence([server('a', { weight: 3, max: 99 }), server('b', { weight: 2, max: 99 }), server('c', { max: 99 })], 'weighted', 60);
		expect(seq.filter((x) => x === 'a')).toHaveLength(30);
		expect(seq.filter((x) => x === 'b')).toHaveLength(20);
		expect(seq.filter((x) => x === 'c')).toHaveLength(10);
	});
	it('says whose turn it was', () => {
		expect(pick(snap([server('a', { weight: 2.5 }), server('b')]))).toMatchObject({ serverId: 'a', reason: 'weighted: smooth weighted round robin turn (weight 2.5 of 3.5)' });
	});
});

describe('roundRobin', () => {
	it('cycles in list order and skips unavailable servers', () => {
		expect(sequence([server('a'), server('b'), server('c')], 'roundRobin', 5)).toEqual(['a', 'b', 'c', 'a', 'b']);
		expect(sequence([server('a'), server('b', { inFlight: 2 }), server('c')], 'roundRobin', 4)).toEqual(['a', 'c', 'a', 'c']);
	});
});

describe('pinned', () => {
	it('reserves on the one server left allowed, and leaves the pick state alone', () => {
		const choice = pick(snap([server('a'), server('b', { inFlight: 1 }), server('c')]), 'pinned', ['a', 'c']);
		expect(choice).toEqual({ serverId: 'b', reason: 'pinned: the planned server b', trial: false, panic: false, rr: {} });
	});
	it('takes the first in list order when more are allowed', () => {
		expect(pick(snap([server('b'), server('a')]), 'pinned')).toMatchObject({ serverId: 'b', reason: 'pinned: the planned server b (first of 2 allowed)' });
	});
	it('passes the same filters: full, short of memory, or breaker open', () => {
		const now = 1_000_000;
		const full = { vramFree: 4, vramTotal: 100, ramFree: 50, ramTotal: 100 };
		const s = snap([server('a', { inFlight: 2 }), server('b', { system: full, systemAgeMs: 0 }), server('c', { breaker: openBreaker(now, now - 5) }), server('d')]);
		expect(pick(s, 'pinned', ['b', 'c', 'd'], now)).toEqual({ none: 'no server is free: 1 at their max in-flight, 3 excluded for this scene' });
		expect(pick(s, 'pinned', ['a', 'c', 'd'], now)).toEqual({ none: 'no server is free: 1 short of memory, 3 excluded for this scene' });
		// The one allowed server's breaker is open: panic tries it all the same.
		expect(pick(s, 'pinned', ['a', 'b', 'd'], now)).toMatchObject({ serverId: 'c', panic: true });
	});
});

describe('filters', () => {
	it('skips excluded servers and servers at max', () => {
		expect(id(pick(snap([server('a'), server('b', { inFlight: 2 }), server('c', { inFlight: 1 })]), 'weighted', ['a']))).toBe('c');
		const none = pick(snap([server('a', { inFlight: 2 }), server('b')]), 'weighted', ['b']);
		expect(none).toEqual({ none: 'no server is free: 1 at their max in-flight, 1 excluded for this scene' });
	});
	it('skips servers above 95 % memory and prefers servers below 85 %', () => {
		const full = { vramFree: 4, vramTotal: 100, ramFree: 50, ramTotal: 100 };
		const busy = { vramFree: 10, vramTotal: 100, ramFree: 50, ramTotal: 100 };
		const s = snap([server('a', { system: full, systemAgeMs: 0 }), server('b', { system: busy, systemAgeMs: 0 }), server('c', { inFlight: 1 })]);
		expect(pick(s)).toMatchObject({ serverId: 'c', reason: expect.stringContaining('(1 skipped for memory pressure)') });
		s.servers[2].inFlight = 2;
		expect(id(pick(s))).toBe('b');
		s.servers[1].system = { ...busy, ramFree: 1 };
		expect(pick(s)).toEqual({ none: 'no server is free: 1 at their max in-flight, 2 short of memory' });
		s.servers[1].systemAgeMs = 10 * 60_000;
		expect(id(pick(s))).toBe('b');
	});
	it('skips open breakers and admits the half-open trial once', () => {
		const now = 1_000_000;
		const s = snap([server('a', { breaker: openBreaker(now, now - 1) }), server('b', { inFlight: 1 })]);
		expect(id(pick(s, 'weighted', [], now))).toBe('b');
		const half = pick(s, 'weighted', [], now + 10_000);
		expect(half).toMatchObject({ serverId: 'a', trial: true, panic: false, reason: expect.stringMatching(/; half-open trial$/) });
		s.servers[0].breaker.trialUntil = now + 20_000;
		expect(id(pick(s, 'weighted', [], now + 10_000))).toBe('b');
	});
	it('panics to the least recently failed server when every breaker is open', () => {
		const now = 1_000_000;
		const s = snap([server('a', { breaker: openBreaker(now, now - 5) }), server('b', { breaker: openBreaker(now, now - 50) }), server('c', { breaker: openBreaker(now, now - 500), inFlight: 2 })]);
		expect(pick(s, 'weighted', [], now)).toMatchObject({ serverId: 'b', panic: true, trial: false });
	});
	it('does not panic while a healthy server is merely busy', () => {
		const now = 1_000_000;
		const s = snap([server('a', { breaker: openBreaker(now, now - 5) }), server('b', { inFlight: 2 })]);
		expect(pick(s, 'weighted', [], now)).toEqual({ none: 'no server is free: 1 at their max in-flight, 1 with an open breaker (next retry in 10 s)' });
	});
	it('slow start lowers the effective weight of a recovered server', () => {
		const now = 1_000_000;
		const recovering = { ...CLOSED, recoveredAt: now - 3_000 };
		const s = snap([server('a', { breaker: recovering, weight: 4, max: 10 }), server('b', { max: 10 })]);
		// a: 4 × 0.1 = 0.4 < b: 1, then a: 4 at full weight
		expect(pick(s, 'weighted', [], now)).toMatchObject({ serverId: 'b', reason: 'weighted: smooth weighted round robin turn (weight 1 of 1.4)' });
		expect(id(pick(s, 'weighted', [], now + 30_000))).toBe('a');
	});
});
