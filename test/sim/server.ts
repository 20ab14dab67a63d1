/**
 * Decides a simulated server's life: start, crash (running out of RAM included), restart and stop,
 * which parts it is made of, and the public switches of its faults. Its parts: routes.ts (HTTP and
 * websocket), queue.ts (queue and worker), executor.ts (running a prompt), cache.ts (results kept
 * between prompts), models.ts (loading models), memory.ts (RAM and VRAM), faults.ts (misbehaviour),
 * files.ts, info.ts, sockets.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import { createServer, IncomingMessage, Server } from 'http';
import type { Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { WebSocketServer } from 'ws';
import { Catalogue, defaultCatalogue } from './catalogue';
import { Executor } from './executor';
import { Faults, type ExecutionErrorRule, type HttpErrorRule, type HugeJsonRule, type MemoryPressure, type ViewFault } from './faults';
import { DataFiles } from './files';
import { send500 } from './http-util';
import { ServerInfo } from './info';
import { Memory } from './memory';
import { PromptQueue } from './queue';
import { Routes } from './routes';
import { Sockets } from './sockets';
import type { SimulatorOptions, SimulatorRecords } from './types';

export type { SimulatorOptions, SimulatorRecords } from './types';
export type { ExecutionErrorRule, HttpErrorRule, HugeJsonRule, MemoryPressure, SimulatorFaults, ViewFault } from './faults';

/** What the process around a server does for it (not options: they do not cross to a child process). */
export interface SimulatorHooks {
	/** RAM ran out (after the record of it): the default is crash(); a child process ends itself. */
	outOfMemory?: () => void;
}

/**
 * A ComfyUI 0.3.64 look-alike: the same routes (also under /api), JSON shapes, websocket message order,
 * one worker per server, real output files, and switches for the faults a cluster must survive.
 */
export class ComfyUiSimulator {
	readonly name: string;
	readonly records: SimulatorRecords = { prompts: [], started: [], finished: [], deleted: [], interrupted: [], uploads: [], frees: 0, peakActive: 0, activity: [], wsClients: [], loads: [], outOfMemory: [] };
	private readonly host: string;
	private readonly basePath: string;
	private readonly dataDir: string;
	private readonly ownsDataDir: boolean;
	private server: Server | null = null;
	private wss: WebSocketServer | null = null;
	private connections = new Set<Socket>();
	private boundPort = 0;
	private down = false;
	private stopped = false;

	private readonly faults: Faults;
	private readonly sockets = new Sockets();
	/** Server state (lost on restart): queue, history, and the executor's cache. */
	private readonly queue: PromptQueue;
	private readonly executor: Executor;
	private readonly routes: Routes;

