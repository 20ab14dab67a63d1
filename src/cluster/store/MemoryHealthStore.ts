/**
 * Keeps the cluster's state in this process and decides its reservations here: the store without a
 * Redis credential, and the fallback while Redis is unreachable. Every method runs synchronously
 * inside, so selection and reservation are atomic within the process. It is also the reference the
 * Lua scripts are tested against.
 */
import { admit, CLOSED, onFailure, onSuccess, phase, startTrial, type BreakerState } from '../breaker';
import { loadKey, WORK_KEY } from '../planning/durationModel';
import { choose } from './selection/choose';
import type { SelectionSnapshot, ServerSnapshot, SystemStats } from './types';
import {
	MAX_ERROR_LENGTH,
	newLeaseId,
	resolveStoreOptions,
	type CommitArgs,
	type CommitResult,
	type HealthStore,
	type HealthStoreOptions,
	type HealthStoreOptionsInput,
	type Lease,
	type Outcome,
	type ProbeResult,
	type SelectArgs,
	type SelectResult,
	type ServerStatus,
	type StoreServer,
	type Tombstone,
} from './HealthStore';

interface ServerRecord {
	breaker: BreakerState;
	queue?: { n: number; at: number; external?: number };
	stats?: { stats: SystemStats; at: number };
	lastError?: { message: string; at: number };
	resident?: { models: string[]; at: number };
	swrr: number;
}

export class MemoryHealthStore implements HealthStore {
	readonly kind = 'memory' as const;
	readonly roundTrips = 0;
	readonly options: HealthStoreOptions;
	private readonly servers = new Map<string, ServerRecord>();
	private readonly ewma = new Map<string, { seconds: number; samples: number }>();
	private readonly leases = new Map<string, { serverId: string; expiresAt: number }>();
	/** `<serverId>|<promptId>` → tombstone. */
	private readonly tombstones = new Map<string, Tombstone>();
	private rrCursor = 0;

	constructor(options: HealthStoreOptionsInput = {}) {
		this.options = resolveStoreOptions(options);
	}

	async commit(args: CommitArgs): Promise<CommitResult> {
		// Nothing here awaits, so no other caller of this process runs in between.
		const released = (args.release ?? []).map((r) => this.free(r.lease, r.outcome, r.keepTtlMs));
		const reserved = (args.reserve ?? []).map((r) => this.select(r));
		return { released, reserved };
	}

	private select(args: SelectArgs): SelectResult {
		const now = this.options.now();
		this.dropExpired(now);
		const inFlight = this.inFlightCounts();
		const servers: ServerSnapshot[] = args.servers.map((server) => {
			const record = this.record(server.id);
			return {
				id: server.id,
				weight: server.weight,
				max: server.max,
				inFlight: inFlight.get(server.id) ?? 0,
				breaker: record.breaker,
				system: record.stats?.stats,
				systemAgeMs: record.stats ? now - record.stats.at : undefined,
				swrrCurrent: record.swrr,
			};
		});
		const snapshot: SelectionSnapshot = { servers, rrCursor: this.rrCursor, options: { ...this.options.selection, ...args.options } };
		const choice = choose(snapshot, { strategy: args.strategy, exclude: args.exclude, now });
		if ('none' in choice) return choice;
		if (choice.rr.cursor !== undefined) this.rrCursor = choice.rr.cursor;
		for (const [id, current] of Object.entries(choice.rr.swrr ?? {})) this.record(id).swrr = current;
		const record = this.record(choice.serverId);
		if (choice.trial && admit(record.breaker, now).trial) record.breaker = startTrial(record.breaker, now, args.leaseTtlMs);
		const lease: Lease = { id: newLeaseId(), serverId: choice.serverId, expiresAt: now + args.leaseTtlMs, store: 'memory' };
		this.leases.set(lease.id, { serverId: lease.serverId, expiresAt: lease.expiresAt });
		return { lease, reason: choice.reason, trial: choice.trial, panic: choice.panic };
	}

	async renew(lease: Lease, ttlMs: number): Promise<boolean> {
		const now = this.options.now();
		const live = this.leases.get(lease.id);
		if (!live || live.expiresAt <= now) return false;
		live.expiresAt = now + ttlMs;
		lease.expiresAt = live.expiresAt;
		return true;
	}

	async retake(lease: Lease, ttlMs: number): Promise<boolean> {
		lease.expiresAt = this.options.now() + ttlMs;
		this.leases.set(lease.id, { serverId: lease.serverId, expiresAt: lease.expiresAt });
		return true;
	}

	private free(lease: Lease, outcome: Outcome, keepTtlMs?: number): boolean {
		const now = this.options.now();
		const live = this.leases.get(lease.id);
		const wasLive = live !== undefined && live.expiresAt > now;
		if (keepTtlMs !== undefined) {
			lease.expiresAt = now + keepTtlMs;
			this.leases.set(lease.id, { serverId: lease.serverId, expiresAt: lease.expiresAt });
		} else this.leases.delete(lease.id);
		const record = this.record(lease.serverId);
		const { breaker } = this.options;
		if (outcome.kind === 'transient') {
			record.breaker = onFailure(record.breaker, now, this.options.random(), breaker);
			record.lastError = { message: (outcome.error ?? 'transient failure').slice(0, MAX_ERROR_LENGTH), at: now };
			return wasLive;
		}
		// The prompt left the server's queue: keep the last seen length honest until the next probe.
		if (record.queue) record.queue.n = Math.max(0, record.queue.n - 1);
		if (outcome.kind === 'cancelled') {
			if (record.breaker.trialUntil > now) record.breaker = { ...record.breaker, trialUntil: 0 };
			return wasLive;
		}
		record.breaker = onSuccess(record.breaker, now, breaker);
		if (outcome.kind === 'success' && outcome.executionMs !== undefined && outcome.executionMs >= 0) {
			const x = outcome.executionMs / 1000;
			this.learn(ewmaField(lease.serverId, outcome.workflowKey), x);
			// Seconds per work unit of this server, over every workflow it ran.
			if (outcome.work !== undefined && outcome.work > 0) this.learn(ewmaField(lease.serverId, WORK_KEY), x / outcome.work);
		}
		if (outcome.kind === 'success') {
			for (const [model, ms] of Object.entries(outcome.loads ?? {})) this.learn(ewmaField(lease.serverId, loadKey(model)), ms / 1000);
			if (outcome.resident) record.resident = { models: [...outcome.resident], at: now };
		}
		return wasLive;
	}

