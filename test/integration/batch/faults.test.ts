/**
 * runBatch against simulator fleets with every fault the simulator can play, state shared through
 * the test Redis (own key prefix per test, deleted afterwards).
 */
import { WORK_KEY } from '../../../src/cluster/planning/durationModel';
import { runBatch, type BatchEvent, type BatchOptions } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime, type Runtime } from '../../../src/cluster/runtime';
import { buildScene } from '../../../src/cluster/sceneBuilder';
import { startFleet, type Fleet, type SimulatorOptions } from '../../sim';
import { activeAnywhere, CHECKPOINTS, cleanKeys, FAST_BACKOFF, REDIS, scenes, startsBySeed, txt2img, uniquePrefix, waitFor } from './helpers';

jest.setTimeout(30_000);

let fleet: Fleet | undefined;
let prefix = '';

async function setup(specs: SimulatorOptions[], lineOptions: string[] = []): Promise<Runtime> {
	fleet = await startFleet(specs.map((s) => ({ msPerStep: 10, models: CHECKPOINTS, ...s })));
	prefix = uniquePrefix('faults');
	const servers = fleet.urls.map((url, i) => `${url} ${lineOptions[i] ?? ''}`.trim()).join('\n');
	return getRuntime({ servers, redis: REDIS, keyPrefix: prefix, store: { breaker: { threshold: 2 } } });
}

function options(extra: Partial<BatchOptions> = {}): BatchOptions {
	return { strategy: 'leastLoaded', backoff: FAST_BACKOFF, refreshMs: 100, unreachableMs: 1000, ...extra };
}

function failures(outcomes: Awaited<ReturnType<typeof runBatch>>): string[] {
	return outcomes.flatMap((o) => (o.ok ? [] : [o.error.message]));
}

afterEach(async () => {
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
	if (prefix) await cleanKeys(prefix);
});

