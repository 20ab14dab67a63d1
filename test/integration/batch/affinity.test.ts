/**
 * Model affinity on simulated servers that load checkpoints from disk (400 ms a load, ComfyUI's
 * classic cache): scenes of one checkpoint gather on the servers that hold it, what each load took
 * is learned per model and server, and the store tells every worker which server holds what.
 */
import { clusterStatus, runBatch } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { buildScene } from '../../../src/cluster/sceneBuilder';
import { startFleet, type Fleet } from '../../sim';
import { cleanKeys, REDIS, txt2img, uniquePrefix } from './helpers';

jest.setTimeout(60_000);

const CHECKPOINTS = ['a.safetensors', 'b.safetensors'];
const LOAD_MS = 400;

let fleet: Fleet | undefined;
let prefix = '';

afterEach(async () => {
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
	if (prefix) await cleanKeys(prefix);
	prefix = '';
});

/** 12 scenes of 5 steps × 20 ms, checkpoints a, b, a, b… arriving interleaved. */
const checkpointOf = (index: number) => CHECKPOINTS[index % CHECKPOINTS.length];
const interleaved = () => Array.from({ length: 12 }, (_, index) => buildScene({ index, workflow: txt2img(500 + index, 5, checkpointOf(index)), download: false }));

async function run(store: 'memory' | 'redis', affinity: boolean, servers = 3, scenes = interleaved()) {
	fleet = await startFleet(Array.from({ length: servers }, () => ({ msPerStep: 20, models: { checkpoints: [...CHECKPOINTS, 'c.safetensors'] }, modelLoadMs: LOAD_MS })));
	prefix = uniquePrefix('affinity');
	const runtime = await getRuntime({ servers: fleet.urls.join('\n'), ...(store === 'redis' ? { redis: REDIS, keyPrefix: prefix } : {}) });
	const outcomes = await runBatch(runtime, scenes, { strategy: 'leastLoaded', affinity });
	expect(outcomes.every((o) => o.ok)).toBe(true);
	const loads = fleet.servers.map((sim) => sim.records.loads.length);
	return { runtime, outcomes, loads };
}

describe.each(['memory', 'redis'] as const)('model affinity (%s store)', (store) => {
	it('scenes of one checkpoint gather on the servers that hold it: three servers, two checkpoints, few loads', async () => {
		const { runtime, outcomes, loads } = await run(store, true);
		// Cold, each server loads one; evening out the work may cost a switch (400 ms against 100 ms of work).
		expect(loads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(4);

		// The load a scene paid shows in its timings, and the store learned it per model and server.
		const paid = outcomes.flatMap((o) => (o.ok && (o.result.timings.modelLoadMs ?? 0) > 0 ? [o.result.timings.modelLoadMs!] : []));
		expect(paid.length).toBe(loads.reduce((a, b) => a + b, 0));
		for (const ms of paid) expect(ms).toBeGreaterThanOrEqual(LOAD_MS * 0.8);
		const statuses = await runtime.store.snapshot(runtime.servers);
		const learned = statuses.flatMap((s) => Object.entries(s.ewma).filter(([key]) => key.startsWith('#load:')).map(([, e]) => e.seconds));
		expect(learned.length).toBeGreaterThanOrEqual(2);
		for (const seconds of learned) expect(seconds).toBeGreaterThanOrEqual((LOAD_MS * 0.8) / 1000);
		// Every server holds the checkpoint of the last scene it ran; the speed averages learned the work alone.
		for (const status of statuses) {
			const last = outcomes.filter((o) => o.ok && o.result.serverId === status.id).pop();
			expect(status.resident?.models).toEqual([checkpointOf(last!.index)]);
			for (const [key, e] of Object.entries(status.ewma)) if (!key.startsWith('#')) expect(e.seconds).toBeLessThan(LOAD_MS / 1000);
		}
		// Cluster Status shows both: what each server holds and what loading each model took there.
		const rows = await clusterStatus(runtime);
		for (const row of rows) {
			expect(row.residentModels).toEqual(statuses.find((s) => s.id === row.serverId)?.resident?.models);
			for (const seconds of Object.values(row.modelLoadSeconds)) expect(seconds).toBeGreaterThanOrEqual((LOAD_MS * 0.8) / 1000);
			expect(Object.keys(row.ewmaSeconds).some((key) => key.startsWith('#'))).toBe(false);
		}
		expect(rows.flatMap((row) => Object.keys(row.modelLoadSeconds)).sort()).toEqual(expect.arrayContaining(['a.safetensors', 'b.safetensors']));
	});

	it('with more checkpoints than servers, a server runs the scenes of the checkpoint it holds before it loads another', async () => {
		// Two servers, checkpoints a, b, c, a, b, c…: each server loads a checkpoint about once per checkpoint it runs.
		const three = Array.from({ length: 12 }, (_, index) => buildScene({ index, workflow: txt2img(600 + index, 5, ['a.safetensors', 'b.safetensors', 'c.safetensors'][index % 3]), download: false }));
		const { loads } = await run(store, true, 2, three);
		expect(loads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5);
	});

	it('without affinity (the option off) the same batch loads checkpoints far more often', async () => {
		const { loads } = await run(store, false);
		expect(loads.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(6);
	});
});
