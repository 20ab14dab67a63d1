/**
 * What one reservation decides from: the store's view of each server (one snapshot, taken inside
 * the store's atomic step), the selection options, and the pick the store makes itself. Shared by
 * the TypeScript selection (`selection/`) and its Lua twin (`lua/includes/choose.lua`).
 */
import type { BreakerState } from '../breaker';

/** Memory of a server as its last `/system_stats` reported it (bytes). */
export interface SystemStats {
	vramFree: number;
	vramTotal: number;
	ramFree: number;
	ramTotal: number;
}

/**
 * How the store picks the server of a reservation. `weighted` and `roundRobin` pick among every
 * server that passes the filters, from pick state shared by all workers; `pinned` reserves on the
 * one server the caller left allowed (a placement planned by planning/).
 */
export type StoreStrategy = 'weighted' | 'roundRobin' | 'pinned';

export interface SelectionOptions {
	/** Skip a server whose VRAM or RAM use is above this fraction (default 0.95). */
	memorySkipAbove: number;
	/** Prefer other servers while this one's VRAM or RAM use is above this fraction (default 0.85). */
	memoryPreferBelow: number;
	/** Effective weight ramps from 10 % to 100 % over this time after a breaker closes (default 30 000). */
	slowStartMs: number;
	/** System stats older than this are ignored (default 120 000). */
	statsStaleMs: number;
}

export const DEFAULT_SELECTION_OPTIONS: SelectionOptions = {
	memorySkipAbove: 0.95,
	memoryPreferBelow: 0.85,
	slowStartMs: 30_000,
	statsStaleMs: 120_000,
};

export interface ServerSnapshot {
	id: string;
	weight: number;
	max: number;
	/** Live leases on this server, cluster-wide. */
	inFlight: number;
	breaker: BreakerState;
	system?: SystemStats;
	systemAgeMs?: number;
	/** Smooth weighted round robin "current weight". */
	swrrCurrent: number;
}

export interface SelectionSnapshot {
	/** In the order of the server list (round robin and SWRR ties follow it). */
	servers: ServerSnapshot[];
	rrCursor: number;
	options: SelectionOptions;
}

export interface SelectionRequest {
	strategy: StoreStrategy;
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

/** A server that passed the filters, with the numbers the picks use. */
export interface Candidate {
	server: ServerSnapshot;
	/** Position in the server list. */
	index: number;
	/** weight × slow-start factor (0.1..1 while the server ramps up after its breaker closed). */
	effectiveWeight: number;
	trial: boolean;
	/** Memory use above `memoryPreferBelow`: chosen only when no other candidate is left. */
	pressured: boolean;
}

export interface StorePick {
	candidate: Candidate;
	reason: string;
	rr: RrUpdate;
}

/** One of the store's picks: which of the candidates (never empty) gets the lease. */
export type PickFunction = (candidates: Candidate[], snapshot: SelectionSnapshot) => StorePick;
