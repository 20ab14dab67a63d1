/**
 * Simulated ComfyUI servers that each run in a child process of their own, so that a server can
 * fail the way a machine does: frozen (SIGSTOP: the kernel still accepts TCP connections into the
 * listen backlog, nothing answers) or killed (SIGKILL: connections refused), then thawed or respawned.
 *
 *   const fleet = await startProcessFleet([{ speed: 3 }, { speed: 2 }, { speed: 1 }]);
 *   fleet.urls                              // as startFleet: http://127.0.0.1:<port> per server
 *   const sim = fleet.servers[1];           // url, port, name, pid
 *   await sim.setSpeed(0.5);                // the fault switches of ComfyUiSimulator, over IPC
 *   await sim.call('setHttpErrors', rule);  // any public method of ComfyUiSimulator, by name
 *   await sim.freeze();                     // SIGSTOP; resolves once the kernel reports it stopped
 *   await sim.thaw();                       // SIGCONT
 *   await sim.kill();                       // SIGKILL; resolves once the process is gone
 *   await sim.respawn();                    // a fresh server on the same port: empty queue and history
 *   sim.records                             // live copy of the records (below)
 *   await sim.getRecords();                 // the child's own records (also brings sim.records up to date)
 *   sim.faults                              // [{ kind: 'freeze' | 'thaw' | 'kill' | 'respawn', at }]
 *   await fleet.stop();                     // always: stops every child, frozen ones too
 *
 * Records. The child sends each record as the simulator makes it; the parent keeps them in `records`
 * (same shape as ComfyUiSimulator.records, across kill and respawn, as restart() keeps them) and in
 * `timeline` (each record with the child's time, e.g. when a prompt started). So records survive a
 * SIGKILL and can be read while the child is frozen. They arrive over IPC, not over the HTTP socket:
 * right after an HTTP answer the matching record may still be on its way; `await getRecords()` when
 * every record made so far is needed. `finished` entries tell when a run ended and how many output
 * files it wrote (`outputs`): what "an abandoned prompt produced outputs after the server resumed" is
 * checked against (compare `at` with the thaw in `faults`).
 *
 * A server whose RAM runs out (SimulatorOptions.memory.live) ends its process with SIGKILL, as the
 * kernel's OOM killer does: `records.outOfMemory` says when, and the server is killed (respawn() it).
 *
 * A frozen child cannot answer: calls (getRecords, setSpeed, …) reject at once while frozen and after
 * a kill. Children start in parallel from a plain-JavaScript build of test/sim (compiled.ts), each
 * with its own data folder (removed by stop()). No child outlives this process: stop() thaws and
 * ends them, and on exit, SIGINT or SIGTERM of this process every child still running is killed.
 */
import { fork, type ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compiledSimulator } from './compiled';
import type { ComfyUiSimulator, SimulatorOptions, SimulatorRecords } from './server';

/** Parent → child. */
export type ToChild = { kind: 'start'; options: SimulatorOptions } | { kind: 'call'; id: number; method: string; args: unknown[] } | { kind: 'stop' };

/** Child → parent. */
export type FromChild =
	| { kind: 'ready'; port: number; url: string; records: SimulatorRecords }
	| { kind: 'failed'; message: string }
	| { kind: 'result'; id: number; ok: true; value: unknown }
	| { kind: 'result'; id: number; ok: false; message: string }
	/** an array record grew by `items`, or a counter took `value` */
	| { kind: 'record'; field: string; at: number; items?: unknown[]; value?: number }
	/** the child ends itself (SIGKILL) right after this message: why */
	| { kind: 'dying'; reason: string };

export interface TimelineEntry {
	at: number;
	field: string;
	value: unknown;
}

export type OsFault = 'freeze' | 'thaw' | 'kill' | 'respawn';

/** Public methods of ComfyUiSimulator, callable by name. */
export type SimulatorMethod = {
	[K in keyof ComfyUiSimulator]: ComfyUiSimulator[K] extends (...args: never[]) => unknown ? K : never;
}[keyof ComfyUiSimulator];
type Method<K extends SimulatorMethod> = ComfyUiSimulator[K] extends (...args: infer A) => infer R ? { args: A; result: Awaited<R> } : never;

const CALL_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

type State = 'starting' | 'running' | 'frozen' | 'killed' | 'stopped';

