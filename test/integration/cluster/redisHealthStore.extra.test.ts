import { execFile } from 'child_process';
import { createHash } from 'crypto';
import Redis from 'ioredis';
import { join } from 'path';
import { promisify } from 'util';
import { startThrowawayRedis, TEST_REDIS_URL, testKeyPrefix, type ThrowawayRedis } from '../../setup/redis';
import { MemoryHealthStore } from '../../../src/cluster/store/MemoryHealthStore';
import { RedisHealthStore } from '../../../src/cluster/store/RedisHealthStore';
import { runScriptsAtomically } from '../../../src/cluster/store/scripts';
import { keepLease, renewalPeriodMs } from '../../../src/cluster/leases';
import type { HealthStore, HealthStoreOptionsInput, Lease, Outcome, SelectArgs, SelectResult, StoreStrategy } from '../../../src/cluster/store/HealthStore';
import { lease, release, reserve } from './storeCalls';
import { seededRandom } from '../../sim/http-util';

const run = promisify(execFile);
const prefix = testKeyPrefix('redis-extra');
let redis: Redis;

beforeAll(() => {
	redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
	const keys = await redis.keys(`${prefix}*`);
	if (keys.length) await redis.del(...keys);
	await redis.quit();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await sleep(50);
	}
}

describe('RedisHealthStore against MemoryHealthStore', () => {
	it.each([1, 2, 3, 4])('picks the same servers in a random scenario (seed %i)', async (seed) => {
		const rand = seededRandom(seed);
		// A frozen clock: both stores must see the very same times (the scripts run on it, not on Redis's TIME).
		const clock = { offset: 0, now: () => 1_800_000_000_000 + clock.offset };
		const options = { now: clock.now, random: () => 0.25, breaker: { threshold: 2, baseMs: 2_000 }, selection: { slowStartMs: 5_000 } };
		const memory = new MemoryHealthStore(options);
		const remote = new RedisHealthStore(redis, { ...options, testClock: clock.now, prefix, clusterHash: `diff${seed}` });
		const servers = [
			{ id: 's1', weight: 3, max: 2 },
			{ id: 's2', weight: 1, max: 3 },
			{ id: 's3', weight: 2, max: 1 },
			{ id: 's4', weight: 1.5, max: 2 },
		];
		const strategies: StoreStrategy[] = ['weighted', 'roundRobin', 'pinned'];
		const held: Array<[Lease, Lease]> = [];
		const trace: string[] = [];
		for (let step = 0; step < 250; step++) {
			const r = rand();
			clock.offset += Math.floor(rand() * 400);
			if (r < 0.5) {
				const strategy = strategies[Math.floor(rand() * strategies.length)];
				// pinned: as planning/ reserves, with every server but the planned one excluded.
				const planned = servers[Math.floor(rand() * servers.length)].id;
				const exclude = strategy === 'pinned' ? servers.map((s) => s.id).filter((id) => id !== planned) : rand() < 0.1 ? ['s1'] : [];
				const args: SelectArgs = { servers, strategy, exclude, leaseTtlMs: 1_000 + Math.floor(rand() * 8_000) };
				const [m, x] = await Promise.all([reserve(memory, args), reserve(remote, args)]);
				const pick = (res: SelectResult) => ('none' in res ? `none:${res.none}` : `${res.lease.serverId}${res.trial ? '+trial' : ''}${res.panic ? '+panic' : ''}: ${res.reason}`);
				expect(`${step}:${pick(x)}`).toBe(`${step}:${pick(m)}`);
				trace.push(pick(m).split(':')[0]);
				if (!('none' in m) && !('none' in x)) held.push([m.lease, x.lease]);
			} else if (r < 0.85 && held.length) {
				const [m, x] = held.splice(Math.floor(rand() * held.length), 1)[0];
				const kinds: Outcome['kind'][] = ['success', 'success', 'transient', 'workflow', 'cancelled'];
				const outcome: Outcome = { kind: kinds[Math.floor(rand() * kinds.length)], workflowKey: rand() < 0.5 ? 'img' : 'vid', executionMs: Math.floor(rand() * 5_000), error: 'boom' };
				expect(await release(remote, x, outcome)).toBe(await release(memory, m, outcome));
			} else if (r < 0.93) {
				const probes = servers.filter(() => rand() < 0.5).map((s) => ({ serverId: s.id, ok: rand() < 0.8, queueRemaining: Math.floor(rand() * 4) }));
				await Promise.all([memory.recordProbes(probes), remote.recordProbes(probes)]);
			} else {
				const id = servers[Math.floor(rand() * servers.length)].id;
				const stats = { vramFree: Math.floor(rand() * 100), vramTotal: 100, ramFree: 50, ramTotal: 100 };
				await Promise.all([memory.recordSystemStats(id, stats), remote.recordSystemStats(id, stats)]);
			}
		}
		const [ms, xs] = await Promise.all([memory.snapshot(servers), remote.snapshot(servers)]);
		expect(xs).toEqual(ms);
		// the scenario exercised more than one server and some refusals
		expect(new Set(trace).size).toBeGreaterThan(3);
	});
});

