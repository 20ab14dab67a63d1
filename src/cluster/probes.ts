/**
 * Health probes on demand (no background timers inside n8n): before a decision, the servers whose
 * cached queue length is older than `maxAgeMs` get one cheap probe each, in parallel, with a short
 * timeout; the results go to the store in one batched call for every worker to use.
 *
 * A failed probe counts as a transient failure for the server's breaker (the store records it so), so
 * a refused connection opens the breaker after `threshold` probes or scenes instead of waiting for
 * scenes to fail on it. A successful probe does not close an open breaker: the half-open trial scene
 * does, because answering `GET /prompt` does not prove the server can run a workflow.
 */
import type { HealthStore, ProbeResult, StoreServer } from './store/HealthStore';

export interface RefreshOptions {
	/** Probe servers whose last probe is older than this (default 3 000 ms). */
	maxAgeMs?: number;
	/** Per-probe timeout (default 1 500 ms). */
	timeoutMs?: number;
	signal?: AbortSignal;
}

export type Probe<T extends StoreServer> = (server: T, signal: AbortSignal) => Promise<{ queueRemaining: number }>;

/** Probes the stale servers and records the results; returns them (empty when nothing was stale). */
export async function refreshStale<T extends StoreServer>(store: HealthStore, servers: readonly T[], probe: Probe<T>, options: RefreshOptions = {}): Promise<ProbeResult[]> {
	const stale = await store.staleServers(servers, options.maxAgeMs ?? 3_000);
	if (stale.length === 0) return [];
	const timeoutMs = options.timeoutMs ?? 1_500;
	const results = await Promise.all(stale.map((server) => probeOne(server, probe, timeoutMs, options.signal)));
	// Our caller aborted: its own cancellation is no evidence against the servers.
	if (options.signal?.aborted) return results;
	await store.recordProbes(results);
	return results;
}

async function probeOne<T extends StoreServer>(server: T, probe: Probe<T>, timeoutMs: number, outer?: AbortSignal): Promise<ProbeResult> {
	const signal = outer ? AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
	let timer: NodeJS.Timeout | undefined;
	try {
		// The probe should honour the signal; the race makes sure a probe that does not still ends in time.
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
		});
		const { queueRemaining } = await Promise.race([probe(server, signal), timeout]);
		return { serverId: server.id, ok: true, queueRemaining };
	} catch (error) {
		return { serverId: server.id, ok: false, error: `probe failed: ${error instanceof Error ? error.message : String(error)}` };
	} finally {
		clearTimeout(timer);
	}
}
