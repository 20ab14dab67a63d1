/**
 * The chaos controller: watches every simulator's submissions (one submission = one operation) and,
 * from a seeded PRNG, turns a share of them into a fault on the server that received it, a little
 * later so faults land in every phase (queued, running, fetching outputs). The sequence of faults
 * (kind, duration, delay) follows the seed; which scene they hit depends on timing.
 */
import type { ComfyUiSimulator } from '../sim';
import type { Prng } from './prng';

export type FaultKind = 'restart' | 'hang' | 'http5xx' | 'wsDrop' | 'slow' | 'ambiguous';

export const FAULT_KINDS: readonly FaultKind[] = ['restart', 'hang', 'http5xx', 'wsDrop', 'slow', 'ambiguous'];

const WEIGHTS: ReadonlyArray<readonly [FaultKind, number]> = [
	['restart', 2],
	['hang', 2],
	['http5xx', 2],
	['wsDrop', 2],
	['slow', 2],
	['ambiguous', 2],
];

export interface ChaosOptions {
	rate: number;
	/** Longest hang; a hang longer than the scenes' inactivity deadline ends in an interrupt and a retry. */
	maxHangMs: number;
	/** Longest 5xx burst; kept below the batch's unreachable time, after which a prompt counts as lost. */
	maxBurstMs: number;
	pollMs?: number;
}

export interface FaultRecord {
	/** ms since the soak started */
	at: number;
	/** Date.now() when it was injected */
	epochMs: number;
	server: number;
	kind: FaultKind;
	detail: string;
	/** The server was still in an earlier fault; nothing was injected. */
	skipped: boolean;
}

export class Chaos {
	readonly faults: FaultRecord[] = [];
	operations = 0;
	private readonly seen: number[];
	private readonly busyUntil: number[];
	private readonly restarts = new Set<Promise<void>>();
	private readonly timers = new Set<NodeJS.Timeout>();
	private poll?: NodeJS.Timeout;
	private stopped = false;
	readonly errors: string[] = [];
	/** Moments a server held more of our prompts than its max, with what they were. */
	readonly overflows: string[] = [];

	constructor(
		private readonly sims: readonly ComfyUiSimulator[],
		private readonly speeds: readonly number[],
		private readonly maxes: readonly number[],
		private readonly rng: Prng,
		private readonly options: ChaosOptions,
		private readonly startedAt = Date.now(),
	) {
		this.seen = sims.map(() => 0);
		this.busyUntil = sims.map(() => 0);
	}

	start(): void {
		this.poll = setInterval(() => this.tick(), this.options.pollMs ?? 10);
	}

	/** Ends injection and every fault still on: hangs released, errors off, speeds back, restarts awaited. */
	async stop(): Promise<void> {
		this.stopped = true;
		if (this.poll) clearInterval(this.poll);
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		await Promise.all([...this.restarts]);
		this.sims.forEach((sim, i) => {
			sim.setHang(false);
			sim.setHttpErrors(null);
			sim.setSpeed(this.speeds[i]);
			sim.setAmbiguousSubmit(0);
		});
	}

	private tick(): void {
		if (this.stopped) return;
		this.sims.forEach((sim, server) => {
			const active = sim.activePromptIds();
			if (active.length > this.maxes[server] && this.overflows.length < 50) {
				const state = active.map((id) => `${id.slice(0, 8)}${sim.records.interrupted.includes(id) ? ' (interrupted)' : ''}${sim.records.started.includes(id) ? ' started' : ' pending'}`);
				this.overflows.push(`server ${server + 1} at ${Date.now() - this.startedAt} ms: ${state.join(', ')}`);
			}
			const total = sim.records.prompts.length;
			for (; this.seen[server] < total; this.seen[server]++) {
				this.operations++;
				if (!this.rng.chance(this.options.rate)) continue;
				const kind = this.rng.weighted(WEIGHTS);
				const delayMs = this.rng.int(0, 300);
				const durationMs = this.duration(kind);
				const factor = this.rng.pick([0.15, 0.25, 0.4]);
				const status = this.rng.pick([500, 502, 503]);
				this.later(delayMs, () => this.inject(server, kind, durationMs, factor, status));
			}
		});
	}

	private duration(kind: FaultKind): number {
		switch (kind) {
			case 'restart':
				return this.rng.int(100, 800);
			case 'hang':
				return this.rng.int(200, this.options.maxHangMs);
			case 'http5xx':
				return this.rng.int(100, this.options.maxBurstMs);
			case 'slow':
				return this.rng.int(300, 2000);
			default:
				return 0;
		}
	}

	private inject(server: number, kind: FaultKind, durationMs: number, factor: number, status: number): void {
		if (this.stopped) return;
		const sim = this.sims[server];
		const now = Date.now();
		const busy = this.busyUntil[server] > now && kind !== 'wsDrop' && kind !== 'ambiguous';
		const detail = describe(kind, durationMs, factor, status);
		this.faults.push({ at: now - this.startedAt, epochMs: now, server, kind, detail, skipped: busy });
		if (busy) return;
		switch (kind) {
			case 'restart': {
				this.busyUntil[server] = Number.POSITIVE_INFINITY;
				const done = sim
					.restart(durationMs)
					.catch((error) => void this.errors.push(`restart of server ${server + 1} failed: ${String(error)}`))
					.finally(() => {
						this.busyUntil[server] = Date.now();
						this.restarts.delete(done);
					});
				this.restarts.add(done);
				return;
			}
			case 'hang':
				this.busyUntil[server] = now + durationMs;
				sim.setHang(true);
				this.later(durationMs, () => sim.setHang(false), true);
				return;
			case 'http5xx':
				this.busyUntil[server] = now + durationMs;
				sim.setHttpErrors({ routes: '*', status, rate: 1 });
				this.later(durationMs, () => sim.setHttpErrors(null), true);
				return;
			case 'slow':
				this.busyUntil[server] = now + durationMs;
				sim.setSpeed(this.speeds[server] * factor);
				this.later(durationMs, () => sim.setSpeed(this.speeds[server]), true);
				return;
			case 'wsDrop':
				sim.dropWebSockets();
				return;
			case 'ambiguous':
				sim.setAmbiguousSubmit(1);
				return;
		}
	}

	private later(ms: number, fn: () => void, evenWhenStopped = false): void {
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			if (!this.stopped || evenWhenStopped) fn();
		}, ms);
		this.timers.add(timer);
	}
}

function describe(kind: FaultKind, durationMs: number, factor: number, status: number): string {
	switch (kind) {
		case 'restart':
			return `down ${durationMs} ms, queue and history lost`;
		case 'hang':
			return `hung ${durationMs} ms`;
		case 'http5xx':
			return `HTTP ${status} on every route for ${durationMs} ms`;
		case 'slow':
			return `speed ×${factor} for ${durationMs} ms`;
		case 'wsDrop':
			return 'websockets dropped';
		case 'ambiguous':
			return 'next submit accepted, answer lost';
	}
}
