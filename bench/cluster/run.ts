/**
 * Cluster scheduling benchmark over simulated ComfyUI fleets (test/sim), in this process, with
 * Redis (db 13, own key prefix) as the shared store. Prints markdown tables and writes them to
 * bench/results/cluster.md.
 *
 *   npx ts-node --transpile-only bench/cluster/run.ts [--quick]
 *
 * Cost: a scene of cost c runs c × 4 KSampler steps of MS_PER_STEP at speed 1 (one unit = COST_UNIT_MS); every
 * other node costs nothing. A server of speed s takes cost × COST_UNIT_MS ÷ s.
 */
import { spawn } from 'child_process';
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import Redis from 'ioredis';
import { ComfyUiClient } from '../../src/comfyui/client';
import { runBatch, type BatchOptions } from '../../src/cluster/batch';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import type { StrategyName } from '../../src/cluster/strategies/types';
import { startFleet, type Fleet } from '../../test/sim';
import { COST_UNIT_MS, graph, lowerBound, MODELS, MS_PER_STEP, ZERO_CLASS_COSTS } from './common';

// Simulator folders in memory where the machine has /dev/shm: every simulated image is written to
// disk, and the disk's hiccups are not what this measures.
if (existsSync('/dev/shm') && !process.env.TMPDIR) process.env.TMPDIR = '/dev/shm';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 3;
const ROOT = join(__dirname, '../..');
const REDIS = { mode: 'single' as const, host: '127.0.0.1', port: 6379, db: 13 };
const P2_SPEEDS = [3, 2, 2, 1, 1, 1];
const POOL_DEADLINE_MS = 30_000;
let seedBase = 1;

interface Measured {
	seconds: number;
	failed: number;
	note?: string;
}

interface Row {
	workload: string;
	variant: string;
	lb?: number;
	runs: Measured[];
	/** Goal on the worst run: returns a description and whether it is met. */
	goal?: (worst: number, row: Row) => { text: string; met: boolean };
	extra?: string;
}

const rows: Row[] = [];
const profiles: string[] = [];

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor((sorted.length - 1) / 2)];
}

async function fleetOf(speeds: number[], msPerStep = MS_PER_STEP): Promise<Fleet> {
	return startFleet(speeds.map((speed) => ({ speed, msPerStep, classCostMs: ZERO_CLASS_COSTS, models: MODELS })));
}

