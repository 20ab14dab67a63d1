/**
 * Model loads and the cache across prompts: which prompt pays a loader's load, how `execution_cached`
 * and the websocket show it, the classic cache against `--cache-lru N`, and the size of a model file.
 */
import { MB, guessedBytes, loadMs, modelFiles } from './models';
import { ComfyUiSimulator, type SimulatorOptions } from './server';
import { GiB, loaderGap, NO_CLASS_COSTS, run, txt2img } from './testing/gpu';

let sim: ComfyUiSimulator | undefined;

afterEach(async () => {
	await sim?.stop();
	sim = undefined;
});

const CHECKPOINTS = { checkpoints: ['a.safetensors', 'b.safetensors'] };

async function start(options: SimulatorOptions): Promise<ComfyUiSimulator> {
	sim = await ComfyUiSimulator.start({ msPerStep: 1, classCostMs: NO_CLASS_COSTS, models: CHECKPOINTS, ...options });
	return sim;
}

/** The loads recorded since `from`: [prompt, node, files, ms]. */
function loads(s: ComfyUiSimulator, from = 0): unknown[] {
	return s.records.loads.slice(from).map((l) => [l.promptId, l.node, l.files, l.ms]);
}

describe('model loads', () => {
	it('a loader pays on the first prompt, not on the next with the same checkpoint; one other checkpoint evicts it (classic cache)', async () => {
		const s = await start({ modelLoadMs: 300 });
		const first = await run(s.url, txt2img('a.safetensors', 1));
		expect(first.cached).toEqual([]);
		expect(loads(s)).toEqual([[first.promptId, '4', ['a.safetensors'], 300]]);

		const same = await run(s.url, txt2img('a.safetensors', 2));
		expect(same.status).toBe('success');
		expect(same.cached).toEqual(['4', '6', '5']);
		expect(same.executing.map((e) => e.node)).toEqual(['3', '8', '9']);
		expect(loads(s, 1)).toEqual([]);

		const other = await run(s.url, txt2img('b.safetensors', 2));
		expect(other.cached).toEqual(['5']);
		expect(loads(s, 1)).toEqual([[other.promptId, '4', ['b.safetensors'], 300]]);
		const back = await run(s.url, txt2img('a.safetensors', 2));
		expect(back.cached).toEqual(['5']);
		expect(loads(s, 2)).toEqual([[back.promptId, '4', ['a.safetensors'], 300]]);
	});

	it('--cache-lru N keeps N node results: with room for two prompts both checkpoints stay, with less the oldest prompt goes', async () => {
		const roomy = await start({ modelLoadMs: 100, cacheLru: 12 });
		await run(roomy.url, txt2img('a.safetensors', 1));
		await run(roomy.url, txt2img('b.safetensors', 1));
		const back = await run(roomy.url, txt2img('a.safetensors', 2));
		expect(back.cached).toEqual(['4', '6', '5']);
		expect(roomy.records.loads.map((l) => l.files[0])).toEqual(['a.safetensors', 'b.safetensors']);
		// every result of a prompt run before is still there
		expect((await run(roomy.url, txt2img('b.safetensors', 1))).cached).toEqual(['4', '6', '5', '3', '8', '9']);
		await roomy.stop();

		// two results: each prompt (six results) evicts the one before, as the classic cache does
		const tight = await start({ modelLoadMs: 100, cacheLru: 2 });
		for (const ckpt of ['a', 'b', 'a']) await run(tight.url, txt2img(`${ckpt}.safetensors`, 1));
		expect(tight.records.loads.map((l) => l.files[0])).toEqual(['a.safetensors', 'b.safetensors', 'a.safetensors']);
	});

	it('the websocket shows the load: the loader is executing, the next node comes once its files are read, at any server speed', async () => {
		const fast = await start({ speed: 4, modelLoadMs: 300 });
		const r = await run(fast.url, txt2img('a.safetensors', 1, { steps: 40 }));
		expect(r.executing.map((e) => e.node)).toEqual(['4', '6', '5', '3', '8', '9']);
		expect(loaderGap(r)).toBeGreaterThanOrEqual(295);
		await fast.stop();

		// size ÷ disk speed: 100 MB at 400 MB/s
		const disk = await start({ speed: 4, diskMBps: 400, modelMB: { 'a.safetensors': 100 } });
		const d = await run(disk.url, txt2img('a.safetensors', 1));
		expect(disk.records.loads.map((l) => l.ms)).toEqual([250]);
		expect(loaderGap(d)).toBeGreaterThanOrEqual(245);
	});

	it('with nothing configured a load takes no time, and is still recorded', async () => {
		const s = await start({});
		await run(s.url, txt2img('a.safetensors', 1));
		expect(s.records.loads.map((l) => [l.files, l.ms])).toEqual([[['a.safetensors'], 0]]);
	});
});

describe('model files', () => {
	const bytes = (classType: string, inputs: Record<string, unknown>, opts: SimulatorOptions = {}) => modelFiles(classType, inputs, opts).map((f) => Math.round((f.bytes / GiB) * 100) / 100);

	it('are the model-file values of loader classes, sized by name unless configured', () => {
		expect(bytes('CheckpointLoaderSimple', { ckpt_name: 'v1-5-pruned-emaonly.safetensors' })).toEqual([2]);
		expect(bytes('CheckpointLoaderSimple', { ckpt_name: 'sd_xl_base_1.0.safetensors' })).toEqual([7]);
		expect(bytes('UNETLoader', { unet_name: 'wan2.1_t2v_14B_fp16.safetensors', weight_dtype: 'default' })).toEqual([28]);
		expect(bytes('UNETLoader', { unet_name: 'wan2.1_t2v_14B_fp8_e4m3fn.safetensors', weight_dtype: 'default' })).toEqual([14]);
		expect(bytes('UNETLoader', { unet_name: 'hunyuan_video_t2v_720p_bf16.safetensors' })).toEqual([28]);
		expect(bytes('ImageOnlyCheckpointLoader', { ckpt_name: 'svd_xt.safetensors' })).toEqual([15]);
		expect(bytes('DualCLIPLoader', { clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp16.safetensors', type: 'flux' })).toEqual([0.25, 9.5]);
		expect(bytes('VAELoader', { vae_name: 'ae.safetensors' })).toEqual([0.3]);
		expect(bytes('LoraLoaderModelOnly', { model: ['1', 0], lora_name: 'style.safetensors', strength_model: 1 })).toEqual([0.15]);
		expect(bytes('LoadImage', { image: 'x.safetensors' })).toEqual([]);
		expect(bytes('CheckpointLoaderSimple', { ckpt_name: 'mine.ckpt' }, { modelMB: { 'mine.ckpt': 512 } })).toEqual([0.5]);
		expect(guessedBytes('CLIPVisionLoader.clip_name', 'clip_vision_h.safetensors')).toBe(Math.round(1.2 * GiB));
	});

	it('take a fixed time, one for all or by name, or their size ÷ the disk speed', () => {
		const file = { name: 'a.safetensors', bytes: 700 * MB };
		expect(loadMs(file, {})).toBe(0);
		expect(loadMs(file, { diskMBps: 350 })).toBe(2000);
		expect(loadMs(file, { diskMBps: 350, modelLoadMs: 5000 })).toBe(5000);
		expect(loadMs(file, { diskMBps: 350, modelLoadMs: { 'a.safetensors': 10 } })).toBe(10);
		expect(loadMs(file, { diskMBps: 350, modelLoadMs: { 'b.safetensors': 10 } })).toBe(2000);
	});
});
