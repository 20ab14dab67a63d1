/**
 * Chaos soak: many scenes over a simulator fleet and several worker processes sharing one Redis,
 * with faults injected at random (seeded) into a share of the operations. Exits non-zero with a
 * report when any scene ran twice, ended unclearly, was left on a server, or a server went above
 * its max.
 *
 *   npx ts-node --transpile-only --prefer-ts-exts test/soak/soak.ts [--seed N] [--scenes 300]
 *     [--servers 6] [--workers 2] [--rate 0.2]
 */
import { spawn, type ChildProcess } from 'child_process';
import Redis from 'ioredis';
import { join } from 'path';
import { TEST_REDIS } from '../setup/redis';
import { startFleet, type Fleet } from '../sim';
import { analyse, type ServerFacts, type SoakReport } from './analyse';
import { Chaos } from './chaos';
import { prng } from './prng';
import { POISON_MESSAGE, POISON_NODE, type SoakScene } from './scenes';
import type { SoakSceneReport, SoakWorkerArgs, SoakWorkerReport } from './soakWorker';

export interface SoakOptions {
	seed: number;
	scenes: number;
	servers: number;
	workers: number;
	/** Share of operations (submissions) that get a fault. */
	rate: number;
	/** KSampler steps per scene (10 ms each at speed 1). */
	steps: number;
	/** The workers must be done by then, or they are killed and the run fails. */
	deadlineMs: number;
	log?: (line: string) => void;
}

export const DEFAULT_SOAK: SoakOptions = { seed: 20240611, scenes: 300, servers: 6, workers: 2, rate: 0.2, steps: 8, deadlineMs: 150_000 };

const ROOT = join(__dirname, '../..');
const WORKER = join(__dirname, 'soakWorker.ts');
const REDIS = { mode: 'single' as const, ...TEST_REDIS };
const SPEEDS = [1, 1.5, 0.75, 2, 1, 0.5, 1.25, 1];
const MAXES = [2, 1, 2, 1, 2, 1, 2, 1];
const MS_PER_STEP = 10;
const INACTIVITY_MS = 1_200;
const UNREACHABLE_MS = 3_000;
const DRAIN_MS = 10_000;

export async function runSoak(input: Partial<SoakOptions> = {}): Promise<SoakReport> {
	const options = { ...DEFAULT_SOAK, ...input };
	const log = options.log ?? (() => undefined);
	const rng = prng(options.seed);
	const startedAt = Date.now();
	const speeds = Array.from({ length: options.servers }, (_, i) => SPEEDS[i % SPEEDS.length]);
	const maxes = Array.from({ length: options.servers }, (_, i) => MAXES[i % MAXES.length]);
	const keyPrefix = `soak:${options.seed}:${process.pid}:${Date.now().toString(36)}:`;
	let fleet: Fleet | undefined;
	let chaos: Chaos | undefined;
	const children: ChildProcess[] = [];
	try {
		fleet = await startFleet(
			speeds.map((speed, i) => ({ speed, msPerStep: MS_PER_STEP, models: { checkpoints: ['sd15.safetensors'] }, seed: options.seed + i })),
		);
		for (const sim of fleet.servers) sim.setExecutionError({ nodeId: POISON_NODE, message: POISON_MESSAGE, exceptionType: 'RuntimeError' });
		const serverList = fleet.urls.map((url, i) => `${url} max=${maxes[i]}`).join('\n');

		const poisonCount = Math.max(2, Math.round(options.scenes * 0.02));
		const poisoned = new Set<number>();
		while (poisoned.size < Math.min(poisonCount, options.scenes)) poisoned.add(rng.int(0, options.scenes - 1));
		const all: SoakScene[] = Array.from({ length: options.scenes }, (_, index) => ({ index, seed: 1_000_000 + index, poisoned: poisoned.has(index) }));
		const shares = Array.from({ length: options.workers }, (_, w) => all.filter((s) => s.index % options.workers === w));

		log(`soak seed ${options.seed}: ${options.scenes} scenes (${poisoned.size} poisoned), ${options.servers} servers, ${options.workers} workers, fault rate ${options.rate}`);
		chaos = new Chaos(fleet.servers, speeds, maxes, rng, { rate: options.rate, maxHangMs: 2_000, maxBurstMs: 1_200 });
		chaos.start();

		const deadline = AbortSignal.timeout(options.deadlineMs);
		const runs = shares.map((share) => {
			const args: SoakWorkerArgs = { servers: serverList, redis: REDIS, keyPrefix, scenes: share, steps: options.steps, inactivityMs: INACTIVITY_MS, unreachableMs: UNREACHABLE_MS };
			return startWorker(args, children, deadline);
		});
		const settled = await Promise.allSettled(runs);
		const workerErrors = settled.flatMap((s, w) => (s.status === 'rejected' ? [`worker ${w + 1}: ${String(s.reason instanceof Error ? s.reason.message : s.reason)}`] : []));
		const reports = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
		const scenes: SoakSceneReport[] = reports.flatMap((r) => r.results);

		// What the workers left behind, before the faults are lifted (a hung prompt may still hold a slot).
		const leftAtEnd = fleet.servers.map((sim) => {
			const running = sim.activePromptIds()[0];
			return sim.activePromptIds().map((promptId) => ({ promptId, running: promptId === running && sim.records.started.includes(promptId), interrupted: sim.records.interrupted.includes(promptId) }));
		});
		await chaos.stop();
		workerErrors.push(...chaos.errors);
		if (chaos.overflows.length) workerErrors.push(`servers above their max: ${chaos.overflows.join(' | ')}`);
		const drainBy = Date.now() + DRAIN_MS;
		while (fleet.servers.some((s) => s.activePromptIds().length > 0) && Date.now() < drainBy) await new Promise((r) => setTimeout(r, 50));
		const servers: ServerFacts[] = fleet.servers.map((sim, i) => ({ url: sim.url, speed: speeds[i], max: maxes[i], leftAtEnd: leftAtEnd[i], leftAfterDrain: sim.activePromptIds() }));

		return analyse({
			seed: options.seed,
			scenes,
			expectedScenes: options.scenes,
			sims: fleet.servers,
			servers,
			faults: chaos.faults,
			operations: chaos.operations,
			wallMs: Date.now() - startedAt,
			workerErrors,
			workerWarnings: reports.reduce((n, r) => n + r.warnings, 0),
		});
	} finally {
		for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		await chaos?.stop().catch(() => undefined);
		await fleet?.stop();
		await deleteKeys(keyPrefix).catch((error) => log(`could not delete the soak's Redis keys: ${String(error)}`));
	}
}

