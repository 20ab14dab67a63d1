/**
 * Worker processes of the shared-Redis tests: each one a batchWorker.ts child (one runBatch, its
 * own runtime) whose lines are read as they come — connected, each scene start, each warning and
 * note of the engine — and whose report is its last line. `killWorkers` ends those still running.
 */
import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';
import type { WorkerArgs, WorkerReport } from './batchWorker';

const ROOT = join(__dirname, '../../..');
const WORKER = join(__dirname, 'batchWorker.ts');

const children: ChildProcess[] = [];

/** A line of the worker and when this process read it. */
export interface WorkerLine {
	at: number;
	text: string;
}

export interface Worker {
	child: ChildProcess;
	report: Promise<WorkerReport>;
	/** Connected (and, with `waitForGo`, waiting for go()). */
	ready: () => boolean;
	go: () => void;
	started: () => number;
	warnings: () => string[];
	/** The engine's notes (info lines), with when each was read. */
	notes: () => WorkerLine[];
}

/** Starts a worker; `env` adds to this process's environment (e.g. NODE_EXTRA_CA_CERTS). */
export function startWorker(args: WorkerArgs, env: NodeJS.ProcessEnv = {}): Worker {
	const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, JSON.stringify(args)], {
		cwd: ROOT,
		stdio: ['pipe', 'pipe', 'pipe'],
		env: { ...process.env, ...env },
	});
	children.push(child);
	let out = '';
	let err = '';
	let started = 0;
	const read: WorkerLine[] = [];
	const lines = () => read.map((line) => line.text);
	child.stdout!.on('data', (chunk: Buffer) => {
		out += chunk.toString();
		const end = out.lastIndexOf('\n');
		if (end < 0) return;
		const at = Date.now();
		for (const text of out.slice(0, end).split('\n')) if (text) read.push({ at, text });
		out = out.slice(end + 1);
		started = lines().filter((line) => line.startsWith('{"started"')).length;
	});
	child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
	const report = new Promise<WorkerReport>((resolve, reject) => {
		// 'close', not 'exit': every line it printed has been read by then.
		child.on('close', (code, signal) => {
			const last = lines().find((line) => line.startsWith('{"results"'));
			if (code === 0 && last) resolve(JSON.parse(last) as WorkerReport);
			else reject(new Error(`worker ended with ${code ?? signal}: ${err.slice(-2000)}`));
		});
	});
	const warnings = () => lines().flatMap((line) => (line.startsWith('{"warn"') ? [(JSON.parse(line) as { warn: string }).warn] : []));
	const notes = () => read.flatMap((line) => (line.text.startsWith('{"info"') ? [{ at: line.at, text: (JSON.parse(line.text) as { info: string }).info }] : []));
	const ready = () => lines().some((line) => line.startsWith('{"ready"'));
	return { child, report, ready, go: () => child.stdin!.end('go\n'), started: () => started, warnings, notes };
}

/** SIGKILLs every worker still running (after each test, whatever its outcome). */
export function killWorkers(): void {
	for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
