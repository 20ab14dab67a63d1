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
import { createServer as createNetServer } from 'net';
import { join } from 'path';
import { ComfyUiClient, type ApiGraph } from '../../src/comfyui/client';
import { runBatch, type BatchOptions } from '../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import type { SceneOutcome } from '../../src/cluster/scene';
import { buildScene } from '../../src/cluster/sceneBuilder';
import { startFleet, startProcessFleet, type Fleet, type ProcessFleet, type SimulatorOptions } from '../../test/sim';
import { cleanKeys, COST_UNIT_MS, lowerBound, MODELS, MS_PER_STEP, scene, video, warmUpCode, ZERO_CLASS_COSTS } from './common';

// Simulator folders in memory where the machine has /dev/shm: every simulated image is written to
// disk, and the disk's hiccups are not what this measures.
if (existsSync('/dev/shm') && !process.env.TMPDIR) process.env.TMPDIR = '/dev/shm';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 3;
const ROOT = join(__dirname, '../..');
const REDIS = { mode: 'single' as const, host: '127.0.0.1', port: 6379, db: 13 };
const P2_SPEEDS = [3, 2, 2, 1, 1, 1];
const P2D_SPEEDS = [3, 2, 1];
const POOL_DEADLINE_MS = 60_000;
let seedBase = 1;

interface Measured {
	seconds: number;
	failed: number;
	note?: string;
	/** Servers that ran out of memory (P10). */
	crashes?: number;
}

interface Row {
	workload: string;
	variant: string;
	lb?: number;
	runs: Measured[];
	/** Goal: returns a description and whether it is met. */
	goal?: (worst: number, row: Row) => { text: string; met: boolean };
	extra?: string;
}

const rows: Row[] = [];
const profiles: string[] = [];

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** What the benchmark needs of a fleet, in-process or one process per server. */
interface BenchFleet {
	urls: string[];
	/** Prompts still queued or running anywhere. */
	active(): Promise<number>;
	stop(): Promise<void>;
}

function inProcess(fleet: Fleet): BenchFleet & { fleet: Fleet } {
	return { fleet, urls: fleet.urls, active: async () => fleet.servers.reduce((n, s) => n + s.activePromptIds().length, 0), stop: () => fleet.stop() };
}

function apart(fleet: ProcessFleet): BenchFleet & { fleet: ProcessFleet } {
	return {
		fleet,
		urls: fleet.urls,
		active: async () => (await Promise.all(fleet.servers.map((s) => (s.pid && !s.frozen ? s.activePromptIds().then((ids) => ids.length, () => 0) : 0)))).reduce((a, b) => a + b, 0),
		stop: () => fleet.stop(),
	};
}

/** What the servers of a workload are like besides their speed (P9: checkpoints that load from disk). */
let serverTraits: Partial<SimulatorOptions> = {};

function simOptions(speeds: number[], msPerStep = MS_PER_STEP): SimulatorOptions[] {
	return speeds.map((speed) => ({ speed, msPerStep, classCostMs: ZERO_CLASS_COSTS, models: MODELS, ...serverTraits }));
}

/**
 * One process per server, as ComfyUI servers are: a server's work does not wait for the benchmark's
 * (or our scheduler's) event loop, and it can fail as a machine does (SIGKILL, SIGSTOP).
 */
async function fleetOf(speeds: number[]): Promise<BenchFleet & { fleet: ProcessFleet }> {
	return apart(await startProcessFleet(simOptions(speeds)));
}

/** Servers in this process: P5 measures our overhead per scene against a bare loop on the same fleet. */
async function inProcessFleetOf(speeds: number[], msPerStep: number): Promise<BenchFleet & { fleet: Fleet }> {
	return inProcess(await startFleet(simOptions(speeds, msPerStep)));
}

