/**
 * What a server that stops answering costs the scenes of a batch, and when servers are probed to
 * find out: every second the servers that hold our scenes (a frozen one is noticed within a probe
 * timeout), the unreachable ones while scenes wait (to notice them back), and the others when their
 * last probe is older than `probeMaxAgeMs`. Scenes waiting on a silent server move at once; its
 * running scene gets a window, then is given up there; what is abandoned is removed when the server
 * answers again (janitor.ts), so it never runs twice.
 */
import type { BatchState, Running } from './batchState';
import type { Reachability } from './liveness';

export class Silence {
	constructor(
		private readonly state: BatchState,
		private readonly probeSignal: AbortSignal,
		/** A probe answered: it may show new work of others on the server. */
		private readonly answered: () => void,
	) {}

	/** Starts the probes that are due, without waiting for them. */
	probeDue(): void {
		const { state } = this;
		const { runtime, options } = state;
		const now = Date.now();
		const busy = new Set([...state.running].map((r) => r.serverId));
		const waiting = state.queue.length > 0;
		for (const server of state.servers) {
			if (runtime.prober.probing(server.id)) continue;
			if (busy.has(server.id)) {
				// Alive if it answered a probe within livenessMs or spoke on its websocket (progress, status)
				// within half of it: then probed again only for news of others' work.
				const probedAt = this.lastProbeAt(server.id, now);
				const alive = now - probedAt < options.livenessMs || now - runtime.clientFor(server.id).lastHeardAt() < options.livenessMs / 2;
				if (alive && (!waiting || now - probedAt < options.probeMaxAgeMs)) continue;
			} else if (!waiting) continue;
			else if (!runtime.liveness.reachable(server.id)) {
				// To notice it back, with a pause that grows while it stays away (and not while its
				// breaker keeps scenes off it anyway).
				if (now < runtime.prober.retryAt(server.id) || (state.status.get(server.id)?.breaker.openUntil ?? 0) > now) continue;
			} else if (now - this.lastProbeAt(server.id, now) < options.probeMaxAgeMs) continue;
			// What a probe changes about reachability wakes the scheduler through the liveness news.
			void runtime.prober.probe(server.id, this.probeSignal).then((result) => result.ok && this.answered());
		}
	}

	/**
	 * A server stopped answering or answers again (seen by any execution of this process). Silent:
	 * scenes waiting there (or not yet accepted) move now, the running one gets a window. Down: every
	 * scene there sees the refused connections itself within half a second (one not yet accepted
	 * costs no attempt, one the server had accepted does: it was lost with the server).
	 */
	onReachability(serverId: string, reachability: Reachability): void {
		const now = Date.now();
		for (const run of this.state.running) {
			if (run.serverId !== serverId || run.abandoned) continue;
			if (reachability === 'up') run.silentDeadline = undefined;
			else if (reachability === 'silent' && run.phase === 'queued') giveUp(run, 'moved', `${this.state.urlOf(serverId)} stopped answering`);
			else if (reachability === 'silent') run.silentDeadline ??= now + this.state.remaining(run, now) * 1000 + this.state.options.silentGraceMs;
		}
	}

	/** Running scenes whose silent server did not answer again within their window are given up. */
	giveUpOnSilent(): void {
		const now = Date.now();
		for (const run of this.state.running) {
			if (run.silentDeadline === undefined || run.silentDeadline > now || run.abandoned) continue;
			const since = this.state.runtime.liveness.get(run.serverId);
			const seconds = since ? Math.round((now - since.since) / 100) / 10 : 0;
			giveUp(run, 'failed', `ComfyUI at ${this.state.urlOf(run.serverId)} stopped answering (no answer for ${seconds} s) while running the scene`);
		}
	}

	/** When the server was last probed, by this process or (as the store says) any worker. */
	private lastProbeAt(serverId: string, now: number): number {
		const { state } = this;
		const local = state.runtime.prober.last(serverId)?.at ?? 0;
		const age = state.status.get(serverId)?.queueAgeMs;
		const shared = age === undefined ? 0 : state.statusAt - age;
		return Math.min(now, Math.max(local, shared));
	}
}

/** Abandons a scene on its server without waiting for the server; the prompt is removed when it answers. */
function giveUp(run: Running, kind: 'moved' | 'failed', reason: string): void {
	run.abandoned = { kind, reason };
	run.abandon.abort();
}