export class SimulatorProcess {
	readonly name: string;
	/**
	 * Live copy of the child's records, kept from the records it sends (see the top of this file);
	 * filled with the child's first records when it is ready, whatever fields the simulator has.
	 */
	readonly records = {} as SimulatorRecords;
	/** Every record with the time the child made it. */
	readonly timeline: TimelineEntry[] = [];
	/** The OS faults played on this server, with their times. */
	readonly faults: Array<{ kind: OsFault; at: number }> = [];
	private child: ChildProcess | undefined;
	private state: State = 'starting';
	private boundPort = 0;
	private address = '';
	private nextId = 0;
	private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
	/** counters as this child life reported them, to carry totals across respawns */
	private lifeCounters = new Map<string, number>();
	private waiting = 0;
	private exited: Promise<void> = Promise.resolve();
	/** why the child said it ends itself (it ran out of memory), for the calls its end cuts short */
	private lastWords: string | undefined;

	private constructor(
		private readonly options: SimulatorOptions,
		private readonly build: { dir: string; nodeModules: string },
		private readonly dataDir: string,
		private readonly ownsDataDir: boolean,
	) {
		this.name = options.name ?? 'comfyui-sim';
	}

	/** Starts one server in a child process (prefer startProcessFleet, which starts many in parallel). */
	static async start(options: SimulatorOptions = {}): Promise<SimulatorProcess> {
		const build = await compiledSimulator();
		const ownsDataDir = !options.dataDir;
		const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'comfyui-sim-proc-'));
		const server = new SimulatorProcess(options, build, dataDir, ownsDataDir);
		register(server);
		try {
			await server.spawn(options.port ?? 0);
		} catch (error) {
			await server.stop();
			throw error;
		}
		return server;
	}

	get url(): string {
		return this.address;
	}

	get port(): number {
		return this.boundPort;
	}

	/** The child's process id (undefined once killed or stopped). */
	get pid(): number | undefined {
		return this.state === 'running' || this.state === 'frozen' ? this.child?.pid : undefined;
	}

	/** Folder with input/, output/ and temp/ (kept across respawns, removed by stop() unless given). */
	get directory(): string {
		return this.dataDir;
	}

	get frozen(): boolean {
		return this.state === 'frozen';
	}

	// ------------------------------------------------------------------ calls into the child

	/** Calls a public method of the simulator in the child and returns its (awaited) result. */
	call<K extends SimulatorMethod>(method: K, ...args: Method<K>['args']): Promise<Method<K>['result']> {
		return this.request(method, args) as Promise<Method<K>['result']>;
	}

	/** The child's own records; afterwards `records` holds at least as much. Rejects while frozen. */
	async getRecords(): Promise<SimulatorRecords> {
		return (await this.request('records', [])) as SimulatorRecords;
	}

	activePromptIds(): Promise<string[]> {
		return this.call('activePromptIds');
	}

	setSpeed(speed: number): Promise<void> {
		return this.call('setSpeed', speed);
	}

	setHang(on: boolean): Promise<void> {
		return this.call('setHang', on);
	}

	setHttpErrors(...args: Method<'setHttpErrors'>['args']): Promise<void> {
		return this.call('setHttpErrors', ...args);
	}

	setExecutionError(...args: Method<'setExecutionError'>['args']): Promise<void> {
		return this.call('setExecutionError', ...args);
	}

	setMemoryPressure(...args: Method<'setMemoryPressure'>['args']): Promise<void> {
		return this.call('setMemoryPressure', ...args);
	}

	setAmbiguousSubmit(count: number): Promise<void> {
		return this.call('setAmbiguousSubmit', count);
	}

	dropWebSockets(): Promise<void> {
		return this.call('dropWebSockets');
	}

	/** The simulator's own restart (sockets closed, state lost, same process); see kill() + respawn() for the OS kind. */
	restart(downMs = 0): Promise<void> {
		return this.call('restart', downMs);
	}

	private request(method: string, args: unknown[]): Promise<unknown> {
		const child = this.child;
		if (this.state === 'frozen') return Promise.reject(new Error(`${this.name} is frozen (SIGSTOP) and cannot answer ${method}: thaw() it first, or read .records, the copy kept here`));
		if (this.state !== 'running' || !child) return Promise.reject(new Error(`${this.name} is not running (${this.state}): it cannot answer ${method}`));
		const id = ++this.nextId;
		return this.waitFor(
			new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					this.pending.delete(id);
					reject(new Error(`${this.name} did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s`));
				}, CALL_TIMEOUT_MS);
				this.pending.set(id, { resolve, reject, timer });
				child.send({ kind: 'call', id, method, args } satisfies ToChild);
			}),
		);
	}

	// ------------------------------------------------------------------ OS faults

	/** SIGSTOP. Resolves once the kernel reports the process stopped (Linux), so nothing in it runs any more. */
	async freeze(): Promise<void> {
		const pid = this.expect('running', 'freeze');
		process.kill(pid, 'SIGSTOP');
		this.state = 'frozen';
		this.faults.push({ kind: 'freeze', at: Date.now() });
		await untilStopped(pid);
	}

	/** SIGCONT: the child goes on where it stopped (its timers fire late, as a resumed machine's). */
	async thaw(): Promise<void> {
		const pid = this.expect('frozen', 'thaw');
		process.kill(pid, 'SIGCONT');
		this.state = 'running';
		this.faults.push({ kind: 'thaw', at: Date.now() });
	}

	/** SIGKILL (frozen or not). Resolves once the process is gone: its port refuses connections. */
	async kill(): Promise<void> {
		if (this.state !== 'running' && this.state !== 'frozen') throw new Error(`${this.name} cannot be killed: it is ${this.state}`);
		this.child?.kill('SIGKILL');
		this.state = 'killed';
		this.faults.push({ kind: 'kill', at: Date.now() });
		await this.waitFor(this.exited);
	}

	/** After kill(): a new process on the same port and data folder, with empty queue and history. */
	async respawn(): Promise<void> {
		if (this.state !== 'killed') throw new Error(`${this.name} can only be respawned after kill(): it is ${this.state}`);
		rmSync(join(this.dataDir, 'temp'), { recursive: true, force: true });
		this.state = 'starting';
		try {
			await this.spawn(this.boundPort);
		} catch (error) {
			this.state = 'killed';
			throw error;
		}
		this.faults.push({ kind: 'respawn', at: Date.now() });
	}

	/** Stops the child whatever its state (a frozen one is thawed first) and removes its data folder. */
	async stop(): Promise<void> {
		if (this.state === 'stopped') return;
		const child = this.child;
		const wasAlive = this.state === 'running' || this.state === 'frozen' || this.state === 'starting';
		if (this.state === 'frozen' && child?.pid) process.kill(child.pid, 'SIGCONT');
		this.state = 'stopped';
		if (child && wasAlive && child.exitCode === null && child.signalCode === null) {
			const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
			if (child.connected) child.send({ kind: 'stop' } satisfies ToChild);
			else child.kill('SIGKILL');
			await this.waitFor(this.exited);
			clearTimeout(grace);
		}
		this.removeData();
		live.delete(this);
	}

	/** On exit of this process: nothing asynchronous is possible any more. */
	killNow(): void {
		const pid = this.child?.pid;
		if (pid !== undefined && this.child?.exitCode === null && this.child.signalCode === null) {
			for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
				try {
					process.kill(pid, signal);
				} catch {
					// already gone
				}
			}
		}
		this.state = 'stopped';
		this.removeData();
	}

	// ------------------------------------------------------------------ the child

	private spawn(port: number): Promise<void> {
		const child = fork(join(this.build.dir, 'child.js'), [], {
			execArgv: [],
			env: { ...process.env, NODE_PATH: this.build.nodeModules },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
			serialization: 'advanced',
		});
		this.child = child;
		this.lifeCounters = new Map();
		this.lastWords = undefined;
		this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
		child.once('exit', (code, signal) => this.onExit(child, code, signal));
		child.on('message', (message: FromChild) => this.onMessage(message));
		child.on('error', () => undefined); // a send to a child that just died; its exit handles the rest
		this.setRef(child, this.waiting > 0);
		const started = new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => {
				child.kill('SIGKILL');
				reject(new Error(`${this.name} did not start within ${START_TIMEOUT_MS / 1000} s`));
			}, START_TIMEOUT_MS);
			const settle = (error?: Error): void => {
				clearTimeout(timer);
				child.off('message', onStart);
				child.off('exit', onEarlyExit);
				if (error) reject(error);
				else resolve();
			};
			const onStart = (message: FromChild): void => {
				if (message.kind === 'ready') {
					this.boundPort = message.port;
					this.address = message.url;
					this.state = 'running';
					const fields = this.records as unknown as Record<string, unknown>;
					for (const [field, value] of Object.entries(message.records)) {
						// fields this copy does not hold yet start as the child has them (after a respawn, all are kept)
						if (!(field in fields)) fields[field] = Array.isArray(value) ? [...value] : value;
						if (typeof value === 'number') this.lifeCounters.set(field, value);
					}
					settle();
				} else if (message.kind === 'failed') settle(new Error(`${this.name} could not start: ${message.message}`));
			};
			const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => settle(new Error(`${this.name} exited while starting (${signal ?? `code ${code}`})`));
			child.on('message', onStart);
			child.once('exit', onEarlyExit);
			child.send({ kind: 'start', options: { ...this.options, port, dataDir: this.dataDir } } satisfies ToChild);
		});
		return this.waitFor(started);
	}

	private onMessage(message: FromChild): void {
		if (message.kind === 'result') {
			const call = this.pending.get(message.id);
			if (!call) return;
			this.pending.delete(message.id);
			clearTimeout(call.timer);
			if (message.ok) call.resolve(message.value);
			else call.reject(new Error(`${this.name}: ${message.message}`));
		} else if (message.kind === 'record') {
			this.record(message.field, message.at, message.items, message.value);
		} else if (message.kind === 'dying') {
			this.lastWords = message.reason;
		}
	}

	private record(field: string, at: number, items: unknown[] | undefined, value: number | undefined): void {
		const fields = this.records as unknown as Record<string, unknown>;
		if (items) {
			const list = (fields[field] as unknown[] | undefined) ?? (fields[field] = []);
			(list as unknown[]).push(...items);
			for (const item of items) this.timeline.push({ at, field, value: item });
		} else if (value !== undefined) {
			// Counters add up over the server's lives; peaks are the highest of any life.
			const before = this.lifeCounters.get(field) ?? 0;
			this.lifeCounters.set(field, value);
			const total = Number(fields[field] ?? 0);
			fields[field] = field.startsWith('peak') ? Math.max(total, value) : total + value - before;
			this.timeline.push({ at, field, value });
		}
	}

	private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
		if (this.child !== child) return;
		const why = this.state === 'killed' || this.state === 'stopped' ? `${this.state}` : `${this.lastWords ?? 'exited unexpectedly'} (${signal ?? `code ${code}`})`;
		for (const [id, call] of this.pending) {
			clearTimeout(call.timer);
			call.reject(new Error(`${this.name} ${why} before answering`));
			this.pending.delete(id);
		}
		if (this.state === 'running' || this.state === 'frozen') this.state = 'killed';
	}

	/**
	 * A child keeps this process alive only while something here waits on it (a call, a start, a kill,
	 * a stop): a test or script that forgets stop() still ends, and its exit hook kills the children.
	 */
	private async waitFor<T>(promise: Promise<T>): Promise<T> {
		if (this.waiting++ === 0 && this.child) this.setRef(this.child, true);
		try {
			return await promise;
		} finally {
			if (--this.waiting === 0 && this.child) this.setRef(this.child, false);
		}
	}

	private setRef(child: ChildProcess, on: boolean): void {
		const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
		if (on) {
			child.ref();
			channel?.ref?.();
		} else {
			child.unref();
			channel?.unref?.();
		}
	}

	private expect(state: 'running' | 'frozen', action: string): number {
		const pid = this.child?.pid;
		if (this.state !== state || pid === undefined) throw new Error(`${this.name} cannot ${action}: it is ${this.state}`);
		return pid;
	}

	private removeData(): void {
		if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
	}
}

