import { execFile } from 'child_process';
import { createHash } from 'crypto';
import Redis from 'ioredis';
import { join } from 'path';
import { promisify } from 'util';
import { TEST_REDIS_URL, testKeyPrefix } from '../../setup/redis';
import { MemoryHealthStore } from '../../../src/cluster/store/MemoryHealthStore';
import { RedisHealthStore } from '../../../src/cluster/store/RedisHealthStore';
import { runScriptsAtomically } from '../../../src/cluster/store/scripts';
import type { HealthStore, Lease, Outcome } from '../../../src/cluster/store/HealthStore';
import type { StrategyName } from '../../../src/cluster/strategies/types';
import { lease } from './healthStoreSuite';
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

describe('RedisHealthStore against MemoryHealthStore', () => {
	it.each([1, 2, 3, 4])('picks the same servers in a random scenario (seed %i)', async (seed) => {
		const rand = seededRandom(seed);
		// A frozen clock: both stores must see the very same times.
		const clock = { offset: 0, now: () => 1_800_000_000_000 + clock.offset };
		const options = { now: clock.now, random: () => 0.25, breaker: { threshold: 2, baseMs: 2_000 }, selection: { slowStartMs: 5_000, minSamples: 2 } };
		const memory = new MemoryHealthStore(options);
		const remote = new RedisHealthStore(redis, { ...options, prefix, clusterHash: `diff${seed}` });
		const servers = [
			{ id: 's1', weight: 3, max: 2 },
			{ id: 's2', weight: 1, max: 3 },
			{ id: 's3', weight: 2, max: 1 },
			{ id: 's4', weight: 1.5, max: 2 },
		];
		const strategies: StrategyName[] = ['leastLoaded', 'weighted', 'fastest', 'roundRobin'];
		const held: Array<[Lease, Lease]> = [];
		const trace: string[] = [];
		for (let step = 0; step < 250; step++) {
			const r = rand();
			clock.offset += Math.floor(rand() * 400);
			if (r < 0.5) {
				const args = {
					servers,
					strategy: strategies[Math.floor(rand() * 4)],
					workflowKey: rand() < 0.5 ? 'img' : 'vid',
					exclude: rand() < 0.1 ? ['s1'] : [],
					leaseTtlMs: 1_000 + Math.floor(rand() * 8_000),
				};
				const [m, x] = await Promise.all([memory.selectAndReserve(args), remote.selectAndReserve(args)]);
				const pick = (res: typeof m) => ('none' in res ? `none:${res.none}` : `${res.lease.serverId}${res.trial ? '+trial' : ''}${res.panic ? '+panic' : ''}`);
				expect(`${step}:${pick(x)}`).toBe(`${step}:${pick(m)}`);
				trace.push(pick(m));
				if (!('none' in m) && !('none' in x)) held.push([m.lease, x.lease]);
			} else if (r < 0.85 && held.length) {
				const [m, x] = held.splice(Math.floor(rand() * held.length), 1)[0];
				const kinds: Outcome['kind'][] = ['success', 'success', 'transient', 'workflow', 'cancelled'];
				const outcome: Outcome = { kind: kinds[Math.floor(rand() * kinds.length)], workflowKey: rand() < 0.5 ? 'img' : 'vid', executionMs: Math.floor(rand() * 5_000), error: 'boom' };
				expect(await remote.release(x, outcome)).toBe(await memory.release(m, outcome));
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
	it('uses one round trip to select, one to release and one for a whole commit', async () => {
		const store = new RedisHealthStore(redis, { prefix, clusterHash: 'trips' });
		const servers = [{ id: 'a', weight: 1, max: 2 }];
		const before = store.roundTrips;
		const l = lease(await store.selectAndReserve({ servers, strategy: 'fastest', workflowKey: 'wf', leaseTtlMs: 5_000 }));
		expect(store.roundTrips - before).toBe(1);
		await store.release(l, { kind: 'success', workflowKey: 'wf', executionMs: 10 });
		expect(store.roundTrips - before).toBe(2);
		const held = lease(await store.selectAndReserve({ servers, strategy: 'fastest', workflowKey: 'wf', leaseTtlMs: 5_000 }));
		const reserve = { servers, strategy: 'fastest' as const, workflowKey: 'wf', leaseTtlMs: 5_000 };
		const result = await store.commit({ release: [{ lease: held, outcome: { kind: 'success', workflowKey: 'wf', executionMs: 10 } }], reserve: [reserve, reserve, reserve] });
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
		const l = lease(await store.selectAndReserve({ servers, strategy: 'weighted', workflowKey: 'wf', leaseTtlMs: 5_000 }));
		await store.recordProbes([{ serverId: 'a', ok: true, queueRemaining: 1 }, { serverId: 'b', ok: false, error: 'x' }]);
		await store.recordSystemStats('a', { vramFree: 1, vramTotal: 2, ramFree: 1, ramTotal: 2 });
		await store.recordCapabilities('a', { classes: ['X'], models: {} });
		await store.release(l, { kind: 'transient', workflowKey: 'wf', error: 'y' });
		await store.release(lease(await store.selectAndReserve({ servers, strategy: 'roundRobin', workflowKey: 'wf', leaseTtlMs: 5_000 })), { kind: 'success', workflowKey: 'wf', executionMs: 3 });
		const keys = await redis.keys(`${prefix}*{tagged}*`);
		// breaker, queue, ewma, stats, rr, errors, caps:a (the lease set is empty, so Redis dropped it)
		expect(keys.length).toBe(7);
		const slots = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]));
		expect([...slots]).toEqual(['tagged']);
		for (const key of keys) expect(key.startsWith(`${prefix}{tagged}:`)).toBe(true);
	});

	it('a lease frees its slot in real time once its TTL ends, without a release', async () => {
		// The real clock, read through a wrapper: each try is judged by the time the store itself saw.
		let seen = 0;
		const store = new RedisHealthStore(redis, { prefix, clusterHash: 'ttl', now: () => (seen = Date.now()) });
		const args = { servers: [{ id: 'a', weight: 1, max: 1 }], strategy: 'leastLoaded' as const, workflowKey: 'wf', leaseTtlMs: 1_000 };
		const held = lease(await store.selectAndReserve(args));
		const tries: Array<{ at: number; free: boolean }> = [];
		const deadline = held.expiresAt + 10_000;
		for (;;) {
			const result = await store.selectAndReserve(args);
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
