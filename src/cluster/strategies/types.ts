/**
 * What a strategy sees: one snapshot of the cluster, taken by a HealthStore, and one request.
 * Strategies are pure; `lua/includes/choose.lua` mirrors them for the Redis store, and the shared
 * store test suite proves both pick the same servers.
 */
import type { BreakerState } from '../breaker';

export type StrategyName = 'leastLoaded' | 'weighted' | 'fastest' | 'roundRobin';
export const STRATEGY_NAMES: readonly StrategyName[] = ['leastLoaded', 'weighted', 'fastest', 'roundRobin'];

export interface SystemStats {
	vramFree: number;
	vramTotal: number;
	ramFree: number;
	ramTotal: number;
}

export interface ServerSnapshot {
	id: string;
	weight: number;
	max: number;
	/** Live leases on this server, cluster-wide. */
	inFlight: number;
	/** Last seen ComfyUI `queue_remaining` (running + pending, ours included) and its age. */
	queueRemaining?: number;
	queueAgeMs?: number;
	breaker: BreakerState;
	/** EWMA execution seconds of this workflow on this server, and how many samples it holds. */
	ewmaSeconds?: number;
	samples: number;
	system?: SystemStats;
	systemAgeMs?: number;
	/** Smooth weighted round robin "current weight". */
	swrrCurrent: number;
}

export interface SelectionOptions {
	/** Skip a server whose VRAM or RAM use is above this fraction (default 0.95). */
	memorySkipAbove: number;
	/** Prefer other servers while this one's VRAM or RAM use is above this fraction (default 0.85). */
	memoryPreferBelow: number;
	/** Effective weight ramps from 10 % to 100 % over this time after a breaker closes (default 30 000). */
	slowStartMs: number;
	/** `fastest` explores (falls back to leastLoaded) until every candidate has this many samples (default 1). */
	minSamples: number;
	/** A `queue_remaining` older than this is ignored (default 60 000). */
	queueStaleMs: number;
	/** System stats older than this are ignored (default 120 000). */
	statsStaleMs: number;
}

export const DEFAULT_SELECTION_OPTIONS: SelectionOptions = {
	memorySkipAbove: 0.95,
	memoryPreferBelow: 0.85,
	slowStartMs: 30_000,
	minSamples: 1,
	queueStaleMs: 60_000,
	statsStaleMs: 120_000,
};

export interface SelectionSnapshot {
	/** In the order of the server list (round robin and SWRR ties follow it). */
	servers: ServerSnapshot[];
	rrCursor: number;
	options: SelectionOptions;
}

export interface SelectionRequest {
	strategy: StrategyName;
	workflowKey: string;
	exclude?: readonly string[];
	now: number;
}

/** Round-robin state to write back after a choice. */
export interface RrUpdate {
	cursor?: number;
	swrr?: Record<string, number>;
}

export type Choice =
	| {
			serverId: string;
			reason: string;
			/** The choice is the half-open trial of its breaker: the store marks the trial taken. */
			trial: boolean;
			panic: boolean;
			rr: RrUpdate;
	  }
	| { none: string };

/** A server that passed the filters, with the numbers every strategy uses. */
export interface Candidate {
	server: ServerSnapshot;
	/** Position in the server list. */
	index: number;
	/** Slow-start multiplier, 0.1..1. */
	slowFactor: number;
	/** weight × slow-start factor. */
	effectiveWeight: number;
	/** max(inFlight, fresh queueRemaining): ComfyUI's queue already counts our own prompts. */
	load: number;
	trial: boolean;
	/** Memory use above `memoryPreferBelow`: chosen only when no other candidate is left. */
	pressured: boolean;
}

export interface StrategyPick {
	candidate: Candidate;
	reason: string;
	rr: RrUpdate;
}

export type Strategy = (candidates: Candidate[], snapshot: SelectionSnapshot) => StrategyPick;
