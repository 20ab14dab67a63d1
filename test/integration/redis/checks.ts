/**
 * What the topology tests check of a batch run by worker processes over a simulated fleet: every
 * scene succeeded and started exactly once in the whole fleet, and from a given time on no prompt
 * was added to a server already at its max.
 */
import type { Fleet } from '../../sim';
import type { WorkerReport } from '../batch/batchWorker';
import { additionsSince, startsBySeed } from '../batch/helpers';

/** Every worker's scenes succeeded; each of the `seeds` started once in the fleet, and nothing else started. */
export function expectEverySceneOnce(fleet: Fleet, reports: readonly WorkerReport[], seeds: readonly number[]): void {
	for (const report of reports) expect(report.results.filter((r) => !r.ok)).toEqual([]);
	expect(reports.reduce((n, r) => n + r.results.length, 0)).toBe(seeds.length);
	const starts = startsBySeed(fleet.servers);
	expect([...starts.keys()].sort((a, b) => a - b)).toEqual([...seeds].sort((a, b) => a - b));
	for (const [seed, count] of starts) expect({ seed, starts: count }).toEqual({ seed, starts: 1 });
}

/** The seeds of a worker's scenes: base, base + 1, … (batchWorker's numbering). */
export function seedsOf(base: number, count: number): number[] {
	return Array.from({ length: count }, (_, i) => base + i);
}

/** Per server (by name), the additions from `from` on that took it above its max. */
export function overfillsSince(fleet: Fleet, maxes: readonly number[], from: number): Record<string, Array<{ at: number; active: number }>> {
	return Object.fromEntries(fleet.servers.map((sim, i) => [sim.name, additionsSince(sim, from).filter((p) => p.active > maxes[i])]));
}