describe('RedisHealthStore in Redis', () => {
	it('uses one round trip per commit, whatever it holds', async () => {
		const store = new RedisHealthStore(redis, { prefix, clusterHash: 'trips' });
		const servers = [{ id: 'a', weight: 1, max: 2 }];
		const before = store.roundTrips;
		const l = lease(await reserve(store, { servers, strategy: 'pinned', leaseTtlMs: 5_000 }));
		expect(store.roundTrips - before).toBe(1);
		await release(store, l, { kind: 'success', workflowKey: 'wf', executionMs: 10 });
		expect(store.roundTrips - before).toBe(2);
		const held = lease(await reserve(store, { servers, strategy: 'pinned', leaseTtlMs: 5_000 }));
		const args = { servers, strategy: 'pinned' as const, leaseTtlMs: 5_000 };
		const result = await store.commit({ release: [{ lease: held, outcome: { kind: 'success', workflowKey: 'wf', executionMs: 10 } }], reserve: [args, args, args] });
		expect(result.released).toEqual([true]);
		expect(result.reserved.map((r) => ('none' in r ? 'none' : r.lease.serverId))).toEqual(['a', 'a', 'none']);
		expect(store.roundTrips - before).toBe(4);
	});

	it('runs scripts as one transaction, loading in order the ones Redis does not have yet', async () => {
		const script = (body: string) => {
			const source = `-- ${Math.random()}\n${body}`;
			return { name: 'test', numberOfKeys: 1, source, sha: createHash('sha1').update(source).digest('hex') };
		};
		const incr = script("return redis.call('INCR', KEYS[1])");
		const double = script("return redis.call('SET', KEYS[1], 2 * redis.call('GET', KEYS[1]))");
		const key = `${prefix}{scripts}:n`;
		const calls = [
			{ script: incr, keys: [key], args: [] },
			{ script: double, keys: [key], args: [] },
			{ script: incr, keys: [key], args: [] },
		];
		expect(await runScriptsAtomically(redis, calls)).toEqual([1, 'OK', 3]);
		expect(await redis.get(key)).toBe('3');
		// loaded now: the same calls run without a second pass
		expect(await runScriptsAtomically(redis, calls)).toEqual([4, 'OK', 9]);
		await expect(runScriptsAtomically(redis, [calls[0], { script: script("return redis.error_reply('broken')"), keys: [key], args: [] }])).rejects.toThrow('broken');
	});

	it('puts every key of a cluster under one hash tag', async () => {
		const store: HealthStore = new RedisHealthStore(redis, { prefix, clusterHash: 'tagged' });
		const servers = [{ id: 'a', weight: 1, max: 2 }, { id: 'b', weight: 1, max: 2 }];
		const l = lease(await reserve(store, { servers, strategy: 'weighted', leaseTtlMs: 5_000 }));
		await store.recordProbes([{ serverId: 'a', ok: true, queueRemaining: 1 }, { serverId: 'b', ok: false, error: 'x' }]);
		await store.recordSystemStats('a', { vramFree: 1, vramTotal: 2, ramFree: 1, ramTotal: 2 });
		await release(store, l, { kind: 'transient', workflowKey: 'wf', error: 'y' });
		await release(store, lease(await reserve(store, { servers, strategy: 'roundRobin', leaseTtlMs: 5_000 })), { kind: 'success', workflowKey: 'wf', executionMs: 3 });
		const keys = await redis.keys(`${prefix}*{tagged}*`);
		// breaker, queue, ewma, stats, rr, errors (the lease set is empty, so Redis dropped it)
		expect(keys.length).toBe(6);
		const slots = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]));
		expect([...slots]).toEqual(['tagged']);
		for (const key of keys) expect(key.startsWith(`${prefix}{tagged}:`)).toBe(true);
	});

	it('a lease frees its slot in real time once its TTL ends, without a release', async () => {
		// The real clock, read through a wrapper: each try is judged by the time the store itself saw.
		let seen = 0;
		const store = new RedisHealthStore(redis, { prefix, clusterHash: 'ttl', now: () => (seen = Date.now()) });
		const args = { servers: [{ id: 'a', weight: 1, max: 1 }], strategy: 'weighted' as const, leaseTtlMs: 1_000 };
		const held = lease(await reserve(store, args));
		const tries: Array<{ at: number; free: boolean }> = [];
		const deadline = held.expiresAt + 10_000;
		for (;;) {
			const result = await reserve(store, args);
			tries.push({ at: seen, free: !('none' in result) });
			if (!('none' in result) || Date.now() > deadline) break;
			await new Promise((resolve) => setTimeout(resolve, 25));
		}
		// taken while its TTL ran, free from its expiry on
		expect(tries.filter((t) => t.at < held.expiresAt).length).toBeGreaterThan(0);
		expect(tries.filter((t) => t.at < held.expiresAt && t.free)).toEqual([]);
		expect(tries[tries.length - 1].free).toBe(true);
		expect(tries[tries.length - 1].at).toBeGreaterThanOrEqual(held.expiresAt);
	});

	it('three OS processes sharing Redis never push a server above max', async () => {
		const script = join(__dirname, 'reserveWorker.ts');
		const outputs = await Promise.all(
			[1, 2, 3].map(() => run(process.execPath, ['-r', 'ts-node/register/transpile-only', script, TEST_REDIS_URL, prefix, 'procs', '40'], { cwd: join(__dirname, '../../..'), timeout: 50_000 })),
		);
		const results = outputs.map((o) => JSON.parse(o.stdout) as { violations: number; reserved: number });
		expect(results.map((r) => r.violations)).toEqual([0, 0, 0]);
		for (const r of results) expect(r.reserved).toBeGreaterThan(0);
		const status = await new RedisHealthStore(redis, { prefix, clusterHash: 'procs' }).snapshot([{ id: 'a', weight: 1, max: 2 }]);
		expect(status[0].inFlight).toBe(0);
		expect(status[0].ewma.wf.samples).toBeGreaterThan(0);
	});
});

