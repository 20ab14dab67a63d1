/**
 * Fault matrix, shared state: Redis dies mid-run (a redis-server of our own, killed with SIGKILL) and
 * Redis unreachable from the start. The run goes on with the state in process memory.
 */
import { loggedLines } from '../workflow/harness';
import { expectAllPromises, expectEachStartedAtMostOnce, redisCredential, scenes, sim, startThrowawayRedis, useMatrix, when, freePort, THROWAWAY_REDIS_HOST } from './matrix';

const matrix = useMatrix();

describe('fault matrix: Redis', () => {
	it('Redis killed mid-run: every scene completes once, the state falls back to memory with one warning', async () => {
		const redis = await startThrowawayRedis();
		matrix.later(() => redis.kill());
		const fleet = await matrix.fleet([sim(), sim(), sim()]);
		const before = loggedLines().length;
		let killedAt = 0;
		const cell = await matrix.generate({
			fleet,
			redis: redisCredential({ host: redis.host, port: redis.port, database: 0 }),
			items: scenes(9, 30_000, { steps: 25 }),
			onStart: () =>
				when(
					() => fleet.servers.reduce((n, s) => n + s.records.started.length, 0) >= 2,
					async () => {
						await redis.kill();
						killedAt = fleet.servers.reduce((n, s) => n + s.records.finished.length, 0);
					},
				),
		});
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(9);
		expectEachStartedAtMostOnce(cell, fleet);
		// Killed while scenes were still to run, so the run really crossed the outage.
		expect(killedAt).toBeLessThan(9);
		expect(cell.generated.at(-1)?.json.store).toBe('memory');
		const warnings = loggedLines()
			.slice(before)
			.filter((l) => /Redis is unreachable/.test(l.message));
		expect(warnings).toHaveLength(1);
	});

	it('Redis unreachable from the start: the run works on memory', async () => {
		const port = await freePort();
		const fleet = await matrix.fleet([sim(), sim()]);
		const cell = await matrix.generate({ fleet, redis: redisCredential({ host: THROWAWAY_REDIS_HOST, port, database: 0 }), items: scenes(4, 31_000) });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(4);
		expectEachStartedAtMostOnce(cell, fleet);
		expect(cell.generated.map((i) => i.json.store)).toEqual(['memory', 'memory', 'memory', 'memory']);
	});
});