	private constructor(opts: SimulatorOptions, hooks: SimulatorHooks) {
		this.name = opts.name ?? 'comfyui-sim';
		const catalogue: Catalogue = opts.catalogue ?? defaultCatalogue();
		this.host = opts.host ?? '127.0.0.1';
		this.basePath = (opts.basePath ?? '').replace(/\/+$/, '');
		this.faults = new Faults(opts, opts.requireAuth?.header ?? 'authorization');
		this.ownsDataDir = !opts.dataDir;
		this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'comfyui-sim-'));
		for (const d of ['input', 'output', 'temp']) mkdirSync(join(this.dataDir, d), { recursive: true });
		const { records, sockets, faults } = this;
		const files = new DataFiles(this.dataDir, faults, records);
		this.queue = new PromptQueue(faults, records, (info) => sockets.send(undefined, 'status', { status: info }));
		const memory = new Memory(opts);
		const outOfMemory = (promptId: string | null): void => {
			records.outOfMemory.push({ at: Date.now(), promptId, ramUsed: memory.figures().ramUsed });
			if (hooks.outOfMemory) hooks.outOfMemory();
			else this.crash();
		};
		this.executor = new Executor({ opts, catalogue, records, queue: this.queue, sockets, faults, files, memory, outOfMemory });
		const info = new ServerInfo({ opts, catalogue, host: this.host, faults, files, memory, port: () => this.boundPort });
		this.routes = new Routes({
			opts,
			catalogue,
			basePath: this.basePath,
			records,
			queue: this.queue,
			sockets,
			faults,
			files,
			executor: this.executor,
			info,
			isDown: () => this.down,
		});
	}

	static async start(options: SimulatorOptions = {}, hooks: SimulatorHooks = {}): Promise<ComfyUiSimulator> {
		const sim = new ComfyUiSimulator(options, hooks);
		await sim.listen(options.port ?? 0);
		return sim;
	}

	get port(): number {
		return this.boundPort;
	}

	get url(): string {
		const h = this.host.includes(':') ? `[${this.host}]` : this.host;
		return `http://${h}:${this.boundPort}${this.basePath}`;
	}

	/** Folder with input/, output/ and temp/. */
	get directory(): string {
		return this.dataDir;
	}

	activePromptIds(): string[] {
		const queue = this.queue;
		return [...(queue.running ? [queue.running[1]] : []), ...queue.sortedPending().map((i) => i[1])];
	}

	// ------------------------------------------------------------------ lifecycle and faults

	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		await this.goDown();
		if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
	}

	crash(): void {
		void this.goDown();
	}

	async restart(downMs = 0): Promise<void> {
		if (this.stopped) throw new Error('simulator stopped');
		await this.goDown();
		if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
		if (this.stopped) return;
		this.resetState();
		rmSync(join(this.dataDir, 'temp'), { recursive: true, force: true });
		mkdirSync(join(this.dataDir, 'temp'), { recursive: true });
		await this.listen(this.boundPort);
	}

	setHang(on: boolean): void {
		this.faults.hang = on;
		this.queue.wake();
	}

	setSpeed(speed: number): void {
		if (!(speed > 0)) throw new Error('speed must be > 0');
		this.faults.speed = speed;
		this.queue.wake(); // a running pause recomputes its remaining time
	}

	setHttpErrors(rule: HttpErrorRule | null): void {
		this.faults.httpErrors = rule;
	}

	dropWebSockets(): void {
		this.sockets.terminateAll();
	}

	setExecutionError(rule: ExecutionErrorRule | null): void {
		this.faults.executionError = rule;
	}

	setMemoryPressure(p: MemoryPressure | null): void {
		this.faults.memoryPressure = p;
	}

	setAmbiguousSubmit(count: number): void {
		this.faults.ambiguousSubmits = Math.max(0, Math.floor(count));
	}

	setViewFaults(rules: ViewFault[] | null): void {
		this.faults.viewFaults = rules ?? [];
	}

	setHugeJson(rule: HugeJsonRule | null): void {
		this.faults.hugeJson = rule;
	}

	private resetState(): void {
		this.queue.reset();
		this.executor.reset();
		this.faults.reset();
		this.queue.recordActivity();
	}

	private async listen(port: number): Promise<void> {
		const server = createServer((req, res) => {
			this.routes.handle(req, res).catch(() => {
				if (!res.headersSent) send500(res);
				else res.destroy();
			});
		});
		server.keepAliveTimeout = 5000;
		server.on('connection', (s: Socket) => {
			this.connections.add(s);
			s.on('close', () => this.connections.delete(s));
		});
		const wss = new WebSocketServer({ noServer: true });
		server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.routes.handleUpgrade(wss, req, socket, head));
		await new Promise<void>((resolvePromise, reject) => {
			server.once('error', reject);
			server.listen(port, this.host, () => {
				server.off('error', reject);
				resolvePromise();
			});
		});
		const addr = server.address();
		this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
		this.server = server;
		this.wss = wss;
		this.down = false;
		this.queue.epoch++;
		void this.queue.workerLoop(this.queue.epoch, (item, epoch) => this.executor.execute(item, epoch));
	}

	private async goDown(): Promise<void> {
		if (this.down) return;
		this.down = true;
		this.queue.epoch++;
		this.queue.wake();
		const server = this.server;
		this.server = null;
		this.sockets.terminateAll();
		this.sockets.clear();
		for (const s of this.connections) s.destroy();
		this.connections.clear();
		this.wss?.close();
		this.wss = null;
		if (server) {
			server.closeAllConnections?.();
			await new Promise<void>((r) => server.close(() => r()));
		}
	}
}