describe("RedisHealthStore on Redis's clock, whatever the workers' clocks say", () => {
	// Two workers sharing one cluster state, one clock 30 s ahead and one 30 s behind.
	const SKEW_MS = 30_000;
	const one = [{ id: 'a', weight: 1, max: 1 }];
	const workers = (clusterHash: string, options: HealthStoreOptionsInput = {}) =>
		[+SKEW_MS, -SKEW_MS].map((skew) => new RedisHealthStore(redis, { ...options, prefix, clusterHash, now: () => Date.now() + skew }));
	const take = (store: HealthStore, leaseTtlMs: number) => reserve(store, { servers: one, strategy: 'weighted', leaseTtlMs });

	it('a worker ahead does not expire the lease a worker behind just took', async () => {
		const [ahead, behind] = workers('skew-early');
		const held = lease(await take(behind, 5_000));
		expect(await take(ahead, 5_000)).toEqual({ none: 'no server is free: 1 at their max in-flight' });
		expect((await ahead.snapshot(one))[0].inFlight).toBe(1);
		expect(await behind.renew(held, 5_000)).toBe(true);
		expect(await release(behind, held, { kind: 'cancelled', workflowKey: 'wf' })).toBe(true);
	});

	it("a lease left by a dead worker ahead frees its slot after its TTL for a worker behind", async () => {
		const [ahead, behind] = workers('skew-late');
		lease(await take(ahead, 300)); // never renewed nor released: its worker died
		expect('none' in (await take(behind, 300))).toBe(true);
		await sleep(500);
		expect(lease(await take(behind, 300)).serverId).toBe('a');
	});

	it('breaker times, probe and stats ages come from Redis and read right in each worker clock', async () => {
		const [ahead, behind] = workers('skew-breaker', { breaker: { threshold: 1, baseMs: 3_000, jitter: 0 } });
		await release(ahead, lease(await take(ahead, 5_000)), { kind: 'transient', workflowKey: 'wf', error: 'refused' });
		const [seen] = await behind.snapshot(one);
		const now = behind.options.now();
		expect(seen.breaker.phase).toBe('open');
		// Open for 3 s from the failure, which happened just now (a few ms of round trips aside).
		expect(seen.breaker.openUntil - now).toBeGreaterThan(0);
		expect(seen.breaker.openUntil - now).toBeLessThanOrEqual(3_250);
		expect(seen.lastError?.at).toBeLessThanOrEqual(now + 250);
		expect(seen.lastError?.at).toBeGreaterThan(now - 3_000);
		await sleep(seen.breaker.openUntil - now + 250);
		expect(await take(behind, 5_000)).toMatchObject({ trial: true, panic: false, lease: { serverId: 'a' } });

		await behind.recordProbes([{ serverId: 'a', ok: true, queueRemaining: 2 }]);
		await behind.recordSystemStats('a', { vramFree: 1, vramTotal: 2, ramFree: 1, ramTotal: 2 });
		expect(await ahead.staleServers(one, 3_000)).toEqual([]);
		const [fresh] = await ahead.snapshot(one);
		for (const age of [fresh.queueAgeMs, fresh.systemAgeMs]) {
			expect(age).toBeGreaterThanOrEqual(0);
			expect(age).toBeLessThan(3_000);
		}
	});
});

