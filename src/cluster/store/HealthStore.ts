/**
 * What every store of the cluster's shared state offers: leases (in-flight scenes), breakers, last
 * seen queue lengths, system stats, speed averages per (server, workflow), abandoned prompts and
 * last errors, changed only through atomic steps (`commit` takes and hands back slots).
 * `MemoryHealthStore` keeps it in this process; `RedisHealthStore` in Redis for every n8n worker;
 * `FallbackHealthStore` uses Redis and drops to memory while Redis is unreachable.
 */
import { DEFAULT_BREAKER_OPTIONS, type BreakerOptions, type BreakerPhase } from '../breaker';
import type { ServerSpec } from '../serverSpec';
import { DEFAULT_SELECTION_OPTIONS, type SelectionOptions, type StoreStrategy, type SystemStats } from './types';

export type { StoreStrategy, SystemStats } from './types';

export type StoreKind = 'memory' | 'redis';

/** A reserved slot on one server; renew it while the scene runs, release it once. */
export interface Lease {
	id: string;
	serverId: string;
	/** When it expires, in this process's clock (from its TTL; the store keeps it in its own clock). */
	expiresAt: number;
	/** The store that issued it (a fallback store routes renew/release back to it). */
	store: StoreKind;
}

export type OutcomeKind = 'success' | 'transient' | 'workflow' | 'cancelled';

/**
 * How a scene ended on its server. `transient` counts against the breaker; `success` and `workflow`
 * (the server answered: invalid graph or node exception) count as the server working; `cancelled`
 * counts as nothing.
 */
export interface Outcome {
	kind: OutcomeKind;
	workflowKey: string;
	/** Execution time on the server; feeds the speed average on success. */
	executionMs?: number;
	/** Expected work units of the scene (`expectedWork`): its time also teaches the server's seconds per unit. */
	work?: number;
	/** Shown in Cluster Status as the server's last error (transient only). Must be free of secrets. */
	error?: string;
	/** Model loads the run paid (model key → ms): each teaches that model's load time on the server. */
	loads?: Record<string, number>;
	/** The model keys the run left resident on the server (success only). */
	resident?: string[];
}

/** The subset of a server spec the stores need. */
export type StoreServer = Pick<ServerSpec, 'id' | 'weight' | 'max'> & Partial<Pick<ServerSpec, 'url'>>;

/** One reservation: the servers in list order, how to pick among them, and the ones this scene may not use. */
export interface SelectArgs {
	servers: readonly StoreServer[];
	strategy: StoreStrategy;
	exclude?: readonly string[];
	leaseTtlMs: number;
	options?: Partial<SelectionOptions>;
}

export type SelectResult = { lease: Lease; reason: string; trial: boolean; panic: boolean } | { none: string };

/** A finished scene's lease and how the scene ended. */
export interface Release {
	lease: Lease;
	outcome: Outcome;
	/**
	 * Keep the lease, renewed for this long, instead of freeing its slot: the slot passes straight to
	 * another scene of the caller on the same server. A lease that was lost (expired, or Redis restarted
	 * or was flushed) is put back as `retake` does: that next scene already runs there. `released` says
	 * which had been lost.
	 */
	keepTtlMs?: number;
}

/**
 * Releases first, then reservations in order; each reservation drops expired leases, filters,
 * picks a server and reserves a lease on it.
 */
export interface CommitArgs {
	release?: readonly Release[];
	reserve?: readonly SelectArgs[];
}

export interface CommitResult {
	/** Per release, in order: whether the lease was still live. */
	released: boolean[];
	/** Per reservation, in order. */
	reserved: SelectResult[];
}

export interface ProbeResult {
	serverId: string;
	/** false counts as a transient failure for the server's breaker (a refused connection opens it quickly). */
	ok: boolean;
	queueRemaining?: number;
	/** Entries of its queue that this cluster did not submit (told apart by client id). */
	external?: number;
	/** The connection was refused (nothing listens): opens the breaker at once. */
	refused?: boolean;
	error?: string;
}

/** A prompt abandoned on a server that did not answer: to be removed when it answers again. */
export interface Tombstone {
	serverId: string;
	promptId: string;
	/** When it was abandoned (ms). */
	at: number;
}

