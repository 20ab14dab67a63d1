/**
 * Which models each server holds, and what a scene costs there for the models it does not hold:
 * ComfyUI loads a model from disk the first time a prompt needs it and keeps it while the next prompt
 * uses the same loader with the same inputs (its execution cache; one prompt with other models in
 * between evicts it). A server holds the models of the last prompt of ours it ran; each model's
 * load time per server is learned from the websocket's node timing.
 */
import type { ModelLoad } from '../../comfyui/workflow';
import type { NodeTimings } from '../../comfyui/client';
import { LOAD_PREFIX } from './durationModel';

/** What a scene leaves resident: one key per loader (its files joined), sorted. */
export function modelKeys(loads: readonly ModelLoad[]): string[] {
	return [...new Set(loads.map((l) => l.files.join('+')))].sort();
}

/** The loads a run paid (model key → ms): its loaders that ran, not from the cache, and were timed. */
export function paidLoads(loads: readonly ModelLoad[], nodes: NodeTimings): Record<string, number> {
	const cached = new Set(nodes.cached);
	const paid: Record<string, number> = {};
	for (const load of loads) {
		const ms = nodes.ms[load.nodeId];
		if (cached.has(load.nodeId) || ms === undefined) continue;
		const key = load.files.join('+');
		paid[key] = (paid[key] ?? 0) + ms;
	}
	return paid;
}

/**
 * Seconds a model load is priced at before any load was timed in the cluster: about what a
 * checkpoint of a few GB takes from a local SSD. It makes scenes of one model gather from the first
 * placement on; the first timed load replaces it.
 */
export const DEFAULT_LOAD_SECONDS = 2;

export interface LoadSample {
	serverId: string;
	model: string;
	seconds: number;
}

/** The load samples among a server status's averages. */
export function loadSamplesOf(statuses: ReadonlyArray<{ id: string; ewma: Record<string, { seconds: number }> }>): LoadSample[] {
	return statuses.flatMap((s) =>
		Object.entries(s.ewma).flatMap(([key, e]) => (key.startsWith(LOAD_PREFIX) ? [{ serverId: s.id, model: key.slice(LOAD_PREFIX.length), seconds: e.seconds }] : [])),
	);
}

export class Residency {
	private readonly measured = new Map<string, number>();
	private readonly byModel = new Map<string, number[]>();
	private readonly byServer = new Map<string, number[]>();
	private readonly overall: number;

	constructor(
		samples: readonly LoadSample[],
		private readonly resident: ReadonlyMap<string, readonly string[]>,
	) {
		for (const s of samples) {
			if (!(s.seconds >= 0)) continue;
			this.measured.set(`${s.serverId}|${s.model}`, s.seconds);
			this.byModel.set(s.model, [...(this.byModel.get(s.model) ?? []), s.seconds]);
			this.byServer.set(s.serverId, [...(this.byServer.get(s.serverId) ?? []), s.seconds]);
		}
		this.overall = mean([...this.measured.values()]) ?? DEFAULT_LOAD_SECONDS;
	}

	/** The models the server holds now, as far as this cluster knows (undefined: nothing known). */
	residentOn(serverId: string): readonly string[] | undefined {
		return this.resident.get(serverId);
	}

	/**
	 * Seconds to load a model on a server: measured there, else as long as on the other servers
	 * (the same file), else as long as this server's other models, else the cluster's average load
	 * (DEFAULT_LOAD_SECONDS before any).
	 */
	loadSeconds(serverId: string, model: string): number {
		return this.measured.get(`${serverId}|${model}`) ?? mean(this.byModel.get(model)) ?? mean(this.byServer.get(serverId)) ?? this.overall;
	}

	/** Seconds of loading a scene needing `models` pays on a server that holds `resident` then. */
	cost(serverId: string, models: readonly string[], resident: readonly string[] | undefined): number {
		let seconds = 0;
		for (const model of models) if (!resident?.includes(model)) seconds += this.loadSeconds(serverId, model);
		return seconds;
	}
}

function mean(values: readonly number[] | undefined): number | undefined {
	return values && values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}