/** Waits (bounded) until /proc says the process is stopped; elsewhere the signal is trusted. */
async function untilStopped(pid: number): Promise<void> {
	const deadline = Date.now() + 5_000;
	for (;;) {
		let state: string;
		try {
			// /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces, the state follows the last ')'.
			const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
			state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
		} catch {
			return;
		}
		if (state === 'T' || state === 't') return;
		if (Date.now() > deadline) throw new Error(`process ${pid} did not stop within 5 s of SIGSTOP (state ${state})`);
		await new Promise((r) => setTimeout(r, 2));
	}
}

// ------------------------------------------------------------------ no orphans

const live = new Set<SimulatorProcess>();

function killAll(): void {
	for (const server of live) server.killNow();
	live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
	killAll();
	process.removeListener(signal, onSignal);
	// Nobody else handles it: end as the signal would have ended us.
	if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function register(server: SimulatorProcess): void {
	live.add(server);
	if (!process.listeners('exit').includes(killAll)) process.on('exit', killAll);
	for (const signal of ['SIGINT', 'SIGTERM'] as const) if (!process.listeners(signal).includes(onSignal)) process.on(signal, onSignal);
}

// ------------------------------------------------------------------ fleets

export interface ProcessFleet {
	servers: SimulatorProcess[];
	urls: string[];
	stop(): Promise<void>;
}

/** Starts one child process per spec, in parallel (named sim-1, sim-2, … unless a name is given). */
export async function startProcessFleet(specs: SimulatorOptions[]): Promise<ProcessFleet> {
	const started = await Promise.allSettled(specs.map((spec, i) => SimulatorProcess.start({ name: `sim-${i + 1}`, ...spec })));
	const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
	const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
	if (failed) {
		await Promise.all(servers.map((s) => s.stop()));
		throw failed.reason;
	}
	return {
		servers,
		urls: servers.map((s) => s.url),
		stop: async () => {
			await Promise.all(servers.map((s) => s.stop()));
		},
	};
}