function prefix(): string {
	return `bench-cluster-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** The credential's server list: as a new user writes it (URLs only), or tuned with weights. */
function serverLines(urls: readonly string[], weights?: number[]): string {
	return urls.map((url, i) => (weights ? `${url} weight=${weights[i]}` : url)).join('\n');
}

/** The scenes of a batch, as users send them: each its own prompt text, cfg and seed. */
/** Scene i of this process's workload (P9: its checkpoint; P10: a video). */
let sceneOf = (i: number, seed: number, cost: number): ApiGraph => scene(i, seed, cost);

function graphsOf(costs: readonly number[]): ApiGraph[] {
	const base = (seedBase += 10_000);
	return costs.map((cost, i) => sceneOf(i, base + i, cost));
}

interface OursOptions {
	weights?: number[];
	during?: (startedAt: number) => void;
	batch?: Partial<BatchOptions>;
	label?: string;
	keyPrefix?: string;
	/** Keeps the runtime open after the batch (its janitor keeps removing abandoned prompts); the caller closes it. */
	keepOpen?: boolean;
	onOutcomes?: (outcomes: SceneOutcome[], startedAt: number) => void;
}

/**
 * Our batch with the node's defaults (strategy Least Loaded, no options) on a cold store (a key
 * prefix of its own); records a per-server timeline for the profile.
 */
async function ours(fleet: BenchFleet, costs: number[], options: OursOptions = {}): Promise<Measured & { roundTrips: number; firstSubmitMs?: number; keyPrefix: string }> {
	const keyPrefix = options.keyPrefix ?? prefix();
	const runtime = await getRuntime({ servers: serverLines(fleet.urls, options.weights), redis: REDIS, keyPrefix });
	const scenes = graphsOf(costs).map((workflow, index) => buildScene({ index, workflow, download: false }));
	const timeline = new Map<string, Array<{ index: number; start: number; end?: number }>>();
	const open = new Map<number, { index: number; start: number; end?: number }>();
	// Warm runtime, as in a running n8n (runtimes are cached per credential): connections open and
	// /object_info cached before the clock starts. The websocket still opens on the first submit.
	await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo({ signal: AbortSignal.timeout(2_000) }).catch(() => undefined)));
	await runtime.store.snapshot(runtime.servers);
	await warmUpCode(fleet.urls, REDIS);
	const trips = runtime.store.roundTrips;
	const started = Date.now();
	let firstSubmitMs: number | undefined;
	options.during?.(started);
	const outcomes = await runBatch(runtime, scenes, {
		strategy: 'leastLoaded',
		...options.batch,
		onEvent: (event) => {
			if (event.type === 'start' && firstSubmitMs === undefined) firstSubmitMs = Date.now() - started;
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
	options.onOutcomes?.(outcomes, started);
	const lines = [...timeline.entries()].map(
		([server, list]) => `  ${server}: ${list.map((e) => `#${e.index}[${(e.start / 1000).toFixed(2)}–${e.end !== undefined ? (e.end / 1000).toFixed(2) : '?'}]`).join(' ')}`,
	);
	profiles.push(`${options.label ?? 'ours'}: ${seconds.toFixed(2)} s\n${lines.join('\n')}`);
	if (!options.keepOpen) await closeAllRuntimes();
	// A shared prefix carries the learned speeds to the next run; its owner deletes it.
	if (!options.keyPrefix && !options.keepOpen) await cleanKeys(REDIS, keyPrefix);
	return { seconds, failed, roundTrips, firstSubmitMs, keyPrefix };
}

function clientsOf(urls: readonly string[]): ComfyUiClient[] {
	return urls.map((url) => new ComfyUiClient({ url }));
}

async function runOne(client: ComfyUiClient, workflow: ApiGraph, readHistory = false): Promise<boolean> {
	try {
		const { promptId } = await client.submit(workflow);
		await client.watch(promptId, { totalMs: 600_000 });
		if (readHistory) await client.history(promptId);
		return true;
	} catch {
		return false;
	}
}

/** One scene after another on one server, with the plain client. */
async function serial(fleet: BenchFleet, serverIndex: number, costs: number[]): Promise<Measured> {
	const [client] = clientsOf([fleet.urls[serverIndex]]);
	const graphs = graphsOf(costs);
	const started = Date.now();
	let failed = 0;
	for (const workflow of graphs) if (!(await runOne(client, workflow))) failed++;
	const seconds = (Date.now() - started) / 1000;
	await client.close();
	return { seconds, failed };
}

/** Scene i → server i mod n, all queued at once, with the plain client. */
async function roundRobin(fleet: BenchFleet, costs: number[]): Promise<Measured> {
	const clients = clientsOf(fleet.urls);
	const graphs = graphsOf(costs);
	const started = Date.now();
	const results = await Promise.all(graphs.map((workflow, i) => runOne(clients[i % clients.length], workflow)));
	const seconds = (Date.now() - started) / 1000;
	await Promise.all(clients.map((c) => c.close()));
	return { seconds, failed: results.filter((ok) => !ok).length };
}

/**
 * The simplest peer: one loop per server, one prompt in flight each, the next scene taken when the
 * server is idle. A scene that fails goes back to the queue and its server's loop stops (a loop
 * that cannot reach its server has nothing more to do).
 */
async function greedyPull(fleet: BenchFleet, costs: number[]): Promise<Measured> {
	const clients = clientsOf(fleet.urls);
	const queue = graphsOf(costs);
	let inFlight = 0;
	// A loop that finds the queue empty while scenes are out waits: one may fail and come back.
	let wake = () => {};
	let changed = new Promise<void>((resolve) => (wake = resolve));
	const notify = () => {
		const woken = wake;
		changed = new Promise<void>((resolve) => (wake = resolve));
		woken();
	};
	const started = Date.now();
	await Promise.all(
		clients.map(async (client) => {
			for (;;) {
				const workflow = queue.shift();
				if (!workflow) {
					if (inFlight === 0) return;
					await changed;
					continue;
				}
				inFlight++;
				const ok = await runOne(client, workflow);
				inFlight--;
				if (!ok) queue.push(workflow);
				notify();
				if (!ok) return;
			}
		}),
	);
	const seconds = (Date.now() - started) / 1000;
	await Promise.all(clients.map((c) => c.close()));
	return { seconds, failed: queue.length, note: queue.length ? `${queue.length} lost` : undefined };
}

/** N loops (loop j on server j mod n): submit, wait, read history — the bare client at a given concurrency. */
async function bareLoop(fleet: BenchFleet, costs: number[], concurrency: number): Promise<Measured> {
	const clients = clientsOf(fleet.urls);
	const graphs = graphsOf(costs);
	let next = 0;
	let failed = 0;
	const started = Date.now();
	await Promise.all(
		Array.from({ length: concurrency }, async (_, j) => {
			while (next < graphs.length) {
				const i = next++;
				if (!(await runOne(clients[j % clients.length], graphs[i], true))) failed++;
			}
		}),
	);
	const seconds = (Date.now() - started) / 1000;
	await Promise.all(clients.map((c) => c.close()));
	return { seconds, failed };
}

/** @saintno/comfyui-sdk ComfyPool (ESM only) in a child process. */
async function comfyPool(fleet: BenchFleet, costs: number[], mode: 'PICK_LOWEST' | 'PICK_ZERO'): Promise<Measured> {
	const graphs = graphsOf(costs);
	const out = await new Promise<string>((resolve, reject) => {
		const child = spawn(process.execPath, [join(__dirname, 'comfyPool.mjs'), JSON.stringify({ urls: fleet.urls, mode, graphs, deadlineMs: POOL_DEADLINE_MS })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
		let text = '';
		let err = '';
		child.stdout.on('data', (c: Buffer) => (text += c.toString()));
		child.stderr.on('data', (c: Buffer) => (err += c.toString()));
		child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`ComfyPool child failed (${code}): ${err.slice(-1000)}`))));
	});
	const result = JSON.parse(out.trim().split('\n').pop()!) as { elapsedMs: number | null; ok: number; failed: number; backgroundErrors: number; timedOut?: boolean };
	const lost = costs.length - result.ok;
	const notes = [result.timedOut ? `not done after ${POOL_DEADLINE_MS / 1000} s` : '', lost ? `${lost} lost` : '', result.backgroundErrors ? `${result.backgroundErrors} SDK errors` : ''].filter(Boolean);
	return { seconds: (result.elapsedMs ?? POOL_DEADLINE_MS) / 1000, failed: lost, note: notes.join(', ') || undefined };
}

async function idle(fleet: BenchFleet): Promise<void> {
	const deadline = Date.now() + 60_000;
	while ((await fleet.active()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function row(workload: string, variant: string, lb: number | undefined, goal?: Row['goal']): Row {
	const r: Row = { workload, variant, lb, runs: [], goal };
	rows.push(r);
	return r;
}

const lost = (r: Row) => r.runs.every((m) => m.failed === 0);
/** Worst run within `limit` × LB, nothing lost. */
const ratioGoal = (limit: number) => (worst: number, r: Row) => ({ text: `≤ ${limit.toFixed(2)} × LB`, met: worst / r.lb! <= limit && lost(r) });
/** Median run within `medianLimit` × LB and worst within `worstLimit` × LB, nothing lost. */
const medianWorstGoal = (medianLimit: number, worstLimit: number) => (worst: number, r: Row) => ({
	text: `median ≤ ${medianLimit.toFixed(2)}, worst ≤ ${worstLimit.toFixed(2)} × LB`,
	met: median(r.runs.map((m) => m.seconds)) / r.lb! <= medianLimit && worst / r.lb! <= worstLimit && lost(r),
});

type Variant = [name: string, measure: (fleet: BenchFleet) => Promise<Measured>, goal?: Row['goal']];

/** The simplest peers, measured in the same runs as ours. */
function baselines(costs: number[], speeds: readonly number[]): Variant[] {
	const fastest = speeds.indexOf(Math.max(...speeds));
	return [
		['serial on the fastest server', (f) => serial(f, fastest, costs)],
		['round robin (i mod n, all queued)', (f) => roundRobin(f, costs)],
		['ComfyPool PICK_ZERO', (f) => comfyPool(f, costs, 'PICK_ZERO')],
		[GREEDY, (f) => greedyPull(f, costs)],
	];
}

const GREEDY = 'greedy pull (one prompt per server, next scene when idle)';
const DEFAULTS = 'ours, defaults (URLs only, cold store)';

/**
 * Runs every variant RUNS times, each on a fleet of its own (`fresh`) or on one fleet per run, and
 * adds a row comparing our median with the greedy pull's.
 */
async function compare(name: string, lb: number, variants: Variant[], newFleet: () => Promise<BenchFleet>, options: { fresh?: boolean } = {}): Promise<void> {
	const table = variants.map(([variant, , goal]) => row(name, variant, lb, goal));
	for (let run = 0; run < RUNS; run++) {
		let fleet = options.fresh ? undefined : await newFleet();
		for (const [i, [variant, measure]] of variants.entries()) {
			fleet ??= await newFleet();
			await idle(fleet);
			const t = Date.now();
			table[i].runs.push(await measure(fleet));
			process.stderr.write(`  ${name} · ${variant}: ${((Date.now() - t) / 1000).toFixed(2)} s\n`);
			if (options.fresh) {
				await fleet.stop();
				fleet = undefined;
			}
		}
		await fleet?.stop();
	}
	const oursRow = table[variants.findIndex(([v]) => v === DEFAULTS)];
	const greedyRow = table[variants.findIndex(([v]) => v === GREEDY)];
	if (oursRow && greedyRow) {
		// A greedy pull that lost scenes ended early: its time is no yardstick.
		const greedyLost = greedyRow.runs.some((m) => m.failed > 0);
		const text = greedyLost ? '≤ 1.00 unless the greedy pull lost scenes (it did)' : '≤ 1.00';
		const ratio = row(name, 'ours ÷ greedy pull (medians)', undefined, (value) => ({ text, met: greedyLost || value <= 1 }));
		ratio.runs.push({ seconds: median(oursRow.runs.map((m) => m.seconds)) / median(greedyRow.runs.map((m) => m.seconds)), failed: 0 });
	}
}

// ── workloads ───────────────────────────────────────────────────────────────────────────────

async function p1(): Promise<void> {
	const costs = Array(6).fill(5);
	const speeds = Array(6).fill(1);
	const lb = lowerBound(costs, speeds);
	const name = 'P1 6 scenes (cost 5), 6 equal servers';
	const serialRow = row(name, 'serial on one server', lb);
	const greedyRow = row(name, GREEDY, lb);
	const oursRow = row(name, DEFAULTS, lb);
	const speedup = row(name, 'speed-up serial ÷ ours', undefined, (worst) => ({ text: '≥ 5.8×', met: worst >= 5.8 }));
	for (let run = 0; run < RUNS; run++) {
		const fleet = await fleetOf(speeds);
		const s = await serial(fleet, 0, costs);
		await idle(fleet);
		greedyRow.runs.push(await greedyPull(fleet, costs));
		await idle(fleet);
		const o = await ours(fleet, costs, { label: `P1 run ${run + 1}` });
		serialRow.runs.push(s);
		oursRow.runs.push(o);
		speedup.runs.push({ seconds: s.seconds / o.seconds, failed: o.failed });
		await fleet.stop();
	}
	const ratio = row(name, 'ours ÷ greedy pull (medians)', undefined, (value) => ({ text: '≤ 1.00', met: value <= 1 }));
	ratio.runs.push({ seconds: median(oursRow.runs.map((m) => m.seconds)) / median(greedyRow.runs.map((m) => m.seconds)), failed: 0 });
}

/** P2 and P2d: scenes of cost 1 over servers of different speeds, nothing else going on. */
async function speedsWorkload(name: string, count: number, speeds: number[]): Promise<void> {
	const costs = Array(count).fill(1);
	const lb = lowerBound(costs, speeds);
	await compare(
		name,
		lb,
		[
			...baselines(costs, speeds),
			[DEFAULTS, (f) => ours(f, costs, { label: `${name.slice(0, 3)} defaults` }), medianWorstGoal(1.03, 1.06)],
			['ours, tuned (weight = speed written in the credential)', (f) => ours(f, costs, { weights: speeds, label: `${name.slice(0, 3)} tuned` })],
		],
		() => fleetOf(speeds),
	);
}

async function p2(): Promise<void> {
	await speedsWorkload(`P2 60 scenes (cost 1), speeds ${P2_SPEEDS.join(',')}`, 60, P2_SPEEDS);
}

async function p2d(): Promise<void> {
	await speedsWorkload(`P2d 24 scenes (cost 1), speeds ${P2D_SPEEDS.join(',')}`, 24, P2D_SPEEDS);
}

/** P3: the speed-2 server's process is SIGKILLed at 30 % of the full fleet's LB. */
async function p3(): Promise<void> {
	const costs = Array(60).fill(1);
	const surviving = P2_SPEEDS.filter((_, i) => i !== 1);
	const lb = lowerBound(costs, surviving);
	const crashAfter = 0.3 * lowerBound(costs, P2_SPEEDS) * 1000;
	const withCrash = (measure: (fleet: BenchFleet) => Promise<Measured>) => async (fleet: BenchFleet) => {
		const { fleet: processes } = fleet as BenchFleet & { fleet: ProcessFleet };
		const timer = setTimeout(() => void processes.servers[1].kill(), crashAfter);
		try {
			return await measure(fleet);
		} finally {
			clearTimeout(timer);
		}
	};
	await compare(
		'P3 P2 with the speed-2 server killed (SIGKILL) at 30 %',
		lb,
		[
			...baselines(costs, P2_SPEEDS).map(([n, m]): Variant => [n, withCrash(m)]),
			[DEFAULTS, withCrash((f) => ours(f, costs, { label: 'P3 defaults' })), ratioGoal(1.15)],
		],
		() => fleetOf(P2_SPEEDS),
		{ fresh: true },
	);
}

/**
 * P3f: the speed-2 server's process is stopped (SIGSTOP: its kernel still accepts connections,
 * nothing answers) at 30 % of the full fleet's LB and resumed (SIGCONT) 20 s later. After each
 * variant the fleet is watched until 3 s after the resume: a prompt the batch abandoned there must
 * not produce outputs once the server runs again.
 */
async function p3f(): Promise<void> {
	const costs = Array(60).fill(1);
	const surviving = P2_SPEEDS.filter((_, i) => i !== 1);
	const lb = lowerBound(costs, surviving);
	const freezeAfter = 0.3 * lowerBound(costs, P2_SPEEDS) * 1000;
	const frozenMs = 20_000;
	const withFreeze = (measure: (fleet: BenchFleet, keep: (results: string[]) => void) => Promise<Measured & { keyPrefix?: string }>) => async (fleet: BenchFleet) => {
		const { fleet: processes } = fleet as BenchFleet & { fleet: ProcessFleet };
		const frozen = processes.servers[1];
		let thawedAt = 0;
		const freezing = new Promise<void>((resolve) =>
			setTimeout(async () => {
				await frozen.freeze();
				await new Promise((r) => setTimeout(r, frozenMs));
				await frozen.thaw();
				thawedAt = Date.now();
				resolve();
			}, freezeAfter),
		);
		let kept: string[] | undefined;
		const measured: Measured & { keyPrefix?: string } = await measure(fleet, (results) => (kept = results));
		await freezing;
		await new Promise((r) => setTimeout(r, 3_000));
		await frozen.getRecords();
		await closeAllRuntimes();
		if (measured.keyPrefix) await cleanKeys(REDIS, measured.keyPrefix);
		// A batch that abandons prompts (ours): none may produce outputs on the resumed server
		// without being a scene's result. The baselines abandon nothing: they wait for the server.
		if (!kept) return measured;
		const results = kept;
		const late = frozen.records.finished.filter((f) => f.at >= thawedAt && (f.status === 'success' || f.outputs > 0) && !results.includes(f.promptId));
		if (process.env.DEBUG_P3F) {
			for (const f of late) {
				const p = frozen.records.prompts.find((x) => x.promptId === f.promptId);
				const dbg = frozen.timeline.filter((t) => JSON.stringify(t.value).includes(f.promptId)).map((t) => `${t.field}@${t.at - thawedAt}`);
				process.stderr.write(`LATE ${f.promptId} status=${f.status} outputs=${f.outputs} at=+${f.at - thawedAt} received=${p ? p.receivedAt - thawedAt : '?'} ${dbg.join(' ')}\n`);
			}
		}
		const notes = [measured.note, `${late.length} abandoned prompt(s) ran after the resume`].filter(Boolean);
		return { ...measured, failed: measured.failed + late.length, note: notes.join(', ') };
	};
	await compare(
		'P3f P2 with the speed-2 server frozen (SIGSTOP) for 20 s at 30 %',
		lb,
		[
			...baselines(costs, P2_SPEEDS).map(([n, m]): Variant => [n, withFreeze((f) => m(f))]),
			[
				DEFAULTS,
				withFreeze((f, keep) =>
					ours(f, costs, {
						label: 'P3f defaults',
						keepOpen: true,
						onOutcomes: (outcomes) => keep(outcomes.flatMap((o) => (o.ok ? [o.result.promptId] : []))),
					}),
				),
				ratioGoal(1.25),
			],
		],
		() => fleetOf(P2_SPEEDS),
		{ fresh: true },
	);
}

/** P3d: one healthy server and 999 addresses where nothing listens, 8 scenes. */
async function p3d(): Promise<void> {
	const costs = Array(8).fill(0.25);
	const lb = lowerBound(costs, [1]);
	const dead = await refusingUrls(999);
	const name = 'P3d 1 healthy + 999 refusing servers, 8 scenes (cost 0.25)';
	const withDead = (fleet: BenchFleet): BenchFleet => ({ ...fleet, urls: [...dead, ...fleet.urls] });
	const firstSubmit = row(name, 'ours: first submit after (s)', undefined, (worst) => ({ text: '≤ 2 s', met: worst <= 2 }));
	await compare(
		name,
		lb,
		[
			[GREEDY, (f) => greedyPull(withDead(f), costs)],
			[
				DEFAULTS,
				async (f) => {
					const measured = await ours(withDead(f), costs, { label: 'P3d defaults' });
					firstSubmit.runs.push({ seconds: (measured.firstSubmitMs ?? Infinity) / 1000, failed: measured.failed });
					return measured;
				},
				(worst, r) => ({ text: 'all succeed', met: lost(r) }),
			],
		],
		() => fleetOf([1]),
	);
}

/**
 * Addresses on which nothing listens: ports below the ephemeral range (no outgoing connection can
 * take one and connect to itself) that could be bound, then released.
 */
async function refusingUrls(n: number): Promise<string[]> {
	const ports: number[] = [];
	for (let port = 20_000; ports.length < n && port < 32_000; port++) {
		const free = await new Promise<boolean>((resolve) => {
			const server = createNetServer();
			server.once('error', () => resolve(false));
			server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
		});
		if (free) ports.push(port);
	}
	return ports.map((port) => `http://127.0.0.1:${port}`);
}

