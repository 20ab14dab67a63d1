/**
 * How far behind this process runs. A process that was blocked (a long synchronous task) or starved
 * (an overloaded machine) cannot tell a silent server from its own silence: its timeouts fire before
 * it has read the answers that came in meanwhile. A probe that timed out while the process lagged is
 * therefore no evidence against the server — local health awareness, as in Consul's Lifeguard.
 *
 * One ticker per process, running only while someone watches (`watch()`), unref'd.
 */
const TICK_MS = 50;
/** How long a tick's lateness is remembered. */
const KEEP_MS = 30_000;

export class LocalLag {
	private timer?: NodeJS.Timeout;
	private watchers = 0;
	private due = 0;
	private readonly late: Array<{ at: number; ms: number }> = [];

	/** Starts watching; the returned function stops (idempotent). */
	watch(): () => void {
		if (this.watchers++ === 0) this.tick();
		let stopped = false;
		return () => {
			if (stopped) return;
			stopped = true;
			if (--this.watchers === 0 && this.timer) {
				clearTimeout(this.timer);
				this.timer = undefined;
			}
		};
	}

	/** The longest stretch (ms) this process's timers ran late since `since`, counting the tick now overdue. */
	worstSince(since: number, now = Date.now()): number {
		let worst = this.timer ? Math.max(0, now - this.due) : 0;
		for (const entry of this.late) if (entry.at >= since) worst = Math.max(worst, entry.ms);
		return worst;
	}

	private tick(): void {
		const now = Date.now();
		if (this.timer) {
			const ms = now - this.due;
			if (ms > 0) this.late.push({ at: now, ms });
			while (this.late.length > 0 && this.late[0].at < now - KEEP_MS) this.late.shift();
		}
		this.due = now + TICK_MS;
		this.timer = setTimeout(() => this.tick(), TICK_MS);
		this.timer.unref();
	}
}

export const localLag = new LocalLag();
