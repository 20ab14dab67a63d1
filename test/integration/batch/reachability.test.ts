/**
 * A refusal is news for every scene at once: servers that refuse connections (nothing listens) are
 * left out for every waiting scene as soon as one probe or attempt sees it, and refused attempts
 * before anything was queued do not use up a scene's attempts while another server answers.
 */
import { createServer } from 'net';
import { runBatch } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { startFleet, type Fleet } from '../../sim';
import { CHECKPOINTS, cleanKeys, FAST_BACKOFF, REDIS, scenes, startsBySeed, uniquePrefix } from './helpers';

jest.setTimeout(60_000);

let fleet: Fleet | undefined;
let prefix = '';

afterEach(async () => {
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
	if (prefix) await cleanKeys(prefix);
	prefix = '';
});

/**
 * Addresses on which nothing listens: ports below the ephemeral range (so no outgoing connection
 * of ours can take one and connect to itself) that could be bound, then released.
 */
async function refusingUrls(n: number): Promise<string[]> {
	const ports: number[] = [];
	for (let port = 20_000; ports.length < n && port < 32_000; port++) {
		const free = await new Promise<boolean>((resolve) => {
			const server = createServer();
			server.once('error', () => resolve(false));
			server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
		});
		if (free) ports.push(port);
	}
	return ports.map((port) => `http://127.0.0.1:${port}`);
}

describe('refused connections', () => {
	it('3 refusing servers and one healthy one on a fresh cluster state: every scene succeeds there, no attempt spent', async () => {
		fleet = await startFleet([{ msPerStep: 5, models: CHECKPOINTS }]);
		prefix = uniquePrefix('refusing');
		const dead = await refusingUrls(3);
		const runtime = await getRuntime({ servers: [...dead, ...fleet.urls].join('\n'), redis: REDIS, keyPrefix: prefix });
		const outcomes = await runBatch(runtime, scenes(8, { steps: 3, spec: { maxAttempts: 1 } }), { strategy: 'leastLoaded', backoff: FAST_BACKOFF });
		expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.error.message)).toEqual([]);
		for (const o of outcomes) if (o.ok) expect(o.result.attempts.map((a) => a.outcome)).toEqual(['success']);
		expect(startsBySeed(fleet.servers).size).toBe(8);
		// The refusals reached the store: other workers leave those servers alone too.
		const status = await runtime.store.snapshot(runtime.servers);
		expect(status.slice(0, 3).map((s) => s.breaker.phase)).toEqual(['open', 'open', 'open']);
	});

	it('999 refusing servers and one healthy one: all 8 scenes succeed on it', async () => {
		fleet = await startFleet([{ msPerStep: 5, models: CHECKPOINTS }]);
		const dead = await refusingUrls(999);
		const runtime = await getRuntime({ servers: [...dead, ...fleet.urls].join('\n') });
		const outcomes = await runBatch(runtime, scenes(8, { steps: 3, spec: { maxAttempts: 1 } }), { strategy: 'leastLoaded', backoff: FAST_BACKOFF });
		expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.error.message)).toEqual([]);
		expect(outcomes.every((o) => o.ok && o.result.server === fleet!.urls[0])).toBe(true);
	});

	it('a server that crashes mid-batch: its waiting scenes go elsewhere without using up an attempt', async () => {
		fleet = await startFleet([
			{ msPerStep: 20, models: CHECKPOINTS },
			{ msPerStep: 20, models: CHECKPOINTS },
		]);
		prefix = uniquePrefix('crash');
		const runtime = await getRuntime({ servers: fleet.urls.map((u) => `${u} max=4`).join('\n'), redis: REDIS, keyPrefix: prefix });
		const crashed = fleet.servers[0];
		let crashedAt = 0;
		const outcomes = await runBatch(runtime, scenes(16, { steps: 5, spec: { maxAttempts: 2 } }), {
			strategy: 'leastLoaded',
			backoff: FAST_BACKOFF,
			onEvent: (event) => {
				if (event.type === 'progress' && event.phase === 'running' && event.server === fleet!.urls[0] && !crashedAt) {
					crashedAt = Date.now();
					crashed.crash();
				}
			},
		});
		expect(crashedAt).toBeGreaterThan(0);
		expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.error.message)).toEqual([]);
		// Only what was on its way to the crashed server when it died counts as a failed attempt there
		// (prompts it had accepted, a submit in flight); every scene placed there afterwards was refused
		// before anything was queued, and cost nothing.
		for (const o of outcomes) {
			if (!o.ok) continue;
			for (const a of o.result.attempts) {
				if (a.outcome === 'transient') expect(a.startedAt).toBeLessThanOrEqual(crashedAt);
				if (a.outcome === 'unreachable') expect(a.serverId).toBe(runtime.servers[0].id);
			}
		}
	});
});
