import { spawn } from 'child_process';
import { join } from 'path';
import { ComfyUiSimulator, defaultCatalogue, startFleet } from '.';
import { send, until } from '../contract/replay';
import { figures, GiB, loaderGap, run as runPrompt, txt2img } from './testing/gpu';

const head = (b: Buffer, n = 4): string => b.subarray(0, n).toString('hex');

async function run(sim: ComfyUiSimulator, prompt: Record<string, unknown>): Promise<{ id: string; entry: { outputs: Record<string, Record<string, unknown>>; status: { status_str: string; messages: Array<[string, { nodes?: string[] }]> } } }> {
	const r = await send(sim.url, 'POST', '/prompt', { json: { prompt } });
	expect(r.status).toBe(200);
	const id = (r.json as { prompt_id: string }).prompt_id;
	await until(() => sim.records.finished.some((f) => f.promptId === id), 10_000, id);
	const h = (await send(sim.url, 'GET', `/history/${id}`)).json as Record<string, never>;
	return { id, entry: h[id] };
}

const sd = (seed: number, save: Record<string, unknown>) => ({
	'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } },
	'5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 2 } },
	'6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
	'3': { class_type: 'KSampler', inputs: { seed, steps: 4, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['6', 0], latent_image: ['5', 0] } },
	'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
	'9': save,
});