describe('RedisHealthStore when Redis forgets its scripts (SCRIPT FLUSH)', () => {
	let server: ThrowawayRedis;
	let client: Redis;
	beforeAll(async () => {
		server = await startThrowawayRedis();
		client = new Redis({ host: server.host, port: server.port });
	});
	afterAll(async () => {
		client.disconnect();
		await server.kill();
	});

	it('loads them again, in order, and every call succeeds once', async () => {
		const store = new RedisHealthStore(client, { clusterHash: 'noscript' });
		const servers = [{ id: 'a', weight: 1, max: 2 }, { id: 'b', weight: 1, max: 1 }];
		const select = { servers, strategy: 'weighted' as const, leaseTtlMs: 5_000 };
		const forget = () => client.script('FLUSH');
		await forget();
		const first = lease(await reserve(store, select));
		await forget();
		expect(await store.renew(first, 5_000)).toBe(true);
		await forget();
		const result = await store.commit({ release: [{ lease: first, outcome: { kind: 'success', workflowKey: 'wf', executionMs: 1_000 } }], reserve: [select, select, select, select] });
		expect(result.released).toEqual([true]);
		expect(result.reserved.map((r) => ('none' in r ? 'none' : r.lease.serverId)).sort()).toEqual(['a', 'a', 'b', 'none']);
		await forget();
		await store.recordSystemStats('b', { vramFree: 1, vramTotal: 2, ramFree: 1, ramTotal: 2 });
		await forget();
		expect(await store.retake(first, 5_000)).toBe(true);
		// Forgotten while many calls are under way: each runs exactly once, so max still holds.
		await Promise.all(result.reserved.flatMap((r) => ('lease' in r ? [release(store, r.lease, { kind: 'cancelled', workflowKey: 'wf' })] : [])));
		await release(store, first, { kind: 'cancelled', workflowKey: 'wf' });
		await forget();
		await store.recordProbes([{ serverId: 'a', ok: true, queueRemaining: 2 }]);
		const calls = Array.from({ length: 20 }, (_, i) => (i === 10 ? forget().then(() => 'forgot') : reserve(store, select)));
		const taken = (await Promise.all(calls)).filter((r): r is Exclude<SelectResult, { none: string }> => typeof r === 'object' && 'lease' in r);
		expect(taken).toHaveLength(3);
		const status = await store.snapshot(servers);
		expect(status.map((s) => s.inFlight)).toEqual([2, 1]);
		expect(status[0]).toMatchObject({ queueRemaining: 2, ewma: { wf: { seconds: 1, samples: 1 } } });
		expect(status[1].system).toEqual({ vramFree: 1, vramTotal: 2, ramFree: 1, ramTotal: 2 });
	});
});

// A lease held by a running scene, wiped from Redis behind its back (as FLUSHDB or a Redis restart
// do): the next renewal notices, puts it back, and says so once.
describe('keepLease over Redis', () => {
	it('puts back a lease wiped from Redis at the next renewal, logs it once, and stops when told', async () => {
		const store = new RedisHealthStore(redis, { prefix, clusterHash: 'wiped' });
		const servers = [{ id: 'a', weight: 1, max: 1 }];
		const ttlMs = 3_000;
		const period = renewalPeriodMs(ttlMs);
		const held = lease(await reserve(store, { servers, strategy: 'weighted', leaseTtlMs: ttlMs }));
		const warnings: string[] = [];
		const keeper = keepLease(store, held, { ttlMs, holder: 'scene 7 on http://gpu-1:8188', warn: (m) => warnings.push(m) });
		try {
			await redis.del(store.keys.leases);
			const inFlight = async () => (await store.snapshot(servers))[0].inFlight;
			expect(await inFlight()).toBe(0);
			// Another worker fills the slot the store no longer counts.
			const intruder = lease(await reserve(store, { servers, strategy: 'weighted', leaseTtlMs: ttlMs }));
			await until(async () => (await inFlight()) === 2, period + 2_000);
			expect(await reserve(store, { servers, strategy: 'weighted', leaseTtlMs: ttlMs })).toMatchObject({ none: expect.stringContaining('at their max') });
			await release(store, intruder, { kind: 'cancelled', workflowKey: 'wf' });
			// Renewed, not lost again, for longer than the TTL: one line in all.
			await sleep(ttlMs + period);
			expect(await inFlight()).toBe(1);
			expect(warnings).toHaveLength(1);
			expect(warnings[0]).toMatch(/^The lease of scene 7 on http:\/\/gpu-1:8188 was lost \(.*Redis restarted or was flushed\)/);
		} finally {
			keeper.stop();
		}
		await redis.del(store.keys.leases);
		await sleep(period + 500);
		expect((await store.snapshot(servers))[0].inFlight).toBe(0);
	});
});
