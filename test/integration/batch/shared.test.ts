/**
 * Many OS processes share one Redis and one fleet: no server ever holds more than its `max` of our
 * prompts (the simulators' recorded peak), a killed worker's leases expire and its servers are used
 * again, a batch keeps going on memory when Redis goes away, leases wiped from Redis mid-run are
 * taken again, and workers whose clocks are half a minute apart still agree on every lease.
 */
import { spawn, type ChildProcess } from 'child_process';
import Redis from 'ioredis';
import { runBatch } from '../../../src/cluster';
import { renewalPeriodMs } from '../../../src/cluster/leases';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { clusterKeys } from '../../../src/cluster/store/keys';
import { startFleet, type Fleet } from '../../sim';
import { freePort, startThrowawayRedis, THROWAWAY_REDIS_HOST, type ThrowawayRedis } from '../../setup/redis';
import { additionsSince, CHECKPOINTS, cleanKeys, FAST_BACKOFF, REDIS, scenes, seedOf, startsBySeed, uniquePrefix, waitFor } from './helpers';
import { killWorkers, startWorker } from './workers';

// Each worker is a ts-node process: on a loaded 2-core machine compiling it takes tens of seconds.
jest.setTimeout(150_000);
const WORKER_START_MS = 90_000;

let fleet: Fleet | undefined;
let prefix = '';
/** redis-servers a test started itself. */
const children: ChildProcess[] = [];

afterEach(async () => {
	killWorkers();
	for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
	if (prefix) await cleanKeys(prefix);
	prefix = '';
});

describe('workers sharing one Redis', () => {
	it.each([2, 3])('%i processes never push a server above its max', async (processes) => {
		const maxes = [1, 2, 1];
		fleet = await startFleet([3, 2, 1].map((speed) => ({ speed, msPerStep: 5, models: CHECKPOINTS })));
		prefix = uniquePrefix('procs');
		const servers = fleet.urls.map((url, i) => `${url} max=${maxes[i]}`).join('\n');
		const workers = Array.from({ length: processes }, (_, p) =>
			startWorker({ servers, redis: REDIS, keyPrefix: prefix, count: 8, steps: 10, base: 1000 * (p + 1) }),
		);
		const reports = await Promise.all(workers.map((w) => w.report));
		for (const report of reports) expect(report.results.filter((r) => !r.ok)).toEqual([]);
		fleet.servers.forEach((sim, i) => {
			expect(sim.records.peakActive).toBeGreaterThan(0);
			expect(sim.records.peakActive).toBeLessThanOrEqual(maxes[i]);
		});
		expect(startsBySeed(fleet.servers).size).toBe(8 * processes);
	});

	it("uses a SIGKILLed worker's servers again once its leases expire", async () => {
		fleet = await startFleet([{}, {}].map(() => ({ msPerStep: 10, models: CHECKPOINTS })));
		prefix = uniquePrefix('kill');
		const servers = fleet.urls.map((url) => `${url} max=1`).join('\n');
		// Made before the kill, so that nothing slow stands between the kill and the reading of the leases.
		const runtime = await getRuntime({ servers, redis: REDIS, keyPrefix: prefix });
		const doomed = startWorker({ servers, redis: REDIS, keyPrefix: prefix, count: 6, steps: 40, base: 1000, leaseTtlMs: 3000 });
		doomed.report.catch(() => undefined);
		await waitFor(() => fleet!.servers.every((s) => s.records.started.length > 0), WORKER_START_MS);
		const gone = new Promise((resolve) => doomed.child.once('exit', resolve));
		doomed.child.kill('SIGKILL');
		await gone;

		// The dead worker holds one lease per server; renewed every second, each has 2 s or more to live.
		const redis = new Redis({ host: REDIS.host, port: REDIS.port, db: REDIS.db });
		const raw = await redis.zrange(clusterKeys(runtime.hash, prefix).leases, 0, -1, 'WITHSCORES').finally(() => redis.quit());
		const deadUntil = new Map<string, number>();
		for (let i = 0; i < raw.length; i += 2) if (Number(raw[i + 1]) > Date.now()) deadUntil.set(raw[i].split('|')[0], Number(raw[i + 1]));
		expect([...deadUntil.keys()].sort()).toEqual(runtime.servers.map((s) => s.id).sort());
		expect((await runtime.store.snapshot(runtime.servers)).map((s) => s.inFlight)).toEqual([1, 1]);

		const outcomes = await runBatch(runtime, scenes(4, { steps: 5, base: 5000 }), { strategy: 'leastLoaded', leaseTtlMs: 1500, refreshMs: 100, backoff: FAST_BACKOFF });
		expect(outcomes.filter((o) => !o.ok)).toEqual([]);
		expect(new Set(outcomes.map((o) => o.ok && o.result.serverId)).size).toBe(2);
		// On each server, our scenes could only start once the dead worker's lease there had expired.
		for (const [serverId, until] of deadUntil) {
			const starts = outcomes.flatMap((o) => (o.ok ? o.result.attempts.filter((a) => a.serverId === serverId).map((a) => a.startedAt) : []));
			expect({ serverId, firstStart: Math.min(...starts) >= until }).toEqual({ serverId, firstStart: true });
		}
		for (const sim of fleet.servers) expect(sim.records.peakActive).toBe(1);
	});

	it('falls back to memory when Redis stops mid-run and completes every scene', async () => {
		const port = await freePort();
		const redis = spawn('redis-server', ['--port', String(port), '--bind', THROWAWAY_REDIS_HOST, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
		children.push(redis);
		fleet = await startFleet([1, 2, 3].map((speed) => ({ speed, msPerStep: 10, models: CHECKPOINTS })));
		const warnings: string[] = [];
		const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m) };
		let runtime;
		for (let i = 0; ; i++) {
			runtime = await getRuntime({ servers: fleet.urls.map((u) => `${u} max=2`).join('\n'), redis: { mode: 'single', host: THROWAWAY_REDIS_HOST, port, db: 13 }, keyPrefix: 'throwaway' }, logger);
			if (runtime.activeStore() === 'redis' && (await runtime.store.snapshot(runtime.servers).then(() => runtime!.activeStore() === 'redis'))) break;
			await closeAllRuntimes();
			if (i > 50) throw new Error('throwaway Redis did not start');
			await new Promise((r) => setTimeout(r, 100));
		}
		const batch = runBatch(runtime, scenes(18, { steps: 20 }), { strategy: 'leastLoaded', refreshMs: 100, backoff: FAST_BACKOFF });
		await waitFor(() => fleet!.servers.reduce((n, s) => n + s.records.finished.length, 0) >= 3, 60_000);
		redis.kill('SIGKILL');
		const outcomes = await batch;
		expect(outcomes.filter((o) => !o.ok)).toEqual([]);
		expect(runtime.activeStore()).toBe('memory');
		expect(warnings.some((w) => /Redis is unreachable/.test(w))).toBe(true);
		expect([...startsBySeed(fleet.servers).values()].every((n) => n === 1)).toBe(true);
	});
});

