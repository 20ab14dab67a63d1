/**
 * Which strategy a run uses, and where each one decides:
 *
 * - `leastLoaded` and `fastest` decide in src/cluster/planning/: earliest-finish placement. Every
 *   waiting scene goes where it is expected to finish first, from measured speeds (per server and
 *   workflow, and per work unit) and the exact load ahead on each server; in a batch the two plan
 *   the same way. The store then only reserves the planned server (`pinned`).
 * - `weighted` and `roundRobin` decide in src/cluster/store/selection/: the store picks atomically,
 *   inside the reservation, because the pick state (the round-robin cursor, the smooth weighted
 *   round robin weights) is shared by all workers.
 *
 * Every reservation passes the store's filters (max, breaker, memory), whoever decided.
 */
import type { StoreStrategy } from './store/types';

export type StrategyName = 'leastLoaded' | 'weighted' | 'fastest' | 'roundRobin';
export const STRATEGY_NAMES: readonly StrategyName[] = ['leastLoaded', 'weighted', 'fastest', 'roundRobin'];

/** How the store picks a reservation's server under this strategy: itself, or where planning/ placed the scene. */
export function storeStrategy(strategy: StrategyName): StoreStrategy {
	return strategy === 'weighted' || strategy === 'roundRobin' ? strategy : 'pinned';
}
