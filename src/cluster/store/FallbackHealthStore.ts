/**
 * Which store serves each call: Redis first; while Redis does not answer, an in-process
 * MemoryHealthStore keeps the work going. One warning when it switches to memory, one note when
 * Redis answers again (checked at most every `retryMs`). Leases remember the store that issued
 * them, so each is renewed and released there.
 *
 * A lease taken in memory while Redis was away moves to Redis at its first renewal once Redis
 * answers again (as `retake` puts a lost lease back, even above `max`): until then no other worker
 * counts its scene, and a scene that passes its slot on to the next keeps it for the rest of the
 * batch. A release that comes while the move is under way waits for it, so it goes to the store
 * that holds the lease.
 */
import type { CommitArgs, CommitResult, HealthStore, Lease, ProbeResult, Release, ServerStatus, StoreServer, SystemStats, Tombstone } from './HealthStore';
import { MemoryHealthStore } from './MemoryHealthStore';
import type { RedisHealthStore } from './RedisHealthStore';
import { isUnavailableError, waitReady } from './redisConnection';

export interface StoreLogger {
	warn(message: string): void;
	info?(message: string): void;
}

export interface FallbackOptions {
	logger?: StoreLogger;
	/** How often to try Redis again while on memory (default 5 000 ms). */
	retryMs?: number;
	/** How long the first call waits for the initial connection (default 2 000 ms). */
	connectWaitMs?: number;
	/** The memory store to use while Redis is away (default: a new one with the Redis store's options). */
	memory?: MemoryHealthStore;
}

export class FallbackHealthStore implements HealthStore {
	readonly kind = 'fallback' as const;
	readonly memory: MemoryHealthStore;
	private usingMemory = false;
	/** Memory leases being moved to Redis, and the move. */
	private readonly moving = new Map<Lease, Promise<unknown>>();
	private nextRetryAt = 0;
	private firstCall = true;
	private readonly retryMs: number;

	constructor(
		readonly redis: RedisHealthStore,
		private readonly options: FallbackOptions = {},
	) {
		this.memory = options.memory ?? new MemoryHealthStore(redis.options);
		this.retryMs = options.retryMs ?? 5_000;
	}

	/** The store in use now. */
	get active(): 'redis' | 'memory' {
		return this.usingMemory ? 'memory' : 'redis';
	}

	get roundTrips(): number {
		return this.redis.roundTrips;
	}

	renew(lease: Lease, ttlMs: number): Promise<boolean> {
		if (lease.store === 'memory') return this.onRedis(() => this.moveToRedis(lease, ttlMs), () => this.memory.renew(lease, ttlMs));
		// A Redis lease cannot be renewed while Redis is away; report it as live so the scene goes on.
		return this.onRedis(() => this.redis.renew(lease, ttlMs), async () => true);
	}

	retake(lease: Lease, ttlMs: number): Promise<boolean> {
		if (lease.store === 'memory') return this.memory.retake(lease, ttlMs);
		// Redis away: it cannot hold the lease now; the next renewal tries again.
		return this.onRedis(() => this.redis.retake(lease, ttlMs), async () => false);
	}

	async commit(args: CommitArgs): Promise<CommitResult> {
		const releases = args.release ?? [];
		await Promise.all(releases.map((r) => this.moving.get(r.lease)?.catch(() => undefined)));
		const local = releases.filter((r) => r.lease.store === 'memory');
		const shared = releases.filter((r) => r.lease.store !== 'memory');
		const { released: localReleased } = await this.memory.commit({ release: local });
		// Redis away: its leases expire by themselves; their outcomes are recorded locally meanwhile.
		const result = await this.call((store) => store.commit({ release: shared, reserve: args.reserve }));
		const byLease = new Map<Release, boolean>();
		local.forEach((r, i) => byLease.set(r, localReleased[i]));
		shared.forEach((r, i) => byLease.set(r, result.released[i]));
		return { released: releases.map((r) => byLease.get(r) ?? false), reserved: result.reserved };
	}

	recordProbes(results: readonly ProbeResult[]): Promise<void> {
		return this.call((store) => store.recordProbes(results));
	}

	addTombstones(tombstones: readonly Tombstone[]): Promise<void> {
		return this.call((store) => store.addTombstones(tombstones));
	}

	removeTombstones(tombstones: ReadonlyArray<Pick<Tombstone, 'serverId' | 'promptId'>>): Promise<void> {
		return this.call((store) => store.removeTombstones(tombstones));
	}

	recordSystemStats(serverId: string, stats: SystemStats): Promise<void> {
		return this.call((store) => store.recordSystemStats(serverId, stats));
	}

	snapshot(servers: readonly StoreServer[]): Promise<ServerStatus[]> {
		return this.call((store) => store.snapshot(servers));
	}

	staleServers<T extends StoreServer>(servers: readonly T[], maxAgeMs: number): Promise<T[]> {
		return this.call((store) => store.staleServers(servers, maxAgeMs));
	}

	async close(): Promise<void> {
		await this.redis.close();
		await this.memory.close();
	}

	/** Puts a memory lease into Redis, where every worker counts it, and drops it from memory. */
	private async moveToRedis(lease: Lease, ttlMs: number): Promise<boolean> {
		const move = this.redis.retake(lease, ttlMs);
		this.moving.set(lease, move);
		try {
			await move;
		} finally {
			this.moving.delete(lease);
		}
		this.memory.forget(lease);
		lease.store = 'redis';
		return true;
	}

	private call<T>(fn: (store: HealthStore) => Promise<T>): Promise<T> {
		return this.onRedis(() => fn(this.redis), () => fn(this.memory));
	}

	private async onRedis<T>(viaRedis: () => Promise<T>, viaMemory: () => Promise<T>): Promise<T> {
		const now = Date.now();
		if (this.usingMemory && (now < this.nextRetryAt || this.redis.redis.status !== 'ready')) {
			if (now >= this.nextRetryAt) this.nextRetryAt = now + this.retryMs;
			return viaMemory();
		}
		if (this.firstCall) {
			this.firstCall = false;
			await waitReady(this.redis.redis, this.options.connectWaitMs ?? 2_000);
		}
		try {
			const result = await viaRedis();
			if (this.usingMemory) {
				this.usingMemory = false;
				this.options.logger?.info?.('Redis answers again: cluster state is shared through Redis once more');
			}
			return result;
		} catch (error) {
			if (!isUnavailableError(error)) throw error;
			if (!this.usingMemory) {
				this.usingMemory = true;
				this.options.logger?.warn(
					`Redis is unreachable (${error instanceof Error ? error.message : String(error)}); this process keeps cluster state in memory until Redis answers again`,
				);
			}
			this.nextRetryAt = Date.now() + this.retryMs;
			return viaMemory();
		}
	}
}
