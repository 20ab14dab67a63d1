/**
 * Expected execution time of a workflow on a server, learned from EWMA samples.
 *
 * Times are modelled as `seconds(server, workflow) = speed(server) × cost(workflow)`, fitted in log
 * space (log t = a_s + b_w) from every (server, workflow) pair that has samples. Besides the pairs,
 * each server keeps the seconds per work unit of every scene it ran (`expectedWork` of the graph):
 * those enter the fit as the pseudo-workflow `WORK_KEY` of one unit. So every scene teaches the
 * cluster its servers' speeds, even when no two scenes share a workflow, and a workflow never timed
 * is priced from the work its graph asks for.
 *
 * A server never measured counts as fast as its weight says, relative to the measured ones (all
 * weights 1: as fast as the average measured server).
 */

export interface DurationSample {
	serverId: string;
	workflowKey: string;
	seconds: number;
}

/** The pseudo-workflow of one work unit: samples under it are a server's seconds per work unit. */
export const WORK_KEY = '#work';

/** Averages under `#load:<model>` are the seconds a server takes to load that model: not workflows, kept out of the fit. */
export const LOAD_PREFIX = '#load:';

export function loadKey(model: string): string {
	return `${LOAD_PREFIX}${model}`;
}

const FIT_ROUNDS = 12;
/**
 * Seconds per work unit (one step on a 512² image) on an average server before anything was timed:
 * a mid-range GPU. Only the ratios between workflows and servers matter until the first sample.
 */
export const DEFAULT_SECONDS_PER_WORK = 0.1;

export interface DurationModelInput {
	/** EWMA seconds per (server, workflow); `WORK_KEY` samples are seconds per work unit. */
	samples?: readonly DurationSample[];
	/** Expected work units per workflow key, for the workflows about to run. */
	work?: ReadonlyMap<string, number>;
	/** Server weights: the prior speed of servers never measured (default 1). */
	weights?: ReadonlyMap<string, number>;
}

/** The speed averages of the store's server statuses, as samples. */
export function samplesOf(statuses: ReadonlyArray<{ id: string; ewma: Record<string, { seconds: number }> }>): DurationSample[] {
	return statuses.flatMap((s) =>
		Object.entries(s.ewma).flatMap(([workflowKey, e]) => (workflowKey.startsWith(LOAD_PREFIX) ? [] : [{ serverId: s.id, workflowKey, seconds: e.seconds }])),
	);
}

export class DurationModel {
	private readonly measured = new Map<string, number>();
	private readonly serverTerm = new Map<string, number>();
	private readonly workflowTerm = new Map<string, number>();
	private readonly work: ReadonlyMap<string, number>;
	private readonly weights: ReadonlyMap<string, number>;
	/** Log seconds per work unit on an average measured server. */
	private readonly logSecondsPerWork: number;
	/** Server term of a server of weight 1 that was never measured. */
	private readonly unmeasuredTerm: number;

	constructor(input: DurationModelInput = {}) {
		this.work = new Map([...(input.work ?? []), [WORK_KEY, 1]]);
		this.weights = input.weights ?? new Map();
		const usable = (input.samples ?? []).filter((s) => Number.isFinite(s.seconds) && s.seconds > 0);
		for (const s of usable) this.measured.set(pairKey(s.serverId, s.workflowKey), s.seconds);
		this.fit(usable);
		const rates = [...this.workflowTerm].flatMap(([key, term]) => {
			const units = this.work.get(key);
			return units !== undefined && units > 0 ? [term - Math.log(units)] : [];
		});
		this.logSecondsPerWork = rates.length > 0 ? mean(rates) : Math.log(DEFAULT_SECONDS_PER_WORK);
		// Measured servers are centred on 0; the unmeasured ones are as fast as their weight says
		// compared with the measured ones' weights.
		const measuredWeights = [...this.serverTerm.keys()].map((id) => Math.log(this.weightOf(id)));
		this.unmeasuredTerm = measuredWeights.length > 0 ? mean(measuredWeights) : mean([...this.weights.values()].map((w) => Math.log(positive(w))));
	}

	/** Whether any server has run this workflow. */
	knows(workflowKey: string): boolean {
		return this.workflowTerm.has(workflowKey);
	}

	/** Whether this server has finished anything the model knows of. */
	hasMeasured(serverId: string): boolean {
		return this.serverTerm.has(serverId);
	}

	/**
	 * Expected seconds of `workflowKey` on `serverId`: measured, predicted from the other servers and
	 * workflows, or priced from its work (one unit when its work is unknown too).
	 */
	estimate(serverId: string, workflowKey: string): number {
		const direct = this.measured.get(pairKey(serverId, workflowKey));
		if (direct !== undefined) return direct;
		const a = this.serverTerm.get(serverId) ?? this.unmeasuredTerm - Math.log(this.weightOf(serverId));
		const b = this.workflowTerm.get(workflowKey);
		if (b !== undefined) return Math.exp(a + b);
		return Math.exp(a + this.logSecondsPerWork) * positive(this.work.get(workflowKey) ?? 1);
	}

	private weightOf(serverId: string): number {
		return positive(this.weights.get(serverId) ?? 1);
	}

	private fit(samples: readonly DurationSample[]): void {
		if (samples.length === 0) return;
		const logs = samples.map((s) => ({ ...s, log: Math.log(s.seconds) }));
		for (const s of logs) {
			this.serverTerm.set(s.serverId, 0);
			this.workflowTerm.set(s.workflowKey, 0);
		}
		for (let round = 0; round < FIT_ROUNDS; round++) {
			averageInto(this.workflowTerm, logs, (s) => s.workflowKey, (s) => s.log - (this.serverTerm.get(s.serverId) ?? 0));
			averageInto(this.serverTerm, logs, (s) => s.serverId, (s) => s.log - (this.workflowTerm.get(s.workflowKey) ?? 0));
			// Keep server terms centred so the measured servers average 0.
			const centre = mean([...this.serverTerm.values()]);
			for (const [id, value] of this.serverTerm) this.serverTerm.set(id, value - centre);
		}
		averageInto(this.workflowTerm, logs, (s) => s.workflowKey, (s) => s.log - (this.serverTerm.get(s.serverId) ?? 0));
	}
}

function pairKey(serverId: string, workflowKey: string): string {
	return `${serverId}\u0000${workflowKey}`;
}

function positive(value: number): number {
	return Number.isFinite(value) && value > 0 ? value : 1;
}

function mean(values: readonly number[]): number {
	return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

function averageInto<T>(target: Map<string, number>, rows: readonly T[], key: (row: T) => string, value: (row: T) => number): void {
	const sums = new Map<string, { total: number; count: number }>();
	for (const row of rows) {
		const k = key(row);
		const entry = sums.get(k) ?? { total: 0, count: 0 };
		entry.total += value(row);
		entry.count += 1;
		sums.set(k, entry);
	}
	for (const [k, { total, count }] of sums) target.set(k, total / count);
}