function startWorker(args: SoakWorkerArgs, children: ChildProcess[], deadline: AbortSignal): Promise<SoakWorkerReport> {
	const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
	children.push(child);
	let out = '';
	let err = '';
	child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
	const onDeadline = () => child.kill('SIGKILL');
	deadline.addEventListener('abort', onDeadline, { once: true });
	return new Promise((resolve, reject) => {
		child.on('exit', (code, signal) => {
			deadline.removeEventListener('abort', onDeadline);
			const last = out.trim().split('\n').pop() ?? '';
			if (process.env.SOAK_DEBUG) process.stderr.write(err);
			if (code === 0 && last.startsWith('{"results"')) resolve(JSON.parse(last) as SoakWorkerReport);
			else if (deadline.aborted) reject(new Error(`did not finish before the deadline and was killed; stderr: ${err.slice(-1000)}`));
			else reject(new Error(`ended with ${code ?? signal}: ${err.slice(-2000)}`));
		});
	});
}

async function deleteKeys(prefix: string): Promise<void> {
	const redis = new Redis({ host: REDIS.host, port: REDIS.port, db: REDIS.db, lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await redis.connect();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
			cursor = next;
			if (keys.length) await redis.del(...keys);
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
}

function parseArgs(argv: string[]): Partial<SoakOptions> {
	const out: Partial<SoakOptions> = {};
	const numeric = { '--seed': 'seed', '--scenes': 'scenes', '--servers': 'servers', '--workers': 'workers', '--rate': 'rate', '--steps': 'steps' } as const;
	for (let i = 0; i < argv.length; i++) {
		const key = argv[i] as keyof typeof numeric;
		if (!(key in numeric)) throw new Error(`unknown option ${argv[i]}; options: ${Object.keys(numeric).join(' ')}`);
		const value = Number(argv[++i]);
		if (!Number.isFinite(value)) throw new Error(`${key} needs a number`);
		out[numeric[key]] = value;
	}
	return out;
}

async function main(): Promise<void> {
	const report = await runSoak({ ...parseArgs(process.argv.slice(2)), log: (line) => console.log(line) });
	console.log('');
	console.log(report.summary);
	console.log('');
	if (report.violations.length === 0) {
		console.log('soak passed: every scene ended as a success or a clear error, none ran twice, none was left on a server, no server went above its max');
		return;
	}
	console.log(`soak FAILED with ${report.violations.length} violation(s):`);
	for (const v of report.violations.slice(0, 100)) console.log(`  - ${v}`);
	if (report.violations.length > 100) console.log(`  … and ${report.violations.length - 100} more`);
	process.exitCode = 1;
}

if (require.main === module) {
	main().catch((error) => {
		console.error(error instanceof Error ? error.stack : String(error));
		process.exitCode = 2;
	});
}
