/**
 * Expected execution time of a workflow on a server, learned from EWMA samples.
 *
 * Times are modelled as `seconds(server, workflow) = speed(server) × cost(workflow)`, fitted in log
 * space (log t = a_s + b_w) from the (server, workflow) pairs that have samples. This predicts pairs
 * never measured: a workflow seen only on the fast server gets an estimate on the slow one from how
 * the two compare on other workflows. Servers with no samples at all count as average.
 *
 * A workflow never measured anywhere is priced from the work its graph asks for (steps × latent
 * size, see `expectedWork`) at the seconds per work unit that the measured workflows show.
 */

export interface DurationSample {
	serverId: string;
	workflowKey: string;
	seconds: number;
}

const FIT_ROUNDS = 12;
/**
 * Seconds per work unit (one step on a 512² image) on an average server before anything was timed:
 * a mid-range GPU. Only the ratios between workflows matter until the first sample arrives.
 */
export const DEFAULT_SECONDS_PER_WORK = 0.1;

export class DurationModel {
	private readonly measured = new Map<string, number>();
	private readonly serverTerm = new Map<string, number>();
	private readonly workflowTerm = new Map<string, number>();
	/** Log seconds per work unit, from the measured workflows whose work is known. */
	private readonly logSecondsPerWork: number;

	/** `work`: expected work units per workflow key, for the workflows about to run. */
	constructor(
		samples: readonly DurationSample[],
		private readonly work: ReadonlyMap<string, number> = new Map(),
	) {
		const usable = samples.filter((s) => Number.isFinite(s.seconds) && s.seconds > 0);
		for (const s of usable) this.measured.set(pairKey(s.serverId, s.workflowKey), s.seconds);
		this.fit(usable);
		const rates = [...this.workflowTerm].flatMap(([key, term]) => {
			const units = work.get(key);
			return units !== undefined && units > 0 ? [term - Math.log(units)] : [];
		});
		this.logSecondsPerWork = rates.length > 0 ? rates.reduce((a, b) => a + b, 0) / rates.length : Math.log(DEFAULT_SECONDS_PER_WORK);
	}

	/** Whether any server has run this workflow. */
	knows(workflowKey: string): boolean {
		return this.workflowTerm.has(workflowKey);
	}

	/**
	 * Expected seconds of `workflowKey` on `serverId`: measured, predicted from the other servers, or
	 * priced from its work; undefined for a workflow neither measured nor of known work.
	 */
	estimate(serverId: string, workflowKey: string): number | undefined {
		const direct = this.measured.get(pairKey(serverId, workflowKey));
		if (direct !== undefined) return direct;
		const a = this.serverTerm.get(serverId) ?? 0;
		const b = this.workflowTerm.get(workflowKey);
		if (b !== undefined) return Math.exp(a + b);
		const units = this.work.get(workflowKey);
		if (units === undefined || !(units > 0)) return undefined;
		return Math.exp(a + this.logSecondsPerWork) * units;
	}

	/** Relative speed factor of a server (1 = average; 2 = takes twice as long). */
	slowness(serverId: string): number {
		return Math.exp(this.serverTerm.get(serverId) ?? 0);
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
			// Keep server terms centred so an unmeasured server (term 0) counts as average.
			const terms = [...this.serverTerm.values()];
			const mean = terms.reduce((a, b) => a + b, 0) / terms.length;
			for (const [id, value] of this.serverTerm) this.serverTerm.set(id, value - mean);
		}
		averageInto(this.workflowTerm, logs, (s) => s.workflowKey, (s) => s.log - (this.serverTerm.get(s.serverId) ?? 0));
	}
}

function pairKey(serverId: string, workflowKey: string): string {
	return `${serverId}\u0000${workflowKey}`;
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