describe('runBatch over a simulator fleet', () => {
	it('gives the faster server more scenes', async () => {
		// 16 × slower: a scene's extra time there (over 0.5 s) outweighs what a loaded machine adds to both.
		const runtime = await setup([{ speed: 4 }, { speed: 0.25 }], ['max=1', 'max=1']);
		const outcomes = await runBatch(runtime, scenes(12, { steps: 10 }), options({ strategy: 'fastest' }));
		expect(failures(outcomes)).toEqual([]);
		const [fast, slow] = fleet!.servers.map((s) => s.records.finished.filter((f) => f.status === 'success').length);
		expect(fast + slow).toBe(12);
		expect(fast).toBeGreaterThan(slow);
		expect(outcomes.map((o) => o.index)).toEqual([...Array(12).keys()]);
	});

	it("passes a finished scene's slot straight to the next: at most one store exchange per scene, never above max", async () => {
		const runtime = await setup([{}, {}], ['max=2', 'max=2']);
		const before = runtime.store.roundTrips;
		const outcomes = await runBatch(runtime, scenes(40, { steps: 3 }), options({ refreshMs: 60_000, probeMaxAgeMs: 60_000 }));
		expect(failures(outcomes)).toEqual([]);
		// A select and a release per scene would be 80; setup reads and writes a few more.
		expect(runtime.store.roundTrips - before).toBeLessThanOrEqual(40 + 8);
		expect(fleet!.servers.map((s) => s.records.peakActive)).toEqual([2, 2]);
		const status = await runtime.store.snapshot(runtime.servers);
		expect(status.map((s) => s.inFlight)).toEqual([0, 0]);
		// Every outcome was recorded, those of kept leases too: as the workflow's time and as the
		// server's seconds per work unit.
		const samples = (key: (k: string) => boolean) =>
			status.flatMap((s) => Object.entries(s.ewma).flatMap(([k, e]) => (key(k) ? [e.samples] : []))).reduce((a, b) => a + b, 0);
		expect(samples((k) => !k.startsWith('#'))).toBe(40);
		expect(samples((k) => k === WORK_KEY)).toBe(40);
	});

	it('finishes a scene elsewhere when its server crashes mid-scene, leaving nothing queued', async () => {
		const runtime = await setup([{}, {}], ['max=2', 'max=2']);
		const [victim] = fleet!.servers;
		const batch = runBatch(runtime, scenes(4, { steps: 30 }), options());
		await waitFor(() => victim.records.started.length > 0);
		victim.crash();
		const outcomes = await batch;
		expect(failures(outcomes)).toEqual([]);
		const crashed = outcomes.filter((o) => o.ok && o.result.attempts.some((a) => a.outcome === 'transient' && a.serverId === runtime.servers[0].id));
		expect(crashed.length).toBeGreaterThan(0);
		for (const o of outcomes) if (o.ok) expect(o.result.serverId).toBe(runtime.servers[1].id);
		expect(fleet!.servers[1].activePromptIds()).toEqual([]);
	});

	it('retries elsewhere a scene lost to a server restart', async () => {
		const runtime = await setup([{}, {}], ['max=1', 'max=1']);
		const [victim] = fleet!.servers;
		const batch = runBatch(runtime, scenes(2, { steps: 40 }), options());
		await waitFor(() => victim.records.started.length > 0);
		const lostId = victim.records.started[0];
		await victim.restart(50);
		const outcomes = await batch;
		expect(failures(outcomes)).toEqual([]);
		const retried = outcomes.find((o) => o.ok && o.result.attempts.some((a) => a.promptId === lostId));
		expect(retried?.ok && retried.result.attempts.map((a) => a.outcome)).toEqual(['transient', 'success']);
		expect(retried?.ok && retried.result.serverId).toBe(runtime.servers[1].id);
		expect(activeAnywhere(fleet!.servers)).toEqual([]);
	});

	it('cancels a hung scene on its server after the inactivity deadline and retries it elsewhere', async () => {
		const runtime = await setup([{}, {}], ['max=1', 'max=1']);
		const [hung] = fleet!.servers;
		const list = scenes(2, { steps: 20, spec: { timeouts: { inactivityMs: 400 } } });
		const batch = runBatch(runtime, list, options());
		await waitFor(() => hung.records.started.length > 0);
		const hungId = hung.records.started[0];
		hung.setHang(true);
		const outcomes = await batch;
		expect(failures(outcomes)).toEqual([]);
		const moved = outcomes.find((o) => o.ok && o.result.attempts.some((a) => a.promptId === hungId));
		expect(moved?.ok && moved.result.attempts[0].reason).toMatch(/inactiv|progress/i);
		expect(moved?.ok && moved.result.serverId).toBe(runtime.servers[1].id);
		expect(hung.records.interrupted).toContain(hungId);
		hung.setHang(false);
		await waitFor(() => hung.activePromptIds().length === 0, 5000);
	});

	it('completes every scene when one server turns very slow', async () => {
		const runtime = await setup([{}, {}, {}], ['max=1', 'max=1', 'max=1']);
		fleet!.servers[0].setSpeed(0.05);
		const outcomes = await runBatch(runtime, scenes(9, { steps: 5 }), options());
		expect(failures(outcomes)).toEqual([]);
		expect(activeAnywhere(fleet!.servers)).toEqual([]);
	});

	it('sends scenes elsewhere when a server answers 5xx on /prompt', async () => {
		const runtime = await setup([{ faults: { httpErrors: { routes: ['/prompt'], status: 500, rate: 1 } } }, {}], ['max=2', 'max=2']);
		const outcomes = await runBatch(runtime, scenes(6), options());
		expect(failures(outcomes)).toEqual([]);
		for (const o of outcomes) if (o.ok) expect(o.result.serverId).toBe(runtime.servers[1].id);
		expect(fleet!.servers[0].records.prompts).toEqual([]);
	});

	it("waits as long as a 503's Retry-After asks before submitting to that server again", async () => {
		// One server, so the retry has nowhere else to go and must wait (state in memory: no Redis needed).
		fleet = await startFleet([{ msPerStep: 10, models: CHECKPOINTS, faults: { httpErrors: { routes: ['/prompt'], methods: ['POST'], status: 503, rate: 1, retryAfter: '2' } } }]);
		const runtime = await getRuntime({ servers: `${fleet.urls[0]} max=1` });
		const retries: BatchEvent[] = [];
		const outcomes = await runBatch(
			runtime,
			scenes(1),
			options({
				onEvent: (event) => {
					if (event.type !== 'retry') return;
					retries.push(event);
					fleet!.servers[0].setHttpErrors(null);
				},
			}),
		);
		expect(failures(outcomes)).toEqual([]);
		const [outcome] = outcomes;
		if (!outcome.ok) return;
		const [failed, succeeded] = outcome.result.attempts;
		expect(outcome.result.attempts.map((a) => a.outcome)).toEqual(['transient', 'success']);
		expect(failed.reason).toMatch(/HTTP 503 to POST \/prompt/);
		expect(retries).toMatchObject([{ type: 'retry', index: 0, delayMs: expect.any(Number) }]);
		expect((retries[0] as Extract<BatchEvent, { type: 'retry' }>).delayMs).toBeGreaterThanOrEqual(2_000);
		// The backoff alone (FAST_BACKOFF) would have tried again after 20 ms.
		expect(succeeded.startedAt - failed.endedAt).toBeGreaterThanOrEqual(2_000);
		expect(fleet.servers[0].records.prompts).toHaveLength(1);
	});

	it('completes scenes whose websocket drops mid-run', async () => {
		const runtime = await setup([{}, {}], ['max=2', 'max=2']);
		const batch = runBatch(runtime, scenes(4, { steps: 30 }), options());
		await waitFor(() => fleet!.servers.every((s) => s.records.started.length > 0));
		for (const sim of fleet!.servers) sim.dropWebSockets();
		const outcomes = await batch;
		expect(failures(outcomes)).toEqual([]);
		expect([...startsBySeed(fleet!.servers).values()]).toEqual([1, 1, 1, 1]);
	});

	it('never runs a scene twice after an ambiguous submit', async () => {
		const runtime = await setup([{}, {}, {}], ['max=2', 'max=2', 'max=2']);
		for (const sim of fleet!.servers) sim.setAmbiguousSubmit(2);
		const outcomes = await runBatch(runtime, scenes(9), options());
		expect(failures(outcomes)).toEqual([]);
		const starts = startsBySeed(fleet!.servers);
		expect(starts.size).toBe(9);
		expect([...starts.values()].every((n) => n === 1)).toBe(true);
		const submitted = fleet!.servers.flatMap((s) => s.records.prompts.map((p) => p.promptId));
		expect(new Set(submitted).size).toBe(9);
	});

	it('fails a scene at once with the node id and class when a node raises', async () => {
		const runtime = await setup([{}, {}], ['max=2', 'max=2']);
		for (const sim of fleet!.servers) sim.setExecutionError({ nodeClass: 'KSampler', message: 'tensor shapes differ' });
		const outcomes = await runBatch(runtime, scenes(2), options());
		for (const o of outcomes) {
			expect(o.ok).toBe(false);
			if (o.ok) continue;
			expect(o.error.message).toMatch(/tensor shapes differ/);
			expect(o.error.message).toMatch(/KSampler/);
			expect(o.error.message).toMatch(/\b3\b/);
			expect(o.error.attempts.map((a) => a.outcome)).toEqual(['execution']);
		}
		const starts = [...startsBySeed(fleet!.servers).values()];
		expect(starts).toEqual([1, 1]);
	});

	it('skips a server under memory pressure', async () => {
		const runtime = await setup([{ faults: { memoryPressure: { vramFree: 100 * 1024 ** 2 } } }, {}], ['max=2', 'max=2']);
		const outcomes = await runBatch(runtime, scenes(6), options());
		expect(failures(outcomes)).toEqual([]);
		expect(fleet!.servers[0].records.prompts).toEqual([]);
	});

	it('never sends a scene to a server that lacks its checkpoint', async () => {
		const runtime = await setup([{ models: { checkpoints: ['sd15.safetensors'] } }, { models: { checkpoints: ['sd15.safetensors', 'sdxl.safetensors'] } }], ['max=2 weight=4', 'max=2']);
		const list = [...scenes(3, { ckpt: 'sdxl.safetensors' }), ...scenes(3, { base: 2000 })].map((s, index) => ({ ...s, index }));
		const outcomes = await runBatch(runtime, list, options());
		expect(failures(outcomes)).toEqual([]);
		const lacking = fleet!.servers[0].records.prompts.map((p) => JSON.stringify(p.prompt));
		expect(lacking.some((p) => p.includes('sdxl'))).toBe(false);
		for (const o of outcomes.slice(0, 3)) expect(o.ok && o.result.serverId).toBe(runtime.servers[1].id);
	});

	it('fails at once, naming what is missing, when no server has a node class', async () => {
		const runtime = await setup([{}, {}]);
		const workflow = txt2img(1, 5, 'sd15.safetensors', { '10': { class_type: 'FancyUpscaler', inputs: { image: ['8', 0] } } });
		const outcomes = await runBatch(runtime, [buildScene({ index: 0, workflow })], options());
		expect(outcomes[0].ok).toBe(false);
		if (!outcomes[0].ok) {
			expect(outcomes[0].error.message).toMatch(/FancyUpscaler/);
			expect(outcomes[0].error.message).toContain(fleet!.urls[0].replace(/^http:\/\//, ''));
		}
		expect(fleet!.servers.flatMap((s) => s.records.prompts)).toEqual([]);
	});

	it('cancels every scene on abort and leaves none of our prompts on any server', async () => {
		const runtime = await setup([{}, {}, {}], ['max=2', 'max=2', 'max=2']);
		const controller = new AbortController();
		const batch = runBatch(runtime, scenes(12, { steps: 50 }), options({ signal: controller.signal }));
		await waitFor(() => fleet!.servers.every((s) => s.records.started.length > 0));
		controller.abort();
		const outcomes = await batch;
		expect(outcomes.every((o) => !o.ok && o.error.cause.kind === 'cancelled')).toBe(true);
		expect(activeAnywhere(fleet!.servers)).toEqual([]);
		const ended = fleet!.servers.reduce((n, s) => n + s.records.interrupted.length + s.records.deleted.length, 0);
		expect(ended).toBeGreaterThan(0);
	});

	it('moves a scene waiting on a slow server to a fast one that went idle', async () => {
		// The slow server's first scene takes about 5 s, so the one waiting behind it is still waiting
		// when the fast server goes idle, however loaded the machine.
		const runtime = await setup([{ speed: 0.05 }, { speed: 4 }], ['max=2', 'max=2']);
		const events: BatchEvent[] = [];
		const outcomes = await runBatch(runtime, scenes(4, { steps: 20 }), options({ onEvent: (e) => events.push(e) }));
		expect(failures(outcomes)).toEqual([]);
		const moved = outcomes.filter((o) => o.ok && o.result.attempts.some((a) => a.outcome === 'moved'));
		expect(moved.length).toBeGreaterThan(0);
		for (const o of moved) if (o.ok) expect(o.result.serverId).toBe(runtime.servers[1].id);
		expect(events.some((e) => e.type === 'moved')).toBe(true);
		expect([...startsBySeed(fleet!.servers).values()].every((n) => n === 1)).toBe(true);
		expect(fleet!.servers[0].records.deleted.length).toBeGreaterThan(0);
	});
});
