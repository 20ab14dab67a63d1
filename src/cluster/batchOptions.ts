/**
 * How a batch is tuned: the options a caller may set and the defaults every room of the scheduler
 * reads, resolved once.
 */
import type { BackoffOptions } from '../util/backoff';
import type { StrategyName } from './strategy';
import type { BatchEvent } from './types';

export interface BatchOptions {
	strategy: StrategyName;
	/** Scenes in flight at once for this batch (default: Σ servers' max). */
	concurrency?: number;
	signal?: AbortSignal;
	leaseTtlMs?: number;
	backoff?: BackoffOptions;
	/** Move waiting scenes to idle servers (default true). */
	rebalance?: boolean;
	/**
	 * Model affinity (default true): a scene is priced with the load of every model its server does
	 * not hold, so scenes of one model gather on the servers that hold it (`leastLoaded`, `fastest`).
	 */
	affinity?: boolean;
	/**
	 * Memory-aware admission (default true): before a heavy scene (a video) starts, the server's live
	 * memory must hold its learned working set, else the server frees memory first (memory.ts).
	 */
	memoryAware?: boolean;
	/** Heavy scenes (videos) of this batch one server runs at a time (default 1; 0: no limit of its own). */
	heavyPerServer?: number;
	onEvent?(event: BatchEvent): void;
	/** How often the scheduler re-reads the shared state while scenes wait (default 1 s). */
	refreshMs?: number;
	/** Probe idle servers whose last probe (by any worker) is older than this (default 3 s). */
	probeMaxAgeMs?: number;
	/** Probe servers that hold our scenes this often (default 1 s): how soon a frozen server is noticed. */
	livenessMs?: number;
	/**
	 * A running scene whose server stopped answering is retried elsewhere this long after it was
	 * expected to end (default 3 s). Its waiting scenes move at once.
	 */
	silentGraceMs?: number;
	/**
	 * Retry a running scene elsewhere once every poll of its server failed for this long (default 10 s).
	 * ComfyUI keeps its queue in memory, so a server that is down this long has lost the prompt.
	 */
	unreachableMs?: number;
}

export type ResolvedBatchOptions = Required<Omit<BatchOptions, 'concurrency' | 'signal' | 'onEvent'>> & Pick<BatchOptions, 'signal' | 'onEvent'> & { concurrency: number };

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 4000, factor: 2, jitter: 0.2 };

export function resolveBatchOptions(options: BatchOptions, servers: ReadonlyArray<{ max: number }>): ResolvedBatchOptions {
	const totalMax = servers.reduce((sum, s) => sum + s.max, 0);
	return {
		strategy: options.strategy,
		concurrency: Math.max(1, options.concurrency || totalMax),
		signal: options.signal,
		onEvent: options.onEvent,
		leaseTtlMs: options.leaseTtlMs ?? 60_000,
		backoff: options.backoff ?? DEFAULT_BACKOFF,
		rebalance: options.rebalance ?? true,
		affinity: options.affinity ?? true,
		memoryAware: options.memoryAware ?? true,
		heavyPerServer: Math.max(0, Math.floor(options.heavyPerServer ?? 1)),
		refreshMs: options.refreshMs ?? 1_000,
		probeMaxAgeMs: options.probeMaxAgeMs ?? 3_000,
		livenessMs: options.livenessMs ?? 1_000,
		silentGraceMs: options.silentGraceMs ?? 3_000,
		unreachableMs: options.unreachableMs ?? 10_000,
	};
}