	private learn(field: string, x: number): void {
		const prev = this.ewma.get(field);
		const alpha = this.options.ewmaAlpha;
		this.ewma.set(field, prev ? { seconds: alpha * x + (1 - alpha) * prev.seconds, samples: prev.samples + 1 } : { seconds: x, samples: 1 });
	}

	async recordProbes(results: readonly ProbeResult[]): Promise<void> {
		const now = this.options.now();
		for (const result of results) {
			const record = this.record(result.serverId);
			if (result.ok) {
				if (result.queueRemaining !== undefined) record.queue = { n: result.queueRemaining, at: now, external: result.external };
			} else {
				// Nothing listens on a server that refused: every worker should leave it alone at once.
				const breaker = result.refused ? { ...this.options.breaker, threshold: 1 } : this.options.breaker;
				record.breaker = onFailure(record.breaker, now, this.options.random(), breaker);
				record.lastError = { message: (result.error ?? 'probe failed').slice(0, MAX_ERROR_LENGTH), at: now };
				// A failed probe is still a probe: the server is not stale, it is down.
				record.queue = { n: record.queue?.n ?? 0, at: now, external: record.queue?.external };
			}
		}
	}

	async addTombstones(tombstones: readonly Tombstone[]): Promise<void> {
		for (const t of tombstones) this.tombstones.set(tombstoneField(t), { ...t });
	}

	async removeTombstones(tombstones: ReadonlyArray<Pick<Tombstone, 'serverId' | 'promptId'>>): Promise<void> {
		for (const t of tombstones) this.tombstones.delete(tombstoneField(t));
	}

	async recordSystemStats(serverId: string, stats: SystemStats): Promise<void> {
		this.record(serverId).stats = { stats: { ...stats }, at: this.options.now() };
	}

	async snapshot(servers: readonly StoreServer[]): Promise<ServerStatus[]> {
		const now = this.options.now();
		this.dropExpired(now);
		const inFlight = this.inFlightCounts();
		return servers.map((server) => {
			const record = this.record(server.id);
			const ewma: ServerStatus['ewma'] = {};
			for (const [field, value] of this.ewma) {
				if (field.startsWith(`${server.id}|`)) ewma[field.slice(server.id.length + 1)] = { ...value };
			}
			const b = record.breaker;
			return {
				id: server.id,
				url: server.url,
				weight: server.weight,
				max: server.max,
				breaker: { phase: phase(b, now), failures: b.failures, ejections: b.ejections, openUntil: b.openUntil, lastFailureAt: b.lastFailureAt, recoveredAt: b.recoveredAt },
				inFlight: inFlight.get(server.id) ?? 0,
				queueRemaining: record.queue?.n,
				queueExternal: record.queue?.external,
				queueAgeMs: record.queue ? now - record.queue.at : undefined,
				ewma,
				tombstones: [...this.tombstones.values()].filter((t) => t.serverId === server.id).map((t) => ({ ...t })),
				system: record.stats ? { ...record.stats.stats } : undefined,
				systemAgeMs: record.stats ? now - record.stats.at : undefined,
				lastError: record.lastError ? { ...record.lastError } : undefined,
				resident: record.resident ? { models: [...record.resident.models], at: record.resident.at } : undefined,
			};
		});
	}

	async staleServers<T extends StoreServer>(servers: readonly T[], maxAgeMs: number): Promise<T[]> {
		const now = this.options.now();
		return servers.filter((server) => {
			const queue = this.servers.get(server.id)?.queue;
			return !queue || now - queue.at > maxAgeMs;
		});
	}

	/** Drops a lease without an outcome: it now lives in another store (FallbackHealthStore moved it to Redis). */
	forget(lease: Lease): void {
		this.leases.delete(lease.id);
	}

	async close(): Promise<void> {}

	private record(serverId: string): ServerRecord {
		let record = this.servers.get(serverId);
		if (!record) {
			record = { breaker: { ...CLOSED }, swrr: 0 };
			this.servers.set(serverId, record);
		}
		return record;
	}

	private dropExpired(now: number): void {
		for (const [id, lease] of this.leases) if (lease.expiresAt <= now) this.leases.delete(id);
	}

	private inFlightCounts(): Map<string, number> {
		const counts = new Map<string, number>();
		for (const lease of this.leases.values()) counts.set(lease.serverId, (counts.get(lease.serverId) ?? 0) + 1);
		return counts;
	}
}

export function tombstoneField(t: Pick<Tombstone, 'serverId' | 'promptId'>): string {
	return `${t.serverId}|${t.promptId}`;
}

export function ewmaField(serverId: string, workflowKey: string): string {
	return `${serverId}|${workflowKey}`;
}
