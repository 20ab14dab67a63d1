/**
 * Whether a server has room for a heavy scene (a video) now, and what to do when it has not: a
 * ComfyUI process that runs out of RAM exits and loses its queue, and a video's working set grows
 * with frames × pixels, kept in memory after the run by the server's cache. Each workflow's working
 * set is learned from the drop in free RAM it caused; before a heavy scene starts, the server's live
 * figures (a fresh `/system_stats`) must leave that much free plus a reserve, else the server is
 * asked to free memory (`POST /free`: unload models, drop the cache) first. Only RAM is checked:
 * ComfyUI moves models out of VRAM when VRAM runs short, it does not exit.
 */
import type { ComfyUiClient } from '../comfyui/client';
import { liveMemory } from './status';
import type { SystemStats } from './store/types';
import type { ClusterRuntime } from './types';

/** RAM a server keeps free beyond a heavy scene's working set, as a fraction of its total. */
export const MEMORY_RESERVE = 0.1;
/** How long a heavy scene's memory reads and /free may take. */
export const STATS_TIMEOUT_MS = 5_000;

/** Whether a working set of `bytes` fits in what the server has free now, reserve kept (pure). */
export function fits(stats: SystemStats, bytes: number | undefined): boolean {
	if (bytes === undefined || !(stats.ramTotal > 0)) return true;
	return stats.ramFree - bytes >= MEMORY_RESERVE * stats.ramTotal;
}

/** The largest drop in free RAM each workflow was seen to cause on any server of this process. */
export class WorkingSets {
	private readonly bytes = new Map<string, number>();

	get(workflowKey: string): number | undefined {
		return this.bytes.get(workflowKey);
	}

	learn(workflowKey: string, before: SystemStats, after: SystemStats): void {
		const drop = before.ramFree - after.ramFree;
		if (!(drop > 0) || !(after.ramTotal > 0)) return;
		this.bytes.set(workflowKey, Math.max(drop, this.bytes.get(workflowKey) ?? 0));
	}
}

const byRuntime = new WeakMap<ClusterRuntime, WorkingSets>();

/** The working sets this process learned on a cluster (kept for as long as its runtime). */
export function workingSetsOf(runtime: ClusterRuntime): WorkingSets {
	let sets = byRuntime.get(runtime);
	if (!sets) byRuntime.set(runtime, (sets = new WorkingSets()));
	return sets;
}

/**
 * Before a heavy scene of `workflowKey` starts on a server: its live memory, after a `/free` when
 * the learned working set would not fit. Undefined when the server does not tell its memory.
 */
export async function makeRoom(runtime: ClusterRuntime, serverId: string, workflowKey: string, signal?: AbortSignal): Promise<{ stats?: SystemStats; freed: boolean }> {
	const stats = await liveMemory(runtime, serverId, signal, STATS_TIMEOUT_MS);
	if (!stats || fits(stats, workingSetsOf(runtime).get(workflowKey))) return { stats, freed: false };
	await freeAll(runtime.clientFor(serverId), signal);
	return { stats: (await liveMemory(runtime, serverId, signal, STATS_TIMEOUT_MS)) ?? stats, freed: true };
}

async function freeAll(client: ComfyUiClient, signal?: AbortSignal): Promise<void> {
	const timeout = AbortSignal.timeout(STATS_TIMEOUT_MS);
	await client.free({ unloadModels: true, freeMemory: true, signal: signal ? AbortSignal.any([signal, timeout]) : timeout }).catch(() => undefined);
}
