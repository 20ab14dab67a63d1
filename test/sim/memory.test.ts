/**
 * Live memory of a simulated server: what /system_stats reports as models load and videos run, what
 * POST /free releases and when (as ComfyUI's worker applies its flags), and a server that runs out of
 * RAM dying like a crashed one — unless a /free came in between.
 */
import { send, until } from '../contract/replay';
import { ComfyUiSimulator, type SimulatorOptions } from './server';
import { figures, GiB, MiB, NO_CLASS_COSTS, run, txt2img, Watcher } from './testing/gpu';

let sim: ComfyUiSimulator | undefined;

afterEach(async () => {
	await sim?.stop();
	sim = undefined;
});

/** 8 GiB of VRAM and 16 GiB of RAM, all free with nothing loaded; checkpoints of 2, 7 and 10 GiB. */
const LIVE: SimulatorOptions = {
	msPerStep: 1,
	classCostMs: NO_CLASS_COSTS,
	memory: { live: true, vramTotal: 8 * GiB, vramFree: 8 * GiB, ramTotal: 16 * GiB, ramFree: 16 * GiB },
	modelMB: { 'a.safetensors': 2048, 'b.safetensors': 7168, 'big.safetensors': 10240 },
	models: { checkpoints: ['a.safetensors', 'b.safetensors', 'big.safetensors'] },
};

async function start(options: SimulatorOptions = {}): Promise<ComfyUiSimulator> {
	sim = await ComfyUiSimulator.start({ ...LIVE, ...options });
	return sim;
}

/** The three tensors of a txt2img run (latent, sampled latent, decoded image) at 12 bytes a pixel. */
const tensors = (size: number, frames: number, count = 3): number => count * size * size * frames * 12;

describe('memory figures', () => {
	it('models take VRAM as they load; the classic cache frees one when the next prompt needs another, torch keeps what it reserved', async () => {
		const s = await start();
		expect(await figures(s.url)).toEqual({ ramTotal: 16 * GiB, ramFree: 16 * GiB, vramTotal: 8 * GiB, vramFree: 8 * GiB, torchVramTotal: 0, torchVramFree: 0 });
		await run(s.url, txt2img('a.safetensors', 1));
		expect(await figures(s.url)).toMatchObject({ vramFree: 6 * GiB, torchVramTotal: 2 * GiB, torchVramFree: 0, ramFree: 16 * GiB - tensors(64, 1) });
		await run(s.url, txt2img('b.safetensors', 1));
		expect(await figures(s.url)).toMatchObject({ vramFree: 1 * GiB, torchVramTotal: 7 * GiB, torchVramFree: 0 });
		await run(s.url, txt2img('a.safetensors', 1));
		expect(await figures(s.url)).toMatchObject({ vramFree: 6 * GiB, torchVramTotal: 7 * GiB, torchVramFree: 5 * GiB });
	});

	it('a model beyond free VRAM spills to RAM; a cached model the prompt does not use makes room, moving to RAM', async () => {
		const s = await start({ cacheLru: 50 });
		await run(s.url, txt2img('big.safetensors', 1));
		expect(await figures(s.url)).toMatchObject({ vramFree: 0, ramFree: 14 * GiB - tensors(64, 1) });
		await run(s.url, txt2img('a.safetensors', 1));
		// big leaves VRAM whole for a: 2 GiB in VRAM, 10 GiB in RAM; the latent is shared, two new tensors
		expect(await figures(s.url)).toMatchObject({ vramFree: 6 * GiB, ramFree: 6 * GiB - tensors(64, 1, 5) });
	});

	it('a running video takes RAM as its frames are made: the latent while it samples, then the sampled and decoded frames', async () => {
		const s = await start({ msPerStep: 20 });
		const before = (await figures(s.url)).ramFree;
		const watcher = await Watcher.open(s.url);
		try {
			const id = await watcher.submit(s.url, txt2img('a.safetensors', 1, { frames: 32, size: 256, steps: 10 }));
			await watcher.until(id, 'executing', '3');
			expect((await figures(s.url)).ramFree).toBe(before - tensors(256, 32, 1));
			await watcher.until(id, 'executing', null);
		} finally {
			watcher.close();
		}
		expect((await figures(s.url)).ramFree).toBe(before - tensors(256, 32));
	});
});