async function p4(): Promise<void> {
	const perWorker = 30;
	const costs = Array(perWorker * 3).fill(1);
	const lb = lowerBound(costs, P2_SPEEDS);
	const name = `P4 3 worker processes sharing Redis, 90 scenes (cost 1), speeds ${P2_SPEEDS.join(',')}`;
	const greedyRow = row(name, `${GREEDY}, one process`, lb);
	const r = row(name, DEFAULTS, lb, ratioGoal(1.1));
	const peaks: string[] = [];
	for (let run = 0; run < RUNS; run++) {
		const bench = await fleetOf(P2_SPEEDS);
		greedyRow.runs.push(await greedyPull(bench, costs));
		await idle(bench);
		const { fleet } = bench;
		const keyPrefix = prefix();
		const servers = serverLines(fleet.urls);
		const workers = [0, 1, 2].map((w) => {
			const args = { servers, redis: REDIS, keyPrefix, costs: Array(perWorker).fill(1), base: (seedBase += 10_000) + w * 1000, first: w * perWorker, strategy: 'leastLoaded' };
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
		// Prompts each server held at most while our workers ran (its activity records).
		await Promise.all(fleet.servers.map((s) => s.getRecords()));
		const peak = fleet.servers.map((s) => Math.max(0, ...s.records.activity.filter((a) => a.at >= started).map((a) => a.active)));
		const over = peak.filter((n) => n > 2).length;
		peaks.push(peak.join('/'));
		r.runs.push({ seconds, failed: results.reduce((n, x) => n + x.failed, 0) + over, note: `peak ${peaks[peaks.length - 1]}` });
		await bench.stop();
		await cleanKeys(REDIS, keyPrefix);
	}
	r.extra = `peakActive per server (default max 2): ${peaks.join('; ')}`;
	const ratio = row(name, 'ours ÷ greedy pull (medians)', undefined, (value) => ({ text: '≤ 1.00', met: value <= 1 }));
	ratio.runs.push({ seconds: median(r.runs.map((m) => m.seconds)) / median(greedyRow.runs.map((m) => m.seconds)), failed: 0 });
}

async function p5(): Promise<void> {
	const costs = Array(QUICK ? 300 : 1000).fill(0);
	const name = `P5 ${costs.length} zero-cost scenes, 4 servers`;
	const bare = row(name, 'bare loop, concurrency 8 (scenes/s)', undefined);
	const oursRow = row(name, 'ours, defaults (scenes/s)', undefined);
	const ratio = row(name, 'ours ÷ bare throughput', undefined, (worst) => ({ text: '≥ 0.80', met: worst >= 0.8 }));
	const trips = row(name, 'Redis round trips per scene', undefined, (_, r) => {
		const worst = Math.max(...r.runs.map((m) => m.seconds));
		return { text: '≤ 2', met: worst <= 2 };
	});
	// Each measurement gets a fresh fleet (a simulator, like ComfyUI, lists its output folder on every
	// save, so a fleet that already saved 1000 images is slower).
	const onFreshFleet = async <T>(fn: (fleet: BenchFleet) => Promise<T>): Promise<T> => {
		const fleet = await inProcessFleetOf([1, 1, 1, 1], 0);
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
				const o = await onFreshFleet((fleet) => ours(fleet, half, { label: `P5 run ${run + 1}` }));
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
	const name = `P8 6 video (cost 8) + 30 image (cost 1), speeds ${P2_SPEEDS.join(',')}`;
	await compare(name, lb, [...baselines(costs, P2_SPEEDS), [DEFAULTS, (f) => ours(f, costs, { label: 'P8 defaults' }), ratioGoal(1.1)]], () => fleetOf(P2_SPEEDS));
	// As in production, where the speed averages live on in Redis between executions: one untimed
	// run learns them (every workflow on every server it happened to use), then the timed runs.
	const warm = row(name, 'ours, defaults, speeds learned by one earlier run', lb, ratioGoal(1.1));
	const keyPrefix = prefix();
	const fleet = await fleetOf(P2_SPEEDS);
	try {
		await ours(fleet, costs, { label: 'P8 learning run', keyPrefix });
		await idle(fleet);
		for (let run = 0; run < RUNS; run++) {
			warm.runs.push(await ours(fleet, costs, { label: `P8 warm run ${run + 1}`, keyPrefix }));
			await idle(fleet);
		}
	} finally {
		await fleet.stop();
		await cleanKeys(REDIS, keyPrefix);
	}
}

/**
 * P9: 60 image scenes over 3 checkpoints arriving interleaved (A, B, C, A, …), 6 servers, each
 * checkpoint load 5 cost units at any speed, ComfyUI's classic cache (one prompt with another
 * checkpoint evicts it). LB9 = one load per server + Σ work ÷ Σ speed = 5 + 6 = 11 units.
 */
async function p9(): Promise<void> {
	const checkpoints = ['a.safetensors', 'b.safetensors', 'c.safetensors'];
	const loadUnits = 5;
	serverTraits = { models: { checkpoints }, modelLoadMs: loadUnits * COST_UNIT_MS };
	sceneOf = (i, seed, cost) => scene(i, seed, cost, checkpoints[i % checkpoints.length]);
	const costs = Array(60).fill(1);
	const lb = lowerBound(costs, P2_SPEEDS) + (loadUnits * COST_UNIT_MS) / 1000;
	const name = `P9 60 scenes (cost 1) over 3 checkpoints interleaved, load ${loadUnits} units, speeds ${P2_SPEEDS.join(',')}`;
	await compare(
		name,
		lb,
		[
			...baselines(costs, P2_SPEEDS).filter(([variant]) => !variant.startsWith('serial')),
			['ours, model affinity off (option affinity: false)', (f) => ours(f, costs, { label: 'P9 no affinity', batch: { affinity: false } })],
			[DEFAULTS, (f) => ours(f, costs, { label: 'P9 defaults' }), ratioGoal(1.15)],
		],
		() => fleetOf(P2_SPEEDS),
		// Every contender starts on servers that hold no model.
		{ fresh: true },
	);
}

/** How long a crashed ComfyUI stays down before its supervisor (systemd, docker) has it back. */
const RESTART_MS = 3_000;

/**
 * Measures with a supervisor beside the fleet: a server that runs out of memory is respawned
 * RESTART_MS later (its queue and history lost, as ComfyUI's); the crashes are counted.
 */
function supervised(measure: (fleet: BenchFleet) => Promise<Measured>) {
	return async (fleet: BenchFleet): Promise<Measured> => {
		const { fleet: processes } = fleet as BenchFleet & { fleet: ProcessFleet };
		const seen = processes.servers.map((s) => s.records.outOfMemory?.length ?? 0);
		let crashes = 0;
		const restarts: Array<Promise<void>> = [];
		const timer = setInterval(() => {
			processes.servers.forEach((server, i) => {
				const count = server.records.outOfMemory?.length ?? 0;
				if (count <= seen[i]) return;
				crashes += count - seen[i];
				seen[i] = count;
				restarts.push(new Promise((r) => setTimeout(r, RESTART_MS)).then(() => server.respawn()));
			});
		}, 50);
		try {
			const measured = await measure(fleet);
			return { ...measured, crashes, note: [measured.note, crashes ? `${crashes} crashes` : ''].filter(Boolean).join(', ') || undefined };
		} finally {
			clearInterval(timer);
			await Promise.all(restarts);
		}
	};
}

/**
 * P10: 24 video scenes (cost 8) on 3 servers whose RAM holds two videos' outputs but not a third's
 * (ComfyUI's --cache-lru keeps them): a video holds 45 % of a server's RAM while it runs.
 */
async function p10(): Promise<void> {
	const speeds = [4, 4, 4];
	const frames = 64;
	const size = 256;
	// 256² × 64 frames × 12 bytes = 48 MiB a tensor: a video holds 144 MiB, two 240 MiB, a third 336 MiB.
	serverTraits = { cacheLru: 50, memory: { live: true, ramTotal: 320 * 1024 ** 2, ramFree: 320 * 1024 ** 2 } };
	sceneOf = (i, seed, cost) => video(i, seed, cost, frames, size);
	const costs = Array(24).fill(8);
	const lb = lowerBound(costs, speeds);
	const noCrash = (limit: number) => (worst: number, r: Row) => ({
		text: `all succeed, 0 crashes, ≤ ${limit.toFixed(2)} × LB`,
		met: worst / r.lb! <= limit && lost(r) && r.runs.every((m) => !m.crashes),
	});
	await compare(
		`P10 24 videos (cost 8, 45 % of a server's RAM each), 3 servers of speed 4 whose RAM fills after two videos`,
		lb,
		[
			['round robin (i mod n, all queued)', supervised((f) => roundRobin(f, costs))],
			[GREEDY, supervised((f) => greedyPull(f, costs))],
			['ours, memory awareness off (memoryAware: false, heavyPerServer: 0)', supervised((f) => ours(f, costs, { label: 'P10 off', batch: { memoryAware: false, heavyPerServer: 0 } }))],
			[DEFAULTS, supervised((f) => ours(f, costs, { label: 'P10 defaults' })), noCrash(1.2)],
		],
		() => fleetOf(speeds),
		{ fresh: true },
	);
}

const NOTES = [
	'Notes:',
	`- Every simulated server runs in a child process of its own (P5: in the benchmark process, as it measures our overhead per scene against a bare loop on the same fleet); scene cost is KSampler steps only, so a speed-s server takes cost × ${COST_UNIT_MS} ms ÷ s plus the protocol overhead (submit, websocket, /history, saving the image).`,
	'- Scenes are as users send them: each has its own prompt text and cfg besides its seed (bench/cluster/common.ts `scene`), the same list for every contender.',
	'- "ours, defaults": the credential as a new user writes it (plain URLs: no weight, no max), the node\'s default options, a cold store (Redis db 13, a key prefix of its own for every run, so nothing is known of any server). The runtime is warm as in a running n8n (HTTP connections and /object_info cached, the code compiled by one untimed batch per process); outputs are not downloaded (download: false) — neither do the baselines. "tuned": the same with weight = speed written in the credential.',
	'- greedy pull: one loop per server with our plain ComfyUiClient (submit, watch to the end, next scene); a scene that fails goes back to the queue and its loop stops. Serial and round robin use the same client. ComfyPool times start after its clients are connected.',
	'- "ours ÷ greedy pull (medians)": the goal is ≤ 1.00 in every workload.',
	'- P3: the speed-2 server\'s process is SIGKILLed at 30 % of the full-fleet LB; P3f: it is SIGSTOPped then for 20 s, and each contender is then watched until 3 s after the SIGCONT: a prompt ours abandoned there that finished or wrote a file after the resume counts as a failure. LB is that of the five surviving servers.',
	'- P3d: 999 addresses where nothing listens (ports bound, then released) before one healthy server, in one credential; "first submit" is the time from the batch start to the first scene started.',
	'- P4: three worker processes share Redis and the fleet, 30 scenes each, each warm as ours above (an untimed batch, catalogues cached) when the clock starts; the greedy pull row runs all 90 scenes from one process. Peak: prompts each server held at most while the workers ran.',
	'- P5: "bare loop" = 8 loops (loop j on server j mod 4) each doing submit, watch, read /history; "ours" = runBatch at its default concurrency (Σ max = 8). Each run measures both on 2 × 500 scenes in the order bare, ours, ours, bare (next run reversed), each on a fresh fleet (a simulator, like ComfyUI, lists its output folder on every save), so drift of the machine hits both alike. Round trips counted by the store.',
	'- P9: three checkpoints (a, b, c) arrive interleaved; every server loads a checkpoint in 5 cost units (5 s, whatever its speed) when its previous prompt used another one (ComfyUI\'s classic cache); each contender starts on fresh servers that hold nothing, and ours on a cold store (nothing known of loads or residency). LB9 = one load + Σ work ÷ Σ speed. Round robin (i mod 6) happens to give each server one checkpoint here (6 servers, 3 checkpoints in turn).',
	`- P10: each video is 64 frames of 256² in one latent batch (working set 144 MiB of a server's 320 MiB RAM; ComfyUI's --cache-lru keeps the outputs of earlier videos, so a third without a /free in between runs the server out of RAM); a supervisor brings a crashed server back ${RESTART_MS / 1000} s later, its queue lost. "failed" counts scenes that did not succeed; the contenders that lose scenes end early, so their times are no yardstick.`,
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

const WORKLOADS: Array<[string, () => Promise<void>]> = [
	['P1', p1],
	['P2', p2],
	['P2d', p2d],
	['P3', p3],
	['P3f', p3f],
	['P3d', p3d],
	['P4', p4],
	['P5', p5],
	['P8', p8],
	['P9', p9],
	['P10', p10],
];

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
