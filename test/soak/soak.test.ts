/**
 * A small chaos soak in the suite (the full one is `npm run soak`): 40 scenes over 4 simulators and
 * 2 worker processes sharing the test Redis, faults in 20 % of the submissions from a fixed seed.
 */
import { runSoak } from './soak';

// The workers are ts-node processes: compiling them takes tens of seconds on a loaded 2-core machine.
jest.setTimeout(150_000);

it('survives random faults: every scene ends once, as a success or a clear error, within every max', async () => {
	const report = await runSoak({ seed: 4242, scenes: 40, servers: 4, workers: 2, rate: 0.2, steps: 6, deadlineMs: 120_000 });
	if (report.violations.length) console.log(report.summary);
	expect(report.violations).toEqual([]);
	expect(report.stats.ok + report.stats.failed).toBe(40);
	// The poisoned scenes fail with their node's error; the faults did happen.
	expect(report.stats.failed).toBeGreaterThanOrEqual(report.stats.poisoned);
	expect(report.stats.faults).toBeGreaterThan(0);
});