describe('simulator behaviour', () => {
	let sim: ComfyUiSimulator;
	beforeAll(async () => {
		sim = await ComfyUiSimulator.start({ msPerStep: 1, models: { checkpoints: ['sdxl.safetensors'], vae: ['ace.safetensors'], loras: Array.from({ length: 25 }, (_, i) => `l${i}.safetensors`) } });
	});
	afterAll(async () => {
		await sim.stop();
	});

	it('fills combos per server and answers {} for unknown classes', async () => {
		const info = (await send(sim.url, 'GET', '/object_info/CheckpointLoaderSimple')).json as Record<string, { input: { required: Record<string, unknown[]> } }>;
		expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual(['sdxl.safetensors']);
		expect((await send(sim.url, 'GET', '/object_info/Nope')).json).toEqual({});
		expect((await send(sim.url, 'GET', '/models/checkpoints')).json).toEqual(['sdxl.safetensors']);
		expect((await send(sim.url, 'GET', '/models/nope')).status).toBe(404);
		const all = (await send(sim.url, 'GET', '/object_info')).json as Record<string, unknown>;
		expect(Object.keys(all).sort()).toEqual(Object.keys(defaultCatalogue()).sort());
	});

	it('rejects a checkpoint this server lacks and summarises long lists', async () => {
		const bad = await send(sim.url, 'POST', '/prompt', { json: { prompt: { ...sd(1, { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'x' } }), '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'other.safetensors' } } } } });
		expect(bad.status).toBe(400);
		expect((bad.json as { node_errors: Record<string, { errors: unknown[] }> }).node_errors['4'].errors[0]).toEqual({
			type: 'value_not_in_list',
			message: 'Value not in list',
			details: "ckpt_name: 'other.safetensors' not in ['sdxl.safetensors']",
			extra_info: { input_name: 'ckpt_name', input_config: [['sdxl.safetensors'], { tooltip: 'The name of the checkpoint (model) to load.' }], received_value: 'other.safetensors' },
		});
		const lora = await send(sim.url, 'POST', '/prompt', {
			json: { prompt: { '1': { class_type: 'LoraLoader', inputs: { model: ['2', 0], clip: ['2', 1], lora_name: 'zzz', strength_model: 1, strength_clip: 1 } }, '2': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } }, '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } } } },
		});
		expect(lora.status).toBe(400);
		const seedTooSmall = await send(sim.url, 'POST', '/prompt', { json: { prompt: { ...sd(-1, { class_type: 'PreviewImage', inputs: { images: ['8', 0] } }) } } });
		expect((seedTooSmall.json as { node_errors: Record<string, { errors: Array<{ type: string }> }> }).node_errors['3'].errors[0].type).toBe('value_smaller_than_min');
		const notJson = await send(sim.url, 'POST', '/prompt', { raw: Buffer.from('{oops'), type: 'application/json' });
		expect(notJson.status).toBe(500);
	});

	it('writes real PNGs that differ per seed, serves repeats from cache until /free', async () => {
		const save = { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'sd/img' } };
		const a = await run(sim, sd(1, save));
		const images = a.entry.outputs['9'].images as Array<{ filename: string; subfolder: string; type: string }>;
		expect(images.map((i) => i.filename)).toEqual(['img_00001_.png', 'img_00002_.png']);
		const png1 = (await send(sim.url, 'GET', '/view?filename=img_00001_.png&subfolder=sd&type=output')).bytes;
		expect(head(png1, 8)).toBe('89504e470d0a1a0a');
		const b = await run(sim, sd(2, save));
		const png3 = (await send(sim.url, 'GET', `/view?filename=${(b.entry.outputs['9'].images as Array<{ filename: string }>)[0].filename}&subfolder=sd`)).bytes;
		expect(png3.equals(png1)).toBe(false);
		const c = await run(sim, sd(2, save));
		expect(c.entry.outputs).toEqual(b.entry.outputs);
		expect(c.entry.status.messages[1][1].nodes!.sort()).toEqual(['3', '4', '5', '6', '8', '9']);
		expect((await send(sim.url, 'POST', '/free', { json: { free_memory: true } })).status).toBe(200);
		const d = await run(sim, sd(2, save));
		expect(d.entry.status.messages[1][1].nodes).toEqual([]);
		expect(d.entry.outputs).not.toEqual(b.entry.outputs);
	});

	it('writes animated WebP, video, VHS gifs and audio outputs with the real keys', async () => {
		const webp = await run(sim, sd(3, { class_type: 'SaveAnimatedWEBP', inputs: { images: ['8', 0], filename_prefix: 'anim', fps: 6, lossless: true, quality: 80, method: 'default' } }));
		expect(webp.entry.outputs['9']).toEqual({ images: [{ filename: 'anim_00001_.webp', subfolder: '', type: 'output' }], animated: [true] });
		const wbytes = (await send(sim.url, 'GET', '/view?filename=anim_00001_.webp')).bytes;
		expect(wbytes.toString('ascii', 0, 4) + wbytes.toString('ascii', 8, 16)).toBe('RIFFWEBPVP8X');

		const video = await run(sim, { ...sd(4, { class_type: 'CreateVideo', inputs: { images: ['8', 0], fps: 24 } }), '10': { class_type: 'SaveVideo', inputs: { video: ['9', 0], filename_prefix: 'video/clip', format: 'auto', codec: 'auto' } } });
		expect(video.entry.outputs['10']).toEqual({ images: [{ filename: 'clip_00001_.mp4', subfolder: 'video', type: 'output' }], animated: [true] });
		const mp4 = await send(sim.url, 'GET', '/view?filename=clip_00001_.mp4&subfolder=video');
		expect(mp4.contentType).toBe('video/mp4');
		expect(mp4.bytes.toString('ascii', 4, 8)).toBe('ftyp');

		const vhs = await run(sim, sd(5, { class_type: 'VHS_VideoCombine', inputs: { images: ['8', 0], frame_rate: 8, loop_count: 0, filename_prefix: 'AnimateDiff', format: 'video/h264-mp4', pingpong: false, save_output: true } }));
		expect(vhs.entry.outputs['9']).toEqual({ gifs: [expect.objectContaining({ filename: 'AnimateDiff_00001.mp4', subfolder: '', type: 'output', format: 'video/h264-mp4', frame_rate: 8 })] });

		const audio = await run(sim, {
			'1': { class_type: 'EmptyLatentAudio', inputs: { seconds: 2, batch_size: 1 } },
			'2': { class_type: 'VAELoader', inputs: { vae_name: 'ace.safetensors' } },
			'3': { class_type: 'VAEDecodeAudio', inputs: { samples: ['1', 0], vae: ['2', 0] } },
			'4': { class_type: 'SaveAudio', inputs: { audio: ['3', 0], filename_prefix: 'audio/ComfyUI' } },
		});
		expect(audio.entry.outputs['4']).toEqual({ audio: [{ filename: 'ComfyUI_00001_.flac', subfolder: 'audio', type: 'output' }] });
		const flac = await send(sim.url, 'GET', '/view?filename=ComfyUI_00001_.flac&subfolder=audio');
		expect(flac.contentType).toBe('audio/flac');
		expect(flac.bytes.toString('ascii', 0, 4)).toBe('fLaC');
	});

	it('uploads feed LoadImage (subfolder paths in its combo)', async () => {
		const { encodePng } = await import('./media');
		const form = new FormData();
		form.append('image', new Blob([encodePng({ width: 20, height: 10, color: 0x00ff00 })]), 'green.png');
		form.append('subfolder', 'up');
		const r = await fetch(`${sim.url}/upload/image`, { method: 'POST', body: form });
		expect(await r.json()).toEqual({ name: 'green.png', subfolder: 'up', type: 'input' });
		const info = (await send(sim.url, 'GET', '/object_info/LoadImage')).json as { LoadImage: { input: { required: { image: unknown[] } } } };
		expect(info.LoadImage.input.required.image[0]).toContain('up/green.png');
		const res = await run(sim, {
			'1': { class_type: 'LoadImage', inputs: { image: 'up/green.png' } },
			'2': { class_type: 'SaveAnimatedWEBP', inputs: { images: ['1', 0], filename_prefix: 'loaded', fps: 6, lossless: true, quality: 80, method: 'default' } },
		});
		expect(res.entry.status.status_str).toBe('success');
	});
});

describe('fleet and CLI', () => {
	it('startFleet starts servers with their own speeds and stops them', async () => {
		const fleet = await startFleet([{ speed: 2 }, { speed: 1, catalogue: { SaveImage: defaultCatalogue().SaveImage } }]);
		expect(fleet.urls).toHaveLength(2);
		expect(new Set(fleet.urls).size).toBe(2);
		const info = (await send(fleet.urls[1], 'GET', '/object_info')).json as Record<string, unknown>;
		expect(Object.keys(info)).toEqual(['SaveImage']);
		await fleet.stop();
		await expect(send(fleet.urls[0], 'GET', '/prompt')).rejects.toThrow();
	});

	it('the CLI prints its help with --help and refuses an unknown option, naming it', async () => {
		const root = join(__dirname, '..', '..');
		const run = (args: string[]) =>
			new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
				const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'test/sim/cli.ts', ...args], { cwd: root });
				let out = '';
				let err = '';
				child.stdout.on('data', (d: Buffer) => (out += d.toString()));
				child.stderr.on('data', (d: Buffer) => (err += d.toString()));
				child.on('exit', (code) => resolve({ code, out, err }));
			});
		const [help, unknown] = await Promise.all([run(['--help']), run(['--count', '1', '--speed', '2'])]);
		expect(help).toMatchObject({ code: 0, err: '' });
		expect(help.out).toMatch(/^Usage: npm run sim -- \[options\]/);
		expect(help.out).toMatch(/--model-load-ms/);
		expect(unknown.code).toBe(2);
		expect(unknown.err).toBe('Unknown option --speed: see npm run sim -- --help\n');
	}, 120_000);

	// ts-node compiles the CLI first: seconds on a quiet machine, tens of seconds on a loaded one.
	it('the CLI prints one JSON line per server, gives each its options and stops on SIGTERM', async () => {
		const root = join(__dirname, '..', '..');
		const gpu = ['--model-load-ms', '300', '--cache-lru', '30', '--vram-gb', '8,4', '--ram-gb', '16', '--memory-live', '--model-mb', 'sd15.safetensors=1024', '--checkpoints', 'sd15.safetensors,other.safetensors'];
		const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'test/sim/cli.ts', '--count', '2', '--speeds', '2,1', '--base-port', '0', ...gpu], { cwd: root });
		let out = '';
		child.stdout.on('data', (d: Buffer) => (out += d.toString()));
		await until(() => out.trim().split('\n').filter(Boolean).length >= 2 || child.exitCode !== null, 100_000, 'cli output');
		const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { name: string; url: string });
		expect(lines.map((l) => l.name)).toEqual(['sim-1', 'sim-2']);
		expect((await send(lines[0].url, 'GET', '/prompt')).status).toBe(200);

		expect(await figures(lines[0].url)).toMatchObject({ vramTotal: 8 * GiB, ramTotal: 16 * GiB, vramFree: Math.round(8 * GiB * 0.9) });
		expect((await figures(lines[1].url)).vramTotal).toBe(4 * GiB);
		expect(loaderGap(await runPrompt(lines[0].url, txt2img('sd15.safetensors', 1)))).toBeGreaterThanOrEqual(295);
		expect((await figures(lines[0].url)).vramFree).toBe(Math.round(8 * GiB * 0.9) - GiB);
		await runPrompt(lines[0].url, txt2img('other.safetensors', 1));
		expect((await runPrompt(lines[0].url, txt2img('sd15.safetensors', 2))).cached).toEqual(['4', '6', '5']);
		const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
		child.kill('SIGTERM');
		expect(await exited).toBe(0);
	}, 120_000);
});