export interface ServerStatus {
	id: string;
	url?: string;
	weight: number;
	max: number;
	breaker: { phase: BreakerPhase; failures: number; ejections: number; openUntil: number; lastFailureAt: number; recoveredAt: number };
	inFlight: number;
	queueRemaining?: number;
	/** Entries of the queue this cluster did not submit, at the same probe. */
	queueExternal?: number;
	queueAgeMs?: number;
	ewma: Record<string, { seconds: number; samples: number }>;
	/** Prompts abandoned on it that no worker has removed yet. */
	tombstones?: Tombstone[];
	/** The models its last prompt of this cluster left loaded, and when (this process's clock). */
	resident?: { models: string[]; at: number };
	system?: SystemStats;
	systemAgeMs?: number;
	lastError?: { message: string; at: number };
}

export interface HealthStore {
	readonly kind: StoreKind | 'fallback';
	/** Redis round trips so far (0 for memory). */
	readonly roundTrips: number;
	/** Extends a live lease; false when it already expired or is gone (its slot may be someone else's now). */
	renew(lease: Lease, ttlMs: number): Promise<boolean>;
	/**
	 * Puts back a lease the store lost (it expired, or Redis restarted or was flushed) while its scene
	 * still runs: the slot is in use, so it counts again, even when that puts the server above `max`.
	 * False when the store cannot hold it now (Redis away).
	 */
	retake(lease: Lease, ttlMs: number): Promise<boolean>;
	/**
	 * Releases and reservations as one atomic step (one Redis round trip): a scheduler hands back the
	 * slots of finished scenes and takes new ones in a single exchange. A release frees the slot and
	 * records the outcome (speed average, breaker, last error); a reservation picks a server and
	 * reserves a lease on it.
	 */
	commit(args: CommitArgs): Promise<CommitResult>;
	/** Records the results of queue probes, many servers at once. */
	recordProbes(results: readonly ProbeResult[]): Promise<void>;
	/** Remembers prompts abandoned on servers that did not answer (shown in `snapshot`). */
	addTombstones(tombstones: readonly Tombstone[]): Promise<void>;
	/** Forgets prompts that were removed from their servers. */
	removeTombstones(tombstones: ReadonlyArray<Pick<Tombstone, 'serverId' | 'promptId'>>): Promise<void>;
	recordSystemStats(serverId: string, stats: SystemStats): Promise<void>;
	/** Everything known about these servers; its times (breaker, last error) are in this process's clock (`now`). */
	snapshot(servers: readonly StoreServer[]): Promise<ServerStatus[]>;
	/** Servers whose last probe is older than `maxAgeMs` (or missing). */
	staleServers<T extends StoreServer>(servers: readonly T[], maxAgeMs: number): Promise<T[]>;
	close(): Promise<void>;
}

export interface HealthStoreOptions {
	breaker: BreakerOptions;
	selection: SelectionOptions;
	/** Weight of the newest sample in the speed average (default 0.3). */
	ewmaAlpha: number;
	/**
	 * This process's clock (ms): the memory store's only clock. The Redis store keeps every time in
	 * Redis's own clock, so workers need not agree on the time, and converts what it reports to this one.
	 */
	now: () => number;
	/** Source of breaker jitter. */
	random: () => number;
}

export type HealthStoreOptionsInput = Partial<Omit<HealthStoreOptions, 'breaker' | 'selection'>> & {
	breaker?: Partial<BreakerOptions>;
	selection?: Partial<SelectionOptions>;
};

/** Weight of the newest sample in a speed average, unless the store is configured otherwise. */
export const DEFAULT_EWMA_ALPHA = 0.3;

export function resolveStoreOptions(input: HealthStoreOptionsInput = {}): HealthStoreOptions {
	return {
		breaker: { ...DEFAULT_BREAKER_OPTIONS, ...input.breaker },
		selection: { ...DEFAULT_SELECTION_OPTIONS, ...input.selection },
		ewmaAlpha: input.ewmaAlpha ?? DEFAULT_EWMA_ALPHA,
		now: input.now ?? Date.now,
		random: input.random ?? Math.random,
	};
}

/** Longest last-error text kept per server. */
export const MAX_ERROR_LENGTH = 500;

export function newLeaseId(): string {
	return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}
