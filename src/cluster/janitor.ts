/**
 * Prompts abandoned on servers that stopped answering must never run later: a frozen server that
 * resumes would otherwise run them, and the scene, already done elsewhere, would run twice.
 *
 * Each abandoned prompt is remembered in the store (a tombstone: server, prompt id, time), so that
 * whichever worker first sees the server answer again removes it; this process keeps trying on its
 * own as well, long after the execution that left it has ended. A removal deletes the prompts from
 * the queue and interrupts the one that runs, with requests that wait for the server (a stopped
 * server handles them as soon as it resumes, before it moves on), then checks the queue.
 */
import { sleep } from '../util/backoff';
import type { ComfyUiClient } from '../comfyui/client';
import { TransientServerError } from '../comfyui/errors';
import type { HealthStore, Tombstone } from './store/HealthStore';

/** A removal request waits this long for a server that does not answer (it is handled on resume). */
const PURGE_TIMEOUT_MS = 30_000;
/** First pause before trying a server again; doubles up to RETRY_MAX_MS. */
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** A prompt that is still interrupting: look again this soon. */
const CONFIRM_AGAIN_MS = 50;
/** Reset connections retried at once before the usual pause. */
const IMMEDIATE_RETRIES = 3;
/** Tombstones older than this are forgotten (the server never came back). */
export const TOMBSTONE_MAX_AGE_MS = 24 * 3600_000;

export interface JanitorDeps {
	store: HealthStore;
	clientFor(serverId: string): ComfyUiClient;
	logger?: { debug(message: string, meta?: Record<string, unknown>): void; warn(message: string): void };
	/** Strips secrets from text that is logged. */
	clean(text: string): string;
	now?: () => number;
}

export class Janitor {
	/** serverId → promptId → when it was abandoned. */
	private readonly pending = new Map<string, Map<string, number>>();
	private readonly running = new Set<string>();
	private readonly failures = new Map<string, number>();
	/** Connections reset in a row, per server (retried at once up to IMMEDIATE_RETRIES). */
	private readonly resets = new Map<string, number>();
	private readonly abort = new AbortController();
	private readonly now: () => number;

	constructor(private readonly deps: JanitorDeps) {
		this.now = deps.now ?? Date.now;
	}

	/** Leaves `promptId` behind on `serverId`: remembered in the store, removed once the server answers. */
	abandon(serverId: string, promptId: string): void {
		const tombstone = { serverId, promptId, at: this.now() };
		this.add([tombstone]);
		this.deps.store.addTombstones([tombstone]).catch((error) => this.deps.logger?.warn(`Could not record an abandoned prompt: ${this.deps.clean(String(error))}`));
	}

	/** Tombstones found in the store (left by any worker): removed here too. */
	adopt(tombstones: readonly Tombstone[]): void {
		this.add(tombstones.filter((t) => !this.pending.get(t.serverId)?.has(t.promptId)));
	}

	/** Prompts still to be removed from this server. */
	waiting(serverId: string): string[] {
		return [...(this.pending.get(serverId)?.keys() ?? [])];
	}

	/** Resolves when nothing is left to remove, or after `timeoutMs` (tests and benchmarks). */
	async settled(timeoutMs: number): Promise<boolean> {
		const deadline = Date.now() + timeoutMs;
		while (this.pending.size > 0 && Date.now() < deadline) await sleep(50);
		return this.pending.size === 0;
	}

	close(): void {
		this.abort.abort();
		this.pending.clear();
	}

	private add(tombstones: readonly Tombstone[]): void {
		if (this.abort.signal.aborted) return;
		const cutoff = this.now() - TOMBSTONE_MAX_AGE_MS;
		for (const t of tombstones) {
			if (t.at < cutoff) continue;
			let ids = this.pending.get(t.serverId);
			if (!ids) this.pending.set(t.serverId, (ids = new Map()));
			ids.set(t.promptId, t.at);
			this.kick(t.serverId);
		}
	}

	private kick(serverId: string): void {
		if (this.running.has(serverId) || this.abort.signal.aborted) return;
		this.running.add(serverId);
		void this.work(serverId).finally(() => this.running.delete(serverId));
	}

	/** Tries until every prompt left on this server is gone (or forgotten). */
	private async work(serverId: string): Promise<void> {
		const { signal } = this.abort;
		while (!signal.aborted) {
			const ids = this.pending.get(serverId);
			if (!ids || ids.size === 0) {
				this.pending.delete(serverId);
				return;
			}
			const cutoff = this.now() - TOMBSTONE_MAX_AGE_MS;
			for (const [id, at] of ids) if (at < cutoff) ids.delete(id);
			let pause: number;
			try {
				pause = await this.purge(serverId, [...ids.keys()], signal);
				this.failures.delete(serverId);
				this.resets.delete(serverId);
			} catch (error) {
				if (signal.aborted) return;
				this.deps.logger?.debug('Abandoned prompts not removed yet', { serverId, reason: this.deps.clean(error instanceof Error ? error.message : String(error)) });
				// A server that resumes first closes the connections it kept alive before it stopped, with
				// our requests on them unread: send them again at once, on new connections.
				const resets = this.resets.get(serverId) ?? 0;
				if (error instanceof TransientServerError && error.reason === 'reset' && resets < IMMEDIATE_RETRIES) {
					this.resets.set(serverId, resets + 1);
					continue;
				}
				const failures = (this.failures.get(serverId) ?? 0) + 1;
				this.failures.set(serverId, failures);
				pause = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (failures - 1));
			}
			if (pause > 0) await sleep(pause, signal).catch(() => undefined);
		}
	}

	/** One round: remove, then check; returns the pause before the next round (0: done). */
	private async purge(serverId: string, ids: string[], signal: AbortSignal): Promise<number> {
		const client = this.deps.clientFor(serverId);
		await client.purge(ids, { signal, timeoutMs: PURGE_TIMEOUT_MS });
		const state = await client.queue({ signal });
		const present = new Set([...state.running, ...state.pending].map((entry) => entry.promptId));
		const gone = ids.filter((id) => !present.has(id));
		const map = this.pending.get(serverId);
		for (const id of gone) map?.delete(id);
		if (gone.length > 0) {
			this.deps.logger?.debug('Removed abandoned prompts', { serverId, count: gone.length });
			await this.deps.store.removeTombstones(gone.map((promptId) => ({ serverId, promptId }))).catch(() => undefined);
		}
		return gone.length === ids.length ? 0 : CONFIRM_AGAIN_MS;
	}
}