describe('leases against a wiped Redis and skewed clocks', () => {
	/** A short lease, so a test sees several renewals: renewed every second (renewalPeriodMs). */
	const LEASE_TTL_MS = 3_000;
	let redis: ThrowawayRedis | undefined;
	afterEach(async () => {
		await redis?.kill();
		redis = undefined;
	});

	it('leases wiped by FLUSHDB mid-run are taken again at the next renewal: from then on no scene goes to a server at its max', async () => {
		redis = await startThrowawayRedis();
		// A scene takes 3 s: one running at the flush is renewed (a second after it started) and still
		// runs when the renewal period after the flush is over.
		fleet = await startFleet([{}, {}].map(() => ({ msPerStep: 75, models: CHECKPOINTS })));
		const servers = fleet.urls.map((url) => `${url} max=1`).join('\n');
		const shared = { servers, redis: { mode: 'single' as const, host: redis.host, port: redis.port, db: 0 }, keyPrefix: 'flush', steps: 40, leaseTtlMs: LEASE_TTL_MS };
		const workers = [1000, 2000].map((base) => startWorker({ ...shared, count: 5, base }));
		// Flush while a scene runs on the first server, after the exchange that passed its lease on
		// (within 50 ms) and before its first renewal (a second after it started): its lease is lost.
		await waitFor(() => fleet!.servers[0].records.started.length >= 2, 30_000);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const flusher = new Redis({ host: redis.host, port: redis.port });
		await flusher.flushdb();
		const flushedAt = Date.now();
		flusher.disconnect();
		const finishedAtFlush = fleet.servers.reduce((n, s) => n + s.records.finished.length, 0);

		const reports = await Promise.all(workers.map((w) => w.report));
		for (const report of reports) expect(report.results.filter((r) => !r.ok)).toEqual([]);
		expect([...startsBySeed(fleet.servers).values()]).toEqual(Array(10).fill(1));
		expect(finishedAtFlush).toBeLessThan(6);
		// Until the lost leases are back, other workers may place scenes where they ran: those wait
		// behind them and run, nothing is stopped. Every lost lease is back within one renewal period
		// (a second for the workers' next look at the store): from then on the store counts what
		// runs, so a server above its max only drains, and no scene is added to a server at its max.
		const renewed = flushedAt + renewalPeriodMs(LEASE_TTL_MS) + 1_000;
		const added = fleet.servers.map((sim) => additionsSince(sim, renewed));
		for (const server of added) expect(server.filter((p) => p.active > 1)).toEqual([]);
		// ...while the run still placed scenes after that.
		expect(added.flat().length).toBeGreaterThanOrEqual(2);
		const warnings = workers.flatMap((w) => w.warnings());
		expect(warnings.filter((w) => /^The lease of scene \d+ on http:\/\/\S+ was lost/.test(w)).length).toBeGreaterThanOrEqual(1);
		for (const w of workers) expect(new Set(w.warnings()).size).toBe(w.warnings().length);
	}, 90_000);

	it('a worker whose clock runs a minute ahead does not take the slots of a worker behind it', async () => {
		redis = await startThrowawayRedis();
		fleet = await startFleet([{}, {}].map(() => ({ msPerStep: 50, models: CHECKPOINTS })));
		const servers = fleet.urls.map((url) => `${url} max=1`).join('\n');
		const shared = { servers, redis: { mode: 'single' as const, host: redis.host, port: redis.port, db: 0 }, keyPrefix: 'skew', count: 8, steps: 20, leaseTtlMs: LEASE_TTL_MS, waitForGo: true };
		const behind = startWorker({ ...shared, base: 1000, clockSkewMs: -30_000 });
		const ahead = startWorker({ ...shared, base: 2000, clockSkewMs: +30_000 });
		await waitFor(() => behind.ready() && ahead.ready(), 60_000);
		// The worker behind holds both servers (8 scenes of 1 s) when the one ahead starts.
		behind.go();
		await waitFor(() => fleet!.servers.every((s) => s.records.started.length > 0), 60_000);
		ahead.go();
		const reports = await Promise.all([behind, ahead].map((w) => w.report));
		for (const report of reports) expect(report.results.filter((r) => !r.ok)).toEqual([]);
		for (const sim of fleet.servers) expect(sim.records.peakActive).toBe(1);
		expect([...startsBySeed(fleet.servers).values()]).toEqual(Array(16).fill(1));
	}, 90_000);

	it("a dead worker's leases free their slots after their TTL for a worker whose clock is a minute behind its own", async () => {
		redis = await startThrowawayRedis();
		// Scenes of 1.5 s: the first worker still has a minute of them when it is killed.
		fleet = await startFleet([{}, {}].map(() => ({ msPerStep: 50, models: CHECKPOINTS })));
		const servers = fleet.urls.map((url) => `${url} max=1`).join('\n');
		const shared = { servers, redis: { mode: 'single' as const, host: redis.host, port: redis.port, db: 0 }, keyPrefix: 'skew-dead', steps: 30, leaseTtlMs: LEASE_TTL_MS };
		const doomed = startWorker({ ...shared, count: 80, base: 1000, clockSkewMs: +30_000 });
		doomed.report.catch(() => undefined);
		await waitFor(() => fleet!.servers.every((s) => s.records.started.length > 0), 60_000);
		// The other worker waits: the first passes each lease on from scene to scene.
		const late = startWorker({ ...shared, count: 2, base: 5000, steps: 5, clockSkewMs: -30_000 });
		late.report.catch(() => undefined); // awaited below, unless a wait fails first
		await waitFor(() => late.ready(), 60_000);
		await new Promise((resolve) => setTimeout(resolve, 500));
		doomed.child.kill('SIGKILL');
		const killedAt = Date.now();
		expect(late.started()).toBe(0);
		// The dead worker renewed (or passed on) its leases at most a renewal period before it died:
		// they are gone a TTL after, and the other worker's next look at the store finds the slots.
		await waitFor(() => late.started() > 0, LEASE_TTL_MS + 5_000);
		const report = await late.report;
		expect(report.results.filter((r) => !r.ok)).toEqual([]);
		const firstStart = Math.min(...fleet.servers.flatMap((s) => s.records.prompts.filter((p) => seedOf(p.prompt) >= 5000).map((p) => p.receivedAt)));
		expect(firstStart).toBeGreaterThan(killedAt);
	}, 180_000);
});
