/**
 * How servers join a batch and how often a busy one is asked whether it lives: a server this
 * process read the catalogue of takes a scene before its probe answers, a server never seen waits
 * for its probe, and a busy server that speaks on its websocket is not probed every second.
 */
import { runBatch } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { startFleet, type Fleet } from '../../sim';
import { CHECKPOINTS, cleanKeys, REDIS, scenes, uniquePrefix } from './helpers';
import { startTapProxy, type TapProxy } from './tapProxy';

jest.setTimeout(60_000);

let fleet: Fleet | undefined;
let proxy: TapProxy | undefined;
let prefix = '';

afterEach(async () => {
	await closeAllRuntimes();
	await proxy?.stop();
	await fleet?.stop();
	fleet = undefined;
	proxy = undefined;
	if (prefix) await cleanKeys(prefix);
	prefix = '';
});

/** Runs 2 short scenes on one server whose `GET /queue` answers after 1.5 s; returns when the first started. */
async function firstStartWithSlowProbe(catalogueRead: boolean): Promise<number> {
	fleet = await startFleet([{ msPerStep: 5, models: CHECKPOINTS }]);
	proxy = await startTapProxy(fleet.urls[0], (line) => (line === 'GET /queue' ? 1_500 : 0));
	prefix = uniquePrefix('join');
	const runtime = await getRuntime({ servers: proxy.url, redis: REDIS, keyPrefix: prefix });
	if (catalogueRead) await runtime.clientFor(runtime.servers[0].id).objectInfo();
	const started = Date.now();
	let firstStart = 0;
	const outcomes = await runBatch(runtime, scenes(2, { steps: 2 }), {
		strategy: 'leastLoaded',
		onEvent: (event) => {
			if (event.type === 'start' && !firstStart) firstStart = Date.now() - started;
		},
	});
	expect(outcomes.every((o) => o.ok)).toBe(true);
	return firstStart;
}

describe('joining', () => {
	it('a server whose catalogue this process read takes a scene before its probe answers', async () => {
		expect(await firstStartWithSlowProbe(true)).toBeLessThan(1_000);
	});

	it('a server never seen takes no scene until its probe answers', async () => {
		expect(await firstStartWithSlowProbe(false)).toBeGreaterThanOrEqual(1_400);
	});
});

describe('liveness probes on a busy server', () => {
	it('a server that keeps sending progress on its websocket is not probed every second', async () => {
		// One scene of 50 steps × 80 ms = 4 s, progress every 80 ms, nothing else waiting.
		fleet = await startFleet([{ msPerStep: 80, models: CHECKPOINTS }]);
		proxy = await startTapProxy(fleet.urls[0]);
		const runtime = await getRuntime({ servers: proxy.url });
		const started = Date.now();
		const [outcome] = await runBatch(runtime, scenes(1, { steps: 50 }), { strategy: 'leastLoaded' });
		expect(outcome.ok).toBe(true);
		expect(Date.now() - started).toBeGreaterThan(3_500);
		// The probe as it joined, then only the watch's own checks (each `GET /history/<id>` followed by
		// `GET /queue`); a liveness probe a second would add 4 more.
		const queue = proxy.count('GET /queue');
		const historyReads = proxy.requests.filter((r) => r.line.startsWith('GET /history/')).length;
		expect(queue).toBeLessThanOrEqual(historyReads + 1);
	});
});