function prefix(): string {
	return `bench-cluster-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

async function cleanKeys(keyPrefix: string): Promise<void> {
	const redis = new Redis({ ...REDIS, lazyConnect: true });
	await redis.connect();
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
		cursor = next;
		if (keys.length) await redis.del(...keys);
	} while (cursor !== '0');
	redis.disconnect();
}

function serverLines(fleet: Fleet, options: { weights?: number[]; max?: number } = {}): string {
	return fleet.urls.map((url, i) => `${url} max=${options.max ?? 2}${options.weights ? ` weight=${options.weights[i]}` : ''}`).join('\n');
}

/** Our batch on the fleet; records a per-server timeline for the profile. */
async function ours(
	fleet: Fleet,
	costs: number[],
	strategy: StrategyName,
	options: { weights?: number[]; during?: (startedAt: number) => void; batch?: Partial<BatchOptions>; label?: string; keyPrefix?: string } = {},
): Promise<Measured & { roundTrips: number }> {
	const keyPrefix = options.keyPrefix ?? prefix();
	const runtime = await getRuntime({ servers: serverLines(fleet, { weights: options.weights }), redis: REDIS, keyPrefix });
	const base = (seedBase += 10_000);
	const scenes = costs.map((cost, index) => buildScene({ index, workflow: graph(base + index, cost), download: false }));
	const timeline = new Map<string, Array<{ index: number; start: number; end?: number }>>();
	const open = new Map<number, { index: number; start: number; end?: number }>();
	// Warm runtime, as in a running n8n (runtimes are cached per credential): connections open and
	// /object_info cached before the clock starts. The websocket still opens on the first submit.
	await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo().catch(() => undefined)));
	await runtime.store.snapshot(runtime.servers);
	const trips = runtime.store.roundTrips;
	const started = Date.now();
	options.during?.(started);
	const outcomes = await runBatch(runtime, scenes, {
		strategy,
		...options.batch,
		onEvent: (event) => {
			if (event.type === 'progress' && event.phase === 'running' && !open.has(event.index)) {
				const entry = { index: event.index, start: Date.now() - started };
				open.set(event.index, entry);
				const list = timeline.get(event.server) ?? [];
				list.push(entry);
				timeline.set(event.server, list);
			}
			if (event.type === 'finish') {
				const entry = open.get(event.index);
				if (entry) entry.end = Date.now() - started;
			}
		},
	});
	const seconds = (Date.now() - started) / 1000;
	const roundTrips = runtime.store.roundTrips - trips;
	const failed = outcomes.filter((o) => !o.ok).length;
	const lines = [...timeline.entries()].map(
		([server, list]) => `  ${server}: ${list.map((e) => `#${e.index}[${(e.start / 1000).toFixed(2)}–${e.end !== undefined ? (e.end / 1000).toFixed(2) : '?'}]`).join(' ')}`,
	);
	profiles.push(`${options.label ?? strategy}: ${seconds.toFixed(2)} s\n${lines.join('\n')}`);
	await closeAllRuntimes();
	// A shared prefix carries the learned speeds to the next run; its owner deletes it.
	if (!options.keyPrefix) await cleanKeys(keyPrefix);
	return { seconds, failed, roundTrips };
}

function clientsOf(fleet: Fleet): ComfyUiClient[] {
	return fleet.urls.map((url) => new ComfyUiClient({ url }));
}

async function runOne(client: ComfyUiClient, cost: number, seed: number, readHistory = false): Promise<boolean> {
	try {
		const { promptId } = await client.submit(graph(seed, cost));
		await client.watch(promptId, { totalMs: 600_000 });
		if (readHistory) await client.history(promptId);
		return true;
	} catch {
		return false;
	}
}

/** One scene after another on one server, with the plain client. */
async function serial(fleet: Fleet, serverIndex: number, costs: number[]): Promise<Measured> {
	const [client] = clientsOf({ ...fleet, urls: [fleet.urls[serverIndex]] });
	const base = (seedBase += 10_000);
	const started = Date.now();
	let failed = 0;
	for (const [i, cost] of costs.entries()) if (!(await runOne(client, cost, base + i))) failed++;
	const seconds = (Date.now() - started) / 1000;
	await client.close();
	return { seconds, failed };
}

/** Scene i → server i mod n, all queued at once, with the plain client. */
async function roundRobin(fleet: Fleet, costs: number[]): Promise<Measured> {
	const clients = clientsOf(fleet);
	const base = (seedBase += 10_000);
	const started = Date.now();
	const results = await Promise.all(costs.map((cost, i) => runOne(clients[i % clients.length], cost, base + i)));
	const seconds = (Date.now() - started) / 1000;
	await Promise.all(clients.map((c) => c.close()));
	return { seconds, failed: results.filter((ok) => !ok).length };
}

/** N loops (loop j on server j mod n): submit, wait, read history — the bare client at a given concurrency. */
async function bareLoop(fleet: Fleet, costs: number[], concurrency: number): Promise<Measured> {
	const clients = clientsOf(fleet);
	const base = (seedBase += 10_000);
	let next = 0;
	let failed = 0;
	const started = Date.now();
	await Promise.all(
		Array.from({ length: concurrency }, async (_, j) => {
			while (next < costs.length) {
				const i = next++;
				if (!(await runOne(clients[j % clients.length], costs[i], base + i, true))) failed++;
			}
		}),
	);
	const seconds = (Date.now() - started) / 1000;
	await Promise.all(clients.map((c) => c.close()));
	return { seconds, failed };
}

/** @saintno/comfyui-sdk ComfyPool (ESM only) in a child process. */
async function comfyPool(fleet: Fleet, costs: number[], mode: 'PICK_LOWEST' | 'PICK_ZERO'): Promise<Measured> {
	const base = (seedBase += 10_000);
	const graphs = costs.map((cost, i) => graph(base + i, cost));
	const out = await new Promise<string>((resolve, reject) => {
		const child = spawn(process.execPath, [join(__dirname, 'comfyPool.mjs'), JSON.stringify({ urls: fleet.urls, mode, graphs, deadlineMs: POOL_DEADLINE_MS })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
		let text = '';
		let err = '';
		child.stdout.on('data', (c: Buffer) => (text += c.toString()));
		child.stderr.on('data', (c: Buffer) => (err += c.toString()));
		child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`ComfyPool child failed (${code}): ${err.slice(-1000)}`))));
	});
	const result = JSON.parse(out.trim().split('\n').pop()!) as { elapsedMs: number | null; ok: number; failed: number; backgroundErrors: number; timedOut?: boolean };
	const notes = [result.timedOut ? `not done after ${POOL_DEADLINE_MS / 1000} s` : '', result.backgroundErrors ? `${result.backgroundErrors} SDK errors` : ''].filter(Boolean);
	return { seconds: (result.elapsedMs ?? POOL_DEADLINE_MS) / 1000, failed: costs.length - result.ok, note: notes.join(', ') || undefined };
}

async function idle(fleet: Fleet): Promise<void> {
	const deadline = Date.now() + 60_000;
	while (fleet.servers.some((s) => s.activePromptIds().length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function row(workload: string, variant: string, lb: number | undefined, goal?: Row['goal']): Row {
	const r: Row = { workload, variant, lb, runs: [], goal };
	rows.push(r);
	return r;
}

const ratioGoal = (limit: number) => (worst: number, r: Row) => ({ text: `≤ ${limit.toFixed(2)} × LB`, met: worst / r.lb! <= limit && r.runs.every((m) => m.failed === 0) });

// ── workloads ───────────────────────────────────────────────────────────────────────────────

async function p1(): Promise<void> {
	const costs = Array(6).fill(5);
	const speeds = Array(6).fill(1);
	const lb = lowerBound(costs, speeds);
	const serialRow = row('P1 6 scenes (cost 5), 6 equal servers', 'serial on one server', lb);
	const oursRow = row('P1 6 scenes (cost 5), 6 equal servers', 'ours (leastLoaded)', lb);
	const speedup = row('P1 6 scenes (cost 5), 6 equal servers', 'speed-up serial ÷ ours', undefined, (worst) => ({ text: '≥ 5.8×', met: worst >= 5.8 }));
	for (let run = 0; run < RUNS; run++) {
		const fleet = await fleetOf(speeds);
		const s = await serial(fleet, 0, costs);
		await idle(fleet);
		const o = await ours(fleet, costs, 'leastLoaded', { label: `P1 run ${run + 1}` });
		serialRow.runs.push(s);
		oursRow.runs.push(o);
		speedup.runs.push({ seconds: s.seconds / o.seconds, failed: o.failed });
		await fleet.stop();
	}
}

async function p2(): Promise<void> {
	const costs = Array(60).fill(1);
	const lb = lowerBound(costs, P2_SPEEDS);
	const name = 'P2 60 scenes (cost 1), speeds 3,2,2,1,1,1';
	const variants: Array<[string, (fleet: Fleet) => Promise<Measured>, Row['goal']?]> = [
		['serial on the fastest server', (f) => serial(f, 0, costs)],
		['round robin (i mod 6, all queued)', (f) => roundRobin(f, costs)],
		['ComfyPool PICK_LOWEST', (f) => comfyPool(f, costs, 'PICK_LOWEST')],
		['ComfyPool PICK_ZERO', (f) => comfyPool(f, costs, 'PICK_ZERO')],
		['ours leastLoaded (weights = speeds)', (f) => ours(f, costs, 'leastLoaded', { weights: P2_SPEEDS, label: 'P2 leastLoaded' }), ratioGoal(1.05)],
		['ours fastest (speeds learned)', (f) => ours(f, costs, 'fastest', { label: 'P2 fastest' }), ratioGoal(1.05)],
	];
	const table = variants.map(([variant, , goal]) => row(name, variant, lb, goal));
	for (let run = 0; run < RUNS; run++) {
		const fleet = await fleetOf(P2_SPEEDS);
		for (const [i, [, measure]] of variants.entries()) {
			await idle(fleet);
			const t = Date.now();
			table[i].runs.push(await measure(fleet));
			process.stderr.write(`  ${variants[i][0]}: ${((Date.now() - t) / 1000).toFixed(2)} s\n`);
		}
		await fleet.stop();
	}
}

async function p3(): Promise<void> {
	const costs = Array(60).fill(1);
	const surviving = P2_SPEEDS.filter((_, i) => i !== 1);
	const lb = lowerBound(costs, surviving);
	const name = 'P3 P2 with the speed-2 server crashing at 30 %';
	const r = row(name, 'ours leastLoaded (weights = speeds, unreachableMs 2 s)', lb, ratioGoal(1.15));
	for (let run = 0; run < RUNS; run++) {
		const fleet = await fleetOf(P2_SPEEDS);
		const crashAfter = 0.3 * lowerBound(costs, P2_SPEEDS) * 1000;
		let timer: NodeJS.Timeout | undefined;
		const m = await ours(fleet, costs, 'leastLoaded', {
			weights: P2_SPEEDS,
			label: `P3 run ${run + 1}`,
			batch: { unreachableMs: 2000 },
			during: () => (timer = setTimeout(() => fleet.servers[1].crash(), crashAfter)),
		});
		clearTimeout(timer);
		r.runs.push({ ...m, note: `${m.failed} lost` });
		await fleet.stop();
	}
}

async function p4(): Promise<void> {
	const perWorker = 30;
	const costs = Array(perWorker * 3).fill(1);
	const lb = lowerBound(costs, P2_SPEEDS);
	const r = row('P4 3 worker processes sharing Redis, 90 scenes (cost 1), speeds 3,2,2,1,1,1', 'ours leastLoaded (weights = speeds)', lb, ratioGoal(1.1));
	const peaks: string[] = [];
	for (let run = 0; run < RUNS; run++) {
		const fleet = await fleetOf(P2_SPEEDS);
		const keyPrefix = prefix();
		const servers = serverLines(fleet, { weights: P2_SPEEDS });
		const workers = [0, 1, 2].map((w) => {
			const args = { servers, redis: REDIS, keyPrefix, costs: Array(perWorker).fill(1), base: (seedBase += 10_000) + w * 1000, strategy: 'leastLoaded' };
			const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'worker.ts'), JSON.stringify(args)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
			let out = '';
			let err = '';
			child.stderr.on('data', (c: Buffer) => (err += c.toString()));
			const ready = new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => ((out += c.toString()), out.includes('ready') && resolve())));
			const done = new Promise<{ done: number; failed: number }>((resolve, reject) =>
				child.on('exit', (code) => {
					const last = out.trim().split('\n').pop() ?? '';
					if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last));
					else reject(new Error(`worker failed (${code}): ${err.slice(-1000)}`));
				}),
			);
			return { child, ready, done };
		});
		await Promise.all(workers.map((w) => w.ready));
		const started = Date.now();
		for (const w of workers) w.child.stdin.write('go\n');
		const results = await Promise.all(workers.map((w) => w.done));
		const seconds = (Math.max(...results.map((x) => x.done)) - started) / 1000;
		const over = fleet.servers.filter((s) => s.records.peakActive > 2).length;
		peaks.push(fleet.servers.map((s) => s.records.peakActive).join('/'));
		r.runs.push({ seconds, failed: results.reduce((n, x) => n + x.failed, 0) + over, note: `peak ${peaks[peaks.length - 1]}` });
		await fleet.stop();
		await cleanKeys(keyPrefix);
	}
	r.extra = `peakActive per server (max=2): ${peaks.join('; ')}`;
}

async function p5(): Promise<void> {
	const costs = Array(QUICK ? 300 : 1000).fill(0);
	const name = `P5 ${costs.length} zero-cost scenes, 4 servers (max 2)`;
	const bare = row(name, 'bare loop, concurrency 8 (scenes/s)', undefined);
	const oursRow = row(name, 'ours leastLoaded (scenes/s)', undefined);
	const ratio = row(name, 'ours ÷ bare throughput', undefined, (worst) => ({ text: '≥ 0.80', met: worst >= 0.8 }));
	const trips = row(name, 'Redis round trips per scene', undefined, (_, r) => {
		const worst = Math.max(...r.runs.map((m) => m.seconds));
		return { text: '≤ 2', met: worst <= 2 };
	});
	// Each measurement gets a fresh fleet (a simulator, like ComfyUI, lists its output folder on every
	// save, so a fleet that already saved 1000 images is slower).
	const onFreshFleet = async <T>(fn: (fleet: Fleet) => Promise<T>): Promise<T> => {
		const fleet = await fleetOf([1, 1, 1, 1], 0);
		try {
			return await fn(fleet);
		} finally {
			await fleet.stop();
		}
	};
	// Machine speed drifts by tens of percent within seconds here: each run measures both variants
	// twice on half the scenes, in the order bare, ours, ours, bare (then ours, bare, bare, ours), so
	// drift hits both alike.
	const half = costs.slice(0, costs.length / 2);
	for (let run = 0; run < RUNS; run++) {
		let bareSeconds = 0;
		let oursSeconds = 0;
		let failed = 0;
		let roundTrips = 0;
		const order = run % 2 === 0 ? ['bare', 'ours', 'ours', 'bare'] : ['ours', 'bare', 'bare', 'ours'];
		for (const variant of order) {
			if (variant === 'bare') {
				const b = await onFreshFleet((fleet) => bareLoop(fleet, half, 8));
				bareSeconds += b.seconds;
				failed += b.failed;
			} else {
				const o = await onFreshFleet((fleet) => ours(fleet, half, 'leastLoaded', { label: `P5 run ${run + 1}` }));
				oursSeconds += o.seconds;
				failed += o.failed;
				roundTrips += o.roundTrips;
			}
		}
		bare.runs.push({ seconds: costs.length / bareSeconds, failed: 0 });
		oursRow.runs.push({ seconds: costs.length / oursSeconds, failed });
		ratio.runs.push({ seconds: bareSeconds / oursSeconds, failed });
		trips.runs.push({ seconds: roundTrips / costs.length, failed: 0 });
	}
	profiles.splice(profiles.length - 2 * RUNS, 2 * RUNS);
}

async function p8(): Promise<void> {
	const costs = Array.from({ length: 36 }, (_, i) => (i % 6 === 0 ? 8 : 1));
	const lb = lowerBound(costs, P2_SPEEDS);
	const r = row('P8 6 video (cost 8) + 30 image (cost 1), speeds 3,2,2,1,1,1', 'ours fastest, speeds learned, every run cold', lb, ratioGoal(1.1));
	for (let run = 0; run < RUNS; run++) {
		const fleet = await fleetOf(P2_SPEEDS);
		r.runs.push(await ours(fleet, costs, 'fastest', { label: `P8 run ${run + 1}` }));
		await fleet.stop();
	}
	// As in production, where the speed averages live on in Redis between executions: one untimed
	// run learns them (every workflow on every server it happened to use), then the timed runs.
	const warm = row('P8 6 video (cost 8) + 30 image (cost 1), speeds 3,2,2,1,1,1', 'ours fastest, speeds learned by one earlier run', lb, ratioGoal(1.1));
	const keyPrefix = prefix();
	const fleet = await fleetOf(P2_SPEEDS);
	try {
		await ours(fleet, costs, 'fastest', { label: 'P8 learning run', keyPrefix });
		await idle(fleet);
		for (let run = 0; run < RUNS; run++) {
			warm.runs.push(await ours(fleet, costs, 'fastest', { label: `P8 warm run ${run + 1}`, keyPrefix }));
			await idle(fleet);
		}
	} finally {
		await fleet.stop();
		await cleanKeys(keyPrefix);
	}
}

const NOTES = [
	'Notes:',
	`- Simulators run in the benchmark process (P4: workers in child processes, fleet in the parent); scene cost is KSampler steps only, so a speed-s server takes cost × ${COST_UNIT_MS} ms ÷ s plus the protocol overhead (submit, websocket, /history).`,
	'- Ours: Redis store (db 13, own key prefix, emptied before each run, so every run starts with no speed averages); the runtime is warm as in a running n8n (HTTP connections and /object_info cached); outputs are not downloaded (download: false) — neither do the baselines.',
	'- ComfyPool times start after its clients are connected; serial and round robin use our plain ComfyUiClient (submit + watch).',
	'- P3: the speed-2 server crashes (process gone) at 30 % of the full-fleet LB; the batch is told to give up on a silent server after 2 s (unreachableMs; default 10 s). LB is that of the five surviving servers.',
	'- P5: "bare loop" = 8 loops (loop j on server j mod 4) each doing submit, watch, read /history; "ours" = runBatch at its default concurrency (Σ max = 8). Each run measures both on 2 × 500 scenes in the order bare, ours, ours, bare (next run reversed), each on a fresh fleet (a simulator, like ComfyUI, lists its output folder on every save), so drift of the machine hits both alike. Round trips counted by the store.',
	'- Simulator folders live on /dev/shm where the machine has it (TMPDIR), so disk hiccups do not enter the figures.',
	'- Each workload runs in a process of its own; the benchmark, its simulators and Redis share the 2 cores of one machine.',
].join('\n');

// ── report ──────────────────────────────────────────────────────────────────────────────────

/** The table rows of the workloads run in this process, and the notes under the table. */
function renderRows(): { lines: string[]; extras: string[] } {
	const lines: string[] = [];
	for (const r of rows) {
		const values = r.runs.map((m) => m.seconds);
		const higherIsBetter = /speed-up|scenes\/s|÷ bare/.test(r.variant);
		const worst = higherIsBetter ? Math.min(...values) : Math.max(...values);
		const goal = r.goal?.(worst, r);
		const failed = r.runs.reduce((n, m) => n + m.failed, 0);
		const notes = r.runs.map((m) => m.note).filter(Boolean);
		lines.push(
			`| ${r.workload} | ${r.variant}${failed ? ` (${failed} failed)` : ''}${notes.length ? ` (${notes.join('; ')})` : ''} | ${r.lb?.toFixed(2) ?? ''} | ${median(values).toFixed(2)} | ${worst.toFixed(2)} | ${r.lb ? (worst / r.lb).toFixed(3) : ''} | ${goal?.text ?? ''} | ${goal ? (goal.met ? 'yes' : '**no**') : ''} |`,
		);
	}
	return { lines, extras: rows.flatMap((r) => (r.extra ? [`${r.workload}: ${r.extra}`] : [])) };
}

function render(parts: { lines: string[]; extras: string[] }): string {
	return [
		`Cluster benchmark (${RUNS} run${RUNS > 1 ? 's' : ''} per workload; one cost unit = ${COST_UNIT_MS} ms at speed 1; times in seconds unless named)`,
		'',
		'| Workload | Variant | LB | median | worst | worst ÷ LB | goal (worst run) | met |',
		'|---|---|---|---|---|---|---|---|',
		...parts.lines,
		...parts.extras.flatMap((extra) => ['', extra]),
	].join('\n');
}

const WORKLOADS: Array<[string, () => Promise<void>]> = [['P1', p1], ['P2', p2], ['P3', p3], ['P4', p4], ['P5', p5], ['P8', p8]];

/** Runs workloads in this process. */
async function runHere(names: readonly string[]): Promise<void> {
	for (const [name, fn] of WORKLOADS) {
		if (!names.includes(name)) continue;
		const t = Date.now();
		await fn();
		process.stderr.write(`${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
	}
}

