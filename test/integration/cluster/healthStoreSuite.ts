/**
 * One behavioural suite for every HealthStore. `make` builds a fresh, empty store on a controllable
 * clock (real time + offset, so Redis TTLs still run in real time).
 */
import type { HealthStore, HealthStoreOptionsInput, SelectResult, StoreServer, StoreStrategy } from '../../../src/cluster/store/HealthStore';
import { lease, release, reserve } from './storeCalls';

export interface Clock {
	offset: number;
	now: () => number;
}

export type StoreFactory = (options: HealthStoreOptionsInput) => Promise<HealthStore>;

export function makeClock(): Clock {
	const clock: Clock = { offset: 0, now: () => Date.now() + clock.offset };
	return clock;
}

const srv = (id: string, extra: Partial<StoreServer> = {}): StoreServer => ({ id, weight: 1, max: 2, url: `http://${id}:8188`, ...extra });

export function healthStoreSuite(name: string, make: StoreFactory): void {
	describe(`HealthStore behaviour: ${name}`, () => {
		let store: HealthStore;
		let clock: Clock;
		const open = async (options: HealthStoreOptionsInput = {}) => {
			clock = makeClock();
			store = await make({ now: clock.now, random: () => 0.5, ...options });
			return store;
		};
		afterEach(async () => {
			await store?.close();
		});
		const select = (servers: StoreServer[], strategy: StoreStrategy = 'weighted', extra: { exclude?: string[]; leaseTtlMs?: number } = {}) =>
			reserve(store, { servers, strategy, exclude: extra.exclude, leaseTtlMs: extra.leaseTtlMs ?? 60_000 });
		/** Reserves on one server as a placement planned by planning/ does: every other server excluded. */
		const pinned = (servers: StoreServer[], id: string) => select(servers, 'pinned', { exclude: servers.filter((s) => s.id !== id).map((s) => s.id) });
		const ids = async (servers: StoreServer[], strategy: StoreStrategy, n: number) => {
			const out: string[] = [];
			for (let i = 0; i < n; i++) {
				const l = lease(await select(servers, strategy));
				out.push(l.serverId);
				await release(store, l, { kind: 'cancelled', workflowKey: 'wf' });
			}
			return out;
		};

		it('reserves up to max per server, then reports none; release frees the slot', async () => {
			await open();
			const servers = [srv('a', { max: 1 }), srv('b', { max: 2 })];
			const leases = [lease(await select(servers)), lease(await select(servers)), lease(await select(servers))];
			expect(leases.map((l) => l.serverId).sort()).toEqual(['a', 'b', 'b']);
			const none = await select(servers);
			expect(none).toEqual({ none: 'no server is free: 2 at their max in-flight' });
			expect(await release(store, leases[0], { kind: 'success', workflowKey: 'wf', executionMs: 1000 })).toBe(true);
			expect(lease(await select(servers)).serverId).toBe(leases[0].serverId);
		});

		it('expired leases free their slot; renew extends a live lease and refuses an expired one', async () => {
			await open();
			const servers = [srv('a', { max: 1 })];
			const first = lease(await select(servers, 'weighted', { leaseTtlMs: 1_000 }));
			expect('none' in (await select(servers))).toBe(true);
			clock.offset += 800;
			expect(await store.renew(first, 1_000)).toBe(true);
			clock.offset += 800;
			expect('none' in (await select(servers))).toBe(true);
			clock.offset += 300;
			expect(await store.renew(first, 1_000)).toBe(false);
			const second = lease(await select(servers));
			expect(second.serverId).toBe('a');
			expect(await release(store, first, { kind: 'cancelled', workflowKey: 'wf' })).toBe(false);
			expect((await store.snapshot(servers))[0].inFlight).toBe(1);
		});

		it('retake puts a lost lease back, counted even above max, and it renews and releases as before', async () => {
			await open();
			const servers = [srv('a', { max: 1 })];
			const lost = lease(await select(servers, 'weighted', { leaseTtlMs: 1_000 }));
			clock.offset += 1_500;
			expect(await store.renew(lost, 1_000)).toBe(false);
			const other = lease(await select(servers));
			const before = clock.now();
			expect(await store.retake(lost, 60_000)).toBe(true);
			expect(lost.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
			expect((await store.snapshot(servers))[0].inFlight).toBe(2);
			expect(await select(servers)).toEqual({ none: 'no server is free: 1 at their max in-flight' });
			clock.offset += 50_000; // the retaken lease outlives the TTL it was first taken with
			expect(await store.renew(lost, 60_000)).toBe(true);
			expect(await release(store, lost, { kind: 'cancelled', workflowKey: 'wf' })).toBe(true);
			expect(await release(store, other, { kind: 'cancelled', workflowKey: 'wf' })).toBe(true);
			expect((await store.snapshot(servers))[0].inFlight).toBe(0);
		});

		it('honours exclude', async () => {
			await open();
			expect(lease(await select([srv('a'), srv('b')], 'weighted', { exclude: ['a'] })).serverId).toBe('b');
			expect(await select([srv('a')], 'weighted', { exclude: ['a'] })).toEqual({ none: 'no server is free: 1 excluded for this scene' });
		});

		it('weighted follows nginx smooth weighted round robin: a a b a c a a', async () => {
			await open();
			const servers = [srv('a', { weight: 5 }), srv('b'), srv('c')];
			expect((await ids(servers, 'weighted', 7)).join(' ')).toBe('a a b a c a a');
		});

		it('roundRobin cycles through the list', async () => {
			await open();
			expect(await ids([srv('a'), srv('b'), srv('c')], 'roundRobin', 4)).toEqual(['a', 'b', 'c', 'a']);
		});

		it('keeps an EWMA of execution seconds per (server, workflow) and per work unit', async () => {
			await open();
			const servers = [srv('a'), srv('b')];
			const runs: Array<[string, number]> = [['a', 4000], ['b', 1000], ['a', 2000]];
			for (const [id, ms] of runs) {
				const l = lease(await pinned(servers, id));
				await release(store, l, { kind: 'success', workflowKey: 'wf', executionMs: ms, work: 2 });
			}
			const status = await store.snapshot(servers);
			expect(status[0].ewma.wf.samples).toBe(2);
			expect(status[0].ewma.wf.seconds).toBeCloseTo(0.3 * 2 + 0.7 * 4, 10);
			expect(status[0].ewma['#work'].seconds).toBeCloseTo(0.3 * 1 + 0.7 * 2, 10);
			expect(status[1].ewma).toEqual({ wf: { seconds: 1, samples: 1 }, '#work': { seconds: 0.5, samples: 1 } });
		});

		it('transient failures open the breaker; half-open admits one trial; success closes with slow start', async () => {
			await open({ breaker: { threshold: 2, baseMs: 5_000, jitter: 0 }, selection: { slowStartMs: 10_000 } });
			const servers = [srv('a', { weight: 2, max: 10 }), srv('b', { max: 10 })];
			for (let i = 0; i < 2; i++) {
				const l = lease(await select(servers.slice(0, 1)));
				await release(store, l, { kind: 'transient', workflowKey: 'wf', error: 'connection refused' });
			}
			let status = await store.snapshot(servers);
			expect(status[0].breaker).toMatchObject({ phase: 'open', failures: 2, ejections: 1 });
			expect(status[0].lastError?.message).toBe('connection refused');
			expect(lease(await select(servers)).serverId).toBe('b');
			clock.offset += 5_000;
			const trial = await select(servers);
			expect(trial).toMatchObject({ trial: true, lease: { serverId: 'a' } });
			expect(lease(await select(servers)).serverId).toBe('b');
			await release(store, lease(trial), { kind: 'success', workflowKey: 'wf', executionMs: 10 });
			status = await store.snapshot(servers);
			expect(status[0].breaker.phase).toBe('closed');
			// Slow start: a's weight is 2 × 0.1 while it ramps up, b's 1, so b takes every turn for a while
			// (at full weight a would take the second).
			expect(await ids(servers, 'weighted', 5)).toEqual(['b', 'b', 'b', 'b', 'b']);
			clock.offset += 10_000;
			// Ramped up: a takes two turns in three again.
			expect(await ids(servers, 'weighted', 3)).toEqual(['a', 'b', 'a']);
		});

		it('workflow errors never count against a server', async () => {
			await open({ breaker: { threshold: 1 } });
			const servers = [srv('a')];
			for (let i = 0; i < 3; i++) await release(store, lease(await select(servers)), { kind: 'workflow', workflowKey: 'wf', error: 'node raised' });
			const [status] = await store.snapshot(servers);
			expect(status.breaker).toMatchObject({ phase: 'closed', failures: 0 });
			expect(status.lastError).toBeUndefined();
		});

		it('pinned reserves on the planned server only, through the same filters and panic', async () => {
			await open({ breaker: { threshold: 1 } });
			const servers = [srv('a', { max: 1 }), srv('b'), srv('c')];
			expect(await pinned(servers, 'b')).toMatchObject({ reason: 'pinned: the planned server b', trial: false, panic: false, lease: { serverId: 'b' } });
			const held = lease(await pinned(servers, 'a'));
			expect(await pinned(servers, 'a')).toEqual({ none: 'no server is free: 1 at their max in-flight, 2 excluded for this scene' });
			await release(store, held, { kind: 'transient', workflowKey: 'wf' });
			// Its breaker open and the others excluded: panic tries it all the same.
			expect(await pinned(servers, 'a')).toMatchObject({ panic: true, lease: { serverId: 'a' } });
			// The pick state is left alone: weighted starts its turns afresh.
			expect(await ids(servers.slice(1), 'weighted', 3)).toEqual(['b', 'c', 'b']);
		});

		it('panics to the least recently failed server when all breakers are open', async () => {
			await open({ breaker: { threshold: 1 } });
			const servers = [srv('a'), srv('b')];
			await release(store, lease(await select(servers.slice(1))), { kind: 'transient', workflowKey: 'wf' });
			clock.offset += 10;
			await release(store, lease(await select(servers.slice(0, 1))), { kind: 'transient', workflowKey: 'wf' });
			expect(await select(servers)).toMatchObject({ panic: true, lease: { serverId: 'b' } });
		});

		it('records probes (batched), staleness and probe failures', async () => {
			await open({ breaker: { threshold: 2 } });
			const servers = [srv('a'), srv('b'), srv('c')];
			expect((await store.staleServers(servers, 3_000)).map((s) => s.id)).toEqual(['a', 'b', 'c']);
			await store.recordProbes([
				{ serverId: 'a', ok: true, queueRemaining: 5 },
				{ serverId: 'b', ok: true, queueRemaining: 1 },
				{ serverId: 'c', ok: false, error: 'ECONNREFUSED' },
			]);
			expect(await store.staleServers(servers, 3_000)).toEqual([]);
			clock.offset += 4_000;
			expect((await store.staleServers(servers, 3_000)).map((s) => s.id)).toEqual(['a', 'b', 'c']);
			const status = await store.snapshot(servers);
			expect(status.map((s) => s.queueRemaining)).toEqual([5, 1, 0]);
			expect(status[2]).toMatchObject({ breaker: { phase: 'closed', failures: 1 }, lastError: { message: 'ECONNREFUSED' } });
			// c's second failed probe opens its breaker: no pick goes there while it is open.
			await store.recordProbes([{ serverId: 'c', ok: false }]);
			expect((await store.snapshot(servers))[2].breaker).toMatchObject({ phase: 'open', failures: 2 });
			expect(await ids(servers, 'roundRobin', 4)).toEqual(['a', 'b', 'a', 'b']);
		});

		it('avoids servers short of memory', async () => {
			await open();
			const servers = [srv('a'), srv('b')];
			await store.recordSystemStats('a', { vramFree: 1, vramTotal: 100, ramFree: 50, ramTotal: 100 });
			await store.recordSystemStats('b', { vramFree: 10, vramTotal: 100, ramFree: 50, ramTotal: 100 });
			expect(lease(await select(servers)).serverId).toBe('b');
			const [a] = await store.snapshot(servers);
			expect(a.system).toEqual({ vramFree: 1, vramTotal: 100, ramFree: 50, ramTotal: 100 });
		});

		it('commit releases first, then reserves in order, in one step', async () => {
			await open();
			const servers = [srv('a', { max: 1 }), srv('b', { max: 1 })];
			const [la, lb] = [lease(await select(servers)), lease(await select(servers))];
			const args = { servers, strategy: 'weighted' as const, leaseTtlMs: 60_000 };
			const result = await store.commit({
				release: [{ lease: la, outcome: { kind: 'success', workflowKey: 'wf', executionMs: 2000 } }],
				reserve: [args, args, { ...args, exclude: [la.serverId] }],
			});
			expect(result.released).toEqual([true]);
			expect(lease(result.reserved[0]).serverId).toBe(la.serverId);
			expect(result.reserved[1]).toEqual({ none: 'no server is free: 2 at their max in-flight' });
			expect('none' in result.reserved[2]).toBe(true);
			const [a] = await store.snapshot([servers.find((s) => s.id === la.serverId)!]);
			expect(a.ewma.wf).toEqual({ seconds: 2, samples: 1 });
			expect(await release(store, lb, { kind: 'cancelled', workflowKey: 'wf' })).toBe(true);
			expect(await store.commit({})).toEqual({ released: [], reserved: [] });
		});

		it('a kept lease records its outcome and holds the slot, renewed, for the next scene', async () => {
			await open();
			const servers = [srv('a', { max: 1 })];
			const held = lease(await select(servers, 'weighted', { leaseTtlMs: 60_000 }));
			clock.offset += 50_000;
			const before = clock.now();
			const result = await store.commit({ release: [{ lease: held, outcome: { kind: 'success', workflowKey: 'wf', executionMs: 500 }, keepTtlMs: 60_000 }] });
			expect(result.released).toEqual([true]);
			expect(held.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
			expect(held.expiresAt).toBeLessThanOrEqual(clock.now() + 60_000);
			clock.offset += 50_000; // past the first expiry, inside the renewed one
			expect('none' in (await select(servers))).toBe(true);
			const [a] = await store.snapshot(servers);
			expect(a.inFlight).toBe(1);
			expect(a.ewma.wf).toEqual({ seconds: 0.5, samples: 1 });
			// A lost lease is kept all the same, and says so: its next scene already runs on that server.
			clock.offset += 20_000;
			expect((await store.commit({ release: [{ lease: held, outcome: { kind: 'success', workflowKey: 'wf' }, keepTtlMs: 60_000 }] })).released).toEqual([false]);
			expect((await store.snapshot(servers))[0].inFlight).toBe(1);
			expect(await store.renew(held, 60_000)).toBe(true);
			expect((await store.commit({ release: [{ lease: held, outcome: { kind: 'success', workflowKey: 'wf' } }] })).released).toEqual([true]);
			expect((await store.snapshot(servers))[0].inFlight).toBe(0);
		});

		it('never exceeds max under many parallel callers', async () => {
			await open();
			const servers = [srv('a', { max: 2 }), srv('b', { max: 3 }), srv('c', { max: 1 })];
			const results = await Promise.all(Array.from({ length: 40 }, () => select(servers)));
			const got = results.filter((r): r is Exclude<SelectResult, { none: string }> => 'lease' in r);
			expect(got).toHaveLength(6);
			const count = (id: string) => got.filter((r) => r.lease.serverId === id).length;
			expect([count('a'), count('b'), count('c')]).toEqual([2, 3, 1]);
		});
	});
}