describe('POST /free', () => {
	it('unload_models moves the models to RAM, the cache keeps them: the next prompt uses them without a load', async () => {
		const s = await start({ modelLoadMs: 50 });
		await run(s.url, txt2img('a.safetensors', 1));
		expect((await send(s.url, 'POST', '/free', { json: { unload_models: true } })).status).toBe(200);
		expect(await figures(s.url)).toMatchObject({ vramFree: 8 * GiB, torchVramTotal: 0, ramFree: 14 * GiB - tensors(64, 1) });
		const next = await run(s.url, txt2img('a.safetensors', 2));
		expect(next.cached).toEqual(['4', '6', '5']);
		expect(s.records.loads).toHaveLength(1);
		expect(await figures(s.url)).toMatchObject({ vramFree: 6 * GiB, ramFree: 16 * GiB - tensors(64, 1) });
	});

	it('free_memory also resets the cache: everything is released and the next prompt loads again', async () => {
		const s = await start({ modelLoadMs: 50 });
		await run(s.url, txt2img('a.safetensors', 1));
		await send(s.url, 'POST', '/free', { json: { free_memory: true, unload_models: false } });
		expect(await figures(s.url)).toMatchObject({ vramFree: 8 * GiB, ramFree: 16 * GiB, torchVramTotal: 0 });
		expect((await run(s.url, txt2img('a.safetensors', 1))).cached).toEqual([]);
		expect(s.records.loads).toHaveLength(2);
	});

	it('on a busy server it takes effect after the running prompt, before the next one', async () => {
		const s = await start({ modelLoadMs: 50, msPerStep: 20 });
		const watcher = await Watcher.open(s.url);
		try {
			const running = await watcher.submit(s.url, txt2img('a.safetensors', 1, { steps: 20 }));
			const next = await watcher.submit(s.url, txt2img('a.safetensors', 2));
			await watcher.until(running, 'executing', '3');
			await send(s.url, 'POST', '/free', { json: { free_memory: true } });
			expect((await figures(s.url)).vramFree).toBe(6 * GiB);
			await watcher.until(next, 'executing', null);
			const cached = watcher.recorder.frames.find((f) => f.type === 'execution_cached' && f.data?.prompt_id === next)?.data?.nodes;
			expect(cached).toEqual([]);
			expect(s.records.loads.map((l) => l.promptId)).toEqual([running, next]);
		} finally {
			watcher.close();
		}
	});

	it('{} or false flags release nothing', async () => {
		const s = await start();
		await run(s.url, txt2img('a.safetensors', 1));
		await send(s.url, 'POST', '/free', { json: { unload_models: false, free_memory: 0 } });
		expect((await figures(s.url)).vramFree).toBe(6 * GiB);
		expect(s.records.frees).toBe(1);
	});
});

describe('out of memory', () => {
	// 256² × 64 frames × 12 bytes = 48 MiB a tensor; a video holds three (144 MiB), the next shares its
	// latent and adds two: with --cache-lru the first video's stay, and 200 MiB of RAM fill up
	const VIDEO = { frames: 64, size: 256 };
	const TIGHT: SimulatorOptions = { cacheLru: 50, memory: { live: true, ramTotal: 200 * MiB, ramFree: 200 * MiB }, modelMB: { 'a.safetensors': 100 } };

	it('a video batch that outgrows RAM kills the server: connections refused, queue and history lost', async () => {
		const s = await start({ ...TIGHT, modelLoadMs: 300 });
		const watcher = await Watcher.open(s.url);
		// The first loads its model for 300 ms: all three are queued before the crash can come.
		const ids = [];
		for (let seed = 1; seed <= 3; seed++) ids.push(await watcher.submit(s.url, txt2img('a.safetensors', seed, VIDEO)));
		await until(() => s.records.outOfMemory.length > 0, 20_000, 'the server to run out of memory');
		watcher.close();
		expect(s.records.outOfMemory).toEqual([{ at: expect.any(Number), promptId: ids[1], ramUsed: 240 * MiB }]);
		expect(s.records.finished.map((f) => f.promptId)).toEqual([ids[0]]);
		await expect(send(s.url, 'GET', '/queue')).rejects.toThrow();

		await s.restart();
		expect((await send(s.url, 'GET', '/queue')).json).toEqual({ queue_running: [], queue_pending: [] });
		expect((await send(s.url, 'GET', '/history')).json).toEqual({});
		expect((await figures(s.url)).ramFree).toBe(200 * MiB);
	});

	it('a /free between the videos keeps the server alive; so does the classic cache, which keeps one prompt only', async () => {
		const s = await start(TIGHT);
		for (let seed = 1; seed <= 3; seed++) {
			expect((await run(s.url, txt2img('a.safetensors', seed, VIDEO))).status).toBe('success');
			await send(s.url, 'POST', '/free', { json: { free_memory: true } });
		}
		await s.stop();
		const classic = await start({ ...TIGHT, cacheLru: 0 });
		for (let seed = 1; seed <= 3; seed++) expect((await run(classic.url, txt2img('a.safetensors', seed, VIDEO))).status).toBe('success');
		expect([...s.records.outOfMemory, ...classic.records.outOfMemory]).toEqual([]);
	});
});
