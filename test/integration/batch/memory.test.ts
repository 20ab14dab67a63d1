/**
 * Memory-aware admission on simulated servers whose RAM holds one video's working set but not two
 * (ComfyUI's LRU cache keeps each video's outputs): a server frees its memory before a video whose
 * learned working set would not fit, runs one video at a time, and a scene whose server ran out of
 * memory under it goes to another server.
 */
import { runBatch, type BatchOptions } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { buildScene } from '../../../src/cluster/sceneBuilder';
import { startFleet, type Fleet, type SimulatorOptions } from '../../sim';
import { MiB, NO_CLASS_COSTS, txt2img } from '../../sim/testing/gpu';
import { FAST_BACKOFF, waitFor } from './helpers';

jest.setTimeout(60_000);

// 256² × 64 frames × 12 bytes = 48 MiB a tensor: a video holds 144 MiB, a second one kept beside it 240 MiB.
const VIDEO = { frames: 64, size: 256, steps: 2 };
const server = (ramMiB: number): SimulatorOptions => ({
	msPerStep: 20,
	classCostMs: NO_CLASS_COSTS,
	models: { checkpoints: ['a.safetensors'] },
	modelMB: { 'a.safetensors': 100 },
	cacheLru: 50,
	memory: { live: true, ramTotal: ramMiB * MiB, ramFree: ramMiB * MiB },
});
const videos = (n: number, base = 0) => Array.from({ length: n }, (_, index) => buildScene({ index, workflow: txt2img('a.safetensors', 700 + base + index, VIDEO), download: false }));

let fleet: Fleet | undefined;

afterEach(async () => {
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
});

async function run(specs: SimulatorOptions[], scenes: ReturnType<typeof videos>, options: Partial<BatchOptions> = {}) {
	fleet = await startFleet(specs);
	const runtime = await getRuntime({ servers: fleet.urls.join('\n') });
	return runBatch(runtime, scenes, { strategy: 'leastLoaded', backoff: FAST_BACKOFF, ...options });
}

describe('memory-aware admission', () => {
	it('frees the server before each video that would not fit beside the last one: every video succeeds, one at a time', async () => {
		const outcomes = await run([server(200)], videos(4));
		expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true]);
		const [sim] = fleet!.servers;
		expect(sim.records.outOfMemory).toEqual([]);
		// The first video teaches its working set; each later one finds 56 MiB free and frees memory first.
		expect(sim.records.frees).toBe(3);
		expect(sim.records.peakActive).toBe(1);
	});

	it('with memory awareness off the same batch runs the server out of memory', async () => {
		const outcomes = await run([server(200)], videos(4), { memoryAware: false, heavyPerServer: 0 });
		expect(fleet!.servers[0].records.outOfMemory.length).toBeGreaterThanOrEqual(1);
		expect(outcomes.some((o) => !o.ok)).toBe(true);
	});

	it('a scene whose server ran out of memory under it goes to another server, not back to the one that crashed', async () => {
		// The first server cannot hold even one video; it comes back 200 ms after it dies.
		const scenes = videos(2, 50);
		const running = run([server(100), server(400)], scenes);
		await waitFor(() => (fleet?.servers[0].records.outOfMemory.length ?? 0) > 0, 20_000);
		await fleet!.servers[0].restart(200);
		const outcomes = await running;
		expect(outcomes.every((o) => o.ok)).toBe(true);
		const [small, large] = fleet!.servers;
		const crashedSeed = Number((small.records.prompts.find((p) => p.promptId === small.records.outOfMemory[0].promptId)?.prompt['3'] as { inputs: { seed: number } }).inputs.seed);
		expect(small.records.prompts.filter((p) => (p.prompt['3'] as { inputs: { seed: number } }).inputs.seed === crashedSeed)).toHaveLength(1);
		expect(large.records.prompts.some((p) => (p.prompt['3'] as { inputs: { seed: number } }).inputs.seed === crashedSeed)).toBe(true);
	});
});