/** Runs one workload in a process of its own, so that none is measured in what another left behind. */
function runApart(name: string): Promise<{ lines: string[]; extras: string[]; profiles: string[] }> {
	const flags = process.argv.slice(2).filter((a) => a === '--quick' || a === '--profile');
	const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, `--only=${name}`, '--child', ...flags], {
		cwd: ROOT,
		stdio: ['ignore', 'pipe', 'inherit'],
		env: { ...process.env, TS_NODE_PREFER_TS_EXTS: 'true' },
	});
	let out = '';
	child.stdout.on('data', (c: Buffer) => (out += c.toString()));
	return new Promise((resolve, reject) =>
		child.on('exit', (code) => {
			const last = out.trim().split('\n').pop() ?? '';
			if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last));
			else reject(new Error(`${name} failed (${code}): ${out.slice(-1000)}`));
		}),
	);
}

async function main(): Promise<void> {
	const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
	if (process.argv.includes('--child')) {
		await runHere(only ?? []);
		process.stdout.write(`${JSON.stringify({ ...renderRows(), profiles })}\n`);
		return;
	}
	let parts = { lines: [] as string[], extras: [] as string[] };
	if (only) {
		await runHere(only);
		parts = renderRows();
	} else {
		for (const [name] of WORKLOADS) {
			const part = await runApart(name);
			parts = { lines: [...parts.lines, ...part.lines], extras: [...parts.extras, ...part.extras] };
			profiles.push(...part.profiles);
		}
	}
	const table = render(parts);
	process.stdout.write(`${table}\n`);
	if (process.argv.includes('--profile')) process.stdout.write(`\nPer-server timelines (running → finished, s):\n${profiles.join('\n')}\n`);
	if (!only) {
		mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
		writeFileSync(join(ROOT, 'bench/results/cluster.md'), `# Cluster benchmark\n\n${table}\n\n${NOTES}\n`);
	}
}

main().then(
	() => process.exit(0),
	(error) => {
		process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
		process.exit(1);
	},
);
