/**
 * What the Cluster Status and Free Memory operations do: probe every server now, record what was
 * learned for every worker, and report per server.
 */
import type { ClusterRuntime } from './types';
import { describeSameServer, sameServers, type ResolveHost } from './duplicates';
import type { ServerSpec } from './serverSpec';
import type { SystemStats as SystemStatsReply } from '../comfyui/client';
import type { Reachability } from './liveness';
import { LOAD_PREFIX, WORK_KEY } from './planning/durationModel';
import type { SystemStats } from './store/types';

const PROBE_TIMEOUT_MS = 3000;

export interface ServerStatusRow {
	server: string;
	serverId: string;
	weight: number;
	max: number;
	tags: string[];
	reachable: boolean;
	/** As this process sees it now: `down` (refused), `silent` (no answer in time) or `up`. */
	reachability: Reachability;
	error: string | null;
	breaker: 'closed' | 'open' | 'half-open';
	breakerOpenUntil: string | null;
	queueRemaining: number | null;
	/** Entries of its queue that no execution of this cluster submitted (someone else's work). */
	queueExternal: number | null;
	inFlight: number;
	ewmaSeconds: Record<string, { seconds: number; samples: number }>;
	/** Learned seconds per work unit (one sampling step on a 512² image), over every scene it ran. */
	secondsPerWorkUnit: number | null;
	/** Prompts abandoned there while it did not answer, still to be removed. */
	abandonedPrompts: number;
	/** The models its last prompt of this cluster left loaded (null: not known). */
	residentModels: string[] | null;
	/** Learned seconds to load each model there. */
	modelLoadSeconds: Record<string, number>;
	vramFree: number | null;
	vramTotal: number | null;
	ramFree: number | null;
	ramTotal: number | null;
	lastError: string | null;
	lastErrorAt: string | null;
	store: string;
	/** Set when another entry of the list is this same server (its `max` would count twice). */
	warning: string | null;
}

export async function clusterStatus(
	runtime: ClusterRuntime & { activeStore?: () => string },
	signal?: AbortSignal,
	options: { resolve?: ResolveHost } = {},
): Promise<ServerStatusRow[]> {
	const { servers, store } = runtime;
	// The queue probe is this process's: an answer also brings a server marked down back at once.
	const probes = await Promise.all(
		servers.map(async (server) => {
			const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
			const [queue, stats] = await Promise.all([
				runtime.prober.probe(server.id, signal),
				runtime
					.clientFor(server.id)
					.systemStats({ signal: signal ? AbortSignal.any([signal, timeout]) : timeout })
					.catch(() => undefined),
			]);
			return { server, queue, stats };
		}),
	);
	await Promise.all(probes.filter((p) => p.stats).map((p) => store.recordSystemStats(p.server.id, memoryOf(p.stats!)).catch(() => undefined)));
	const snapshot = await store.snapshot(servers);
	const warnings = new Map<string, string>();
	for (const group of await sameServers(probes.flatMap((p) => (p.stats ? [{ url: p.server.url, stats: p.stats }] : [])), options.resolve)) {
		const warning = describeSameServer(group);
		runtime.logger?.warn(`Cluster Status: ${warning}`);
		for (const url of group) warnings.set(url, warning);
	}
	const now = Date.now();
	return probes.map(({ server, queue }) => {
		const s = snapshot.find((x) => x.id === server.id);
		const open = s && s.breaker.phase !== 'closed';
		const { [WORK_KEY]: rate, ...averages } = s?.ewma ?? {};
		const ewma = Object.fromEntries(Object.entries(averages).filter(([key]) => !key.startsWith(LOAD_PREFIX)));
		const loads = Object.fromEntries(Object.entries(averages).flatMap(([key, e]) => (key.startsWith(LOAD_PREFIX) ? [[key.slice(LOAD_PREFIX.length), e.seconds]] : [])));
		return {
			server: server.url,
			serverId: server.id,
			weight: server.weight,
			max: server.max,
			tags: server.tags,
			reachable: queue.ok,
			reachability: runtime.liveness.get(server.id)?.state ?? 'up',
			error: queue.ok ? null : queue.error ?? 'unreachable',
			breaker: s ? (s.breaker.phase === 'open' && s.breaker.openUntil <= now ? 'half-open' : s.breaker.phase) : 'closed',
			breakerOpenUntil: open && s!.breaker.openUntil > now ? new Date(s!.breaker.openUntil).toISOString() : null,
			queueRemaining: queue.ok ? queue.total ?? null : null,
			queueExternal: queue.ok ? queue.external ?? null : null,
			inFlight: s?.inFlight ?? 0,
			ewmaSeconds: ewma,
			secondsPerWorkUnit: rate?.seconds ?? null,
			abandonedPrompts: s?.tombstones?.length ?? 0,
			residentModels: s?.resident?.models ?? null,
			modelLoadSeconds: loads,
			vramFree: s?.system?.vramFree ?? null,
			vramTotal: s?.system?.vramTotal ?? null,
			ramFree: s?.system?.ramFree ?? null,
			ramTotal: s?.system?.ramTotal ?? null,
			lastError: s?.lastError?.message ?? null,
			lastErrorAt: s?.lastError ? new Date(s.lastError.at).toISOString() : null,
			store: runtime.activeStore?.() ?? runtime.store.kind,
			warning: warnings.get(server.url) ?? null,
		} as ServerStatusRow;
	});
}

