/**
 * Decides which prompt the one worker runs next and how long it sleeps for a node's work (at the
 * server's speed, stopped by a hang, cut short by an interrupt or a shutdown); keeps queue and history.
 */
import type { Faults } from './faults';
import type { HistoryEntry, QueueItem, SimulatorRecords } from './types';

export type PauseResult = 'ok' | 'interrupt' | 'dead';
/** A timer that fires this much later than due means the process was stopped, not just busy. */
const STALL_MS = 500;

/** The server state a restart loses, as ComfyUI's PromptQueue holds it, and the worker that drains it. */
export class PromptQueue {
	/** Changes on every start and every shutdown: a worker loop or a run of an older epoch stops. */
	epoch = 0;
	counter = 0;
	pending: QueueItem[] = [];
	running: QueueItem | null = null;
	runningNode: string | null = null;
	history = new Map<string, HistoryEntry>();
	interruptFlag = false;
	/** Time (ms) the running prompt's last pause ran beyond what it asked (a late timer). */
	private overrunMs = 0;
	private wakers = new Set<() => void>();

	constructor(
		private readonly faults: Faults,
		private readonly records: SimulatorRecords,
		/** Called after every change of the queue, with its new length: the server broadcasts it. */
		private readonly onStatus: (info: QueueInfo) => void,
	) {}

	reset(): void {
		this.counter = 0;
		this.pending = [];
		this.running = null;
		this.runningNode = null;
		this.history.clear();
		this.interruptFlag = false;
	}

	info(): QueueInfo {
		return { exec_info: { queue_remaining: this.pending.length + (this.running ? 1 : 0) } };
	}

	sortedPending(): QueueItem[] {
		return [...this.pending].sort((a, b) => a[0] - b[0]);
	}

	/** Sent after every change of the queue. */
	statusChanged(): void {
		this.recordActivity();
		this.onStatus(this.info());
	}

	recordActivity(): void {
		const active = this.pending.length + (this.running ? 1 : 0);
		this.records.peakActive = Math.max(this.records.peakActive, active);
		if (this.records.activity.at(-1)?.active !== active) this.records.activity.push({ at: Date.now(), active });
	}

	/** Wakes the worker and every pause, which then look again at queue, speed, hang and interrupt. */
	wake(): void {
		const ws = [...this.wakers];
		this.wakers.clear();
		for (const w of ws) w();
	}

	private waitForChange(): Promise<void> {
		return new Promise((r) => this.wakers.add(r));
	}

	/** Runs the queue, lowest number first, one prompt at a time, until the epoch changes. */
	async workerLoop(epoch: number, execute: (item: QueueItem, epoch: number) => Promise<void>): Promise<void> {
		while (epoch === this.epoch) {
			if (this.pending.length === 0) {
				await this.waitForChange();
				continue;
			}
			const next = this.sortedPending()[0];
			this.pending.splice(this.pending.indexOf(next), 1);
			this.running = next;
			this.interruptFlag = false;
			this.statusChanged();
			this.records.started.push(next[1]);
			// a run starts with no work done ahead
			this.overrunMs = 0;
			try {
				await execute(next, epoch);
			} catch {
				// a crash mid-run: the process "died", nothing more is sent
			}
			if (epoch !== this.epoch) return;
		}
	}

	/**
	 * Sleep for `cost` ms of work at the current speed (or at `fixedSpeed`, whatever the server's: a
	 * disk read is 1); wakes early on interrupt, hang and shutdown.
	 */
	async pause(costMs: number, epoch: number, fixedSpeed?: number): Promise<PauseResult> {
		const speedNow = (): number => fixedSpeed ?? this.faults.speed;
		// Time a late timer ran beyond the previous pause counts toward this one: a prompt's steps add
		// up to its cost, as on a GPU, instead of each step adding the timer's lateness.
		let remaining = costMs - this.overrunMs * speedNow();
		this.overrunMs = 0;
		for (;;) {
			if (epoch !== this.epoch) return 'dead';
			if (this.faults.hang) {
				await this.waitForChange();
				continue;
			}
			if (this.interruptFlag) return 'interrupt';
			if (remaining <= 0) {
				this.overrunMs = -remaining / speedNow();
				return 'ok';
			}
			const started = Date.now();
			const speed = speedNow();
			const ms = remaining / speed;
			let timer: NodeJS.Timeout | undefined;
			await new Promise<void>((r) => {
				const done = (): void => {
					if (timer) clearTimeout(timer);
					this.wakers.delete(done);
					r();
				};
				timer = setTimeout(done, ms);
				this.wakers.add(done);
			});
			const elapsed = Date.now() - started;
			// A process that was stopped (SIGSTOP) and resumed wakes long after its timer was due:
			// a GPU does no work while its process is stopped, so that stretch counts for nothing and
			// the step resumes where it was.
			if (elapsed > ms + STALL_MS) continue;
			remaining -= elapsed * speed;
		}
	}
}

export interface QueueInfo {
	exec_info: { queue_remaining: number };
}
