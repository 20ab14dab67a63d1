/**
 * Many OS processes share one Redis and one fleet: no server ever holds more than its `max` of our
 * prompts (the simulators' recorded peak), a killed worker's leases expire and its servers are used
 * again, and a batch keeps going on memory when Redis goes away.
 */
import { spawn, type ChildProcess } from 'child_process';
import Redis from 'ioredis';
import { createServer } from 'net';
import { join } from 'path';
import { runBatch } from '../../../src/cluster/batch';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { clusterKeys } from '../../../src/cluster/store/keys';
import { startFleet, type Fleet } from '../../sim';
import type { WorkerArgs, WorkerReport } from './batchWorker';
import { CHECKPOINTS, cleanKeys, FAST_BACKOFF, REDIS, scenes, startsBySeed, uniquePrefix, waitFor } from './helpers';

// Each worker is a ts-node process: on a loaded 2-core machine compiling it takes tens of seconds.
jest.setTimeout(150_000);
const WORKER_START_MS = 90_000;

const ROOT = join(__dirname, '../../..');
const WORKER = join(__dirname, 'batchWorker.ts');

let fleet: Fleet | undefined;
let prefix = '';
const children: ChildProcess[] = [];

function startWorker(args: WorkerArgs): { child: ChildProcess; report: Promise<WorkerReport>; started: () => number } {
	const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
	children.push(child);
	let out = '';
	let err = '';
	let started = 0;
	child.stdout!.on('data', (chunk: Buffer) => {
		out += chunk.toString();
		started = out.split('\n').filter((line) => line.startsWith('{"started"')).length;
	});
	child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
	const report = new Promise<WorkerReport>((resolve, reject) => {
		child.on('exit', (code, signal) => {
			const last = out.trim().split('\n').pop() ?? '';
			if (code === 0 && last.startsWith('{"results"')) resolve(JSON.parse(last) as WorkerReport);
			else reject(new Error(`worker ended with ${code ?? signal}: ${err.slice(-2000)}`));
		});
	});
	return { child, report, started: () => started };
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

afterEach(async () => {
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
		const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
		children.push(redis);
		fleet = await startFleet([1, 2, 3].map((speed) => ({ speed, msPerStep: 10, models: CHECKPOINTS })));
		const warnings: string[] = [];
		const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m) };
		let runtime;
		for (let i = 0; ; i++) {
			runtime = await getRuntime({ servers: fleet.urls.map((u) => `${u} max=2`).join('\n'), redis: { mode: 'single', host: '127.0.0.1', port, db: 13 }, keyPrefix: 'throwaway' }, logger);
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