/** Free and total VRAM (first device) and RAM from `/system_stats`, in bytes. */
export function memoryOf(stats: SystemStatsReply): SystemStats {
	const device = stats.devices?.[0];
	return {
		vramFree: device?.vram_free ?? 0,
		vramTotal: device?.vram_total ?? 0,
		ramFree: stats.system?.ram_free ?? 0,
		ramTotal: stats.system?.ram_total ?? 0,
	};
}

/**
 * Reads `/system_stats` of every server (in parallel, short timeout) and records the memory figures,
 * so the store's filters can skip servers under memory pressure.
 */
export async function refreshSystemStats(runtime: ClusterRuntime, servers: readonly ServerSpec[], signal?: AbortSignal): Promise<void> {
	await Promise.all(servers.map((server) => liveMemory(runtime, server.id, signal)));
}

/**
 * A server's memory now, recorded for every worker; undefined when it does not say within
 * `timeoutMs` (an unreachable server shows up in its probe and breaker, not here).
 */
export async function liveMemory(runtime: ClusterRuntime, serverId: string, signal?: AbortSignal, timeoutMs = PROBE_TIMEOUT_MS): Promise<SystemStats | undefined> {
	const timeout = AbortSignal.timeout(timeoutMs);
	try {
		const stats = memoryOf(await runtime.clientFor(serverId).systemStats({ signal: signal ? AbortSignal.any([signal, timeout]) : timeout }));
		await runtime.store.recordSystemStats(serverId, stats).catch(() => undefined);
		return stats;
	} catch {
		return undefined;
	}
}

export interface FreeResult {
	server: string;
	serverId: string;
	freed: boolean;
	error?: string;
}

export async function freeMemory(
	runtime: ClusterRuntime,
	targets: readonly ServerSpec[],
	options: { unloadModels: boolean; freeMemory: boolean; signal?: AbortSignal },
): Promise<FreeResult[]> {
	return Promise.all(
		targets.map(async (server) => {
			try {
				await runtime.clientFor(server.id).free({ unloadModels: options.unloadModels, freeMemory: options.freeMemory, signal: options.signal });
				return { server: server.url, serverId: server.id, freed: true };
			} catch (error) {
				return { server: server.url, serverId: server.id, freed: false, error: error instanceof Error ? error.message : String(error) };
			}
		}),
	);
}
