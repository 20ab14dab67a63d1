/** Output files and input uploads against the simulator. */
import { ComfyUiSimulator } from '../../sim';
import { probeCatalogue } from '../../sim/catalogue';
import { encodePng } from '../../sim/media';
import { ComfyUiClient, OutputTooLargeError, UPLOAD_SUBFOLDER } from '../../../src/comfyui/client';
import { freshColor } from './graphs';

describe('ComfyUiClient files', () => {
	let sim: ComfyUiSimulator;
	let c: ComfyUiClient;
	beforeAll(async () => {
		sim = await ComfyUiSimulator.start({ msPerStep: 2, catalogue: probeCatalogue(), models: { vae: ['audio_vae.safetensors'] } });
		c = new ComfyUiClient({ url: sim.url, requestTimeoutMs: 3000 });
	});
	afterAll(async () => {
		await c.close();
		await sim.stop();
	});

	it('finds image, animated, video (core and VHS gifs) and audio outputs with kind and mime type', async () => {
		const color = freshColor();
		const graph = {
			'1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 2, color } },
			'2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'kinds/img' } },
			'3': { class_type: 'SaveAnimatedWEBP', inputs: { images: ['1', 0], filename_prefix: 'kinds/anim', fps: 6, lossless: true, quality: 80, method: 'default' } },
			'4': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 8 } },
			'5': { class_type: 'SaveVideo', inputs: { video: ['4', 0], filename_prefix: 'kinds/video', format: 'auto', codec: 'auto' } },
			'6': { class_type: 'VHS_VideoCombine', inputs: { images: ['1', 0], frame_rate: 8, loop_count: 0, filename_prefix: 'kinds/vhs', format: 'video/h264-mp4', pingpong: false, save_output: true } },
			'7': { class_type: 'VHS_VideoCombine', inputs: { images: ['1', 0], frame_rate: 8, loop_count: 0, filename_prefix: 'kinds/gif', format: 'image/gif', pingpong: false, save_output: true } },
			'8': { class_type: 'EmptyLatentAudio', inputs: { seconds: 1, batch_size: 1 } },
			'9': { class_type: 'VAELoader', inputs: { vae_name: 'audio_vae.safetensors' } },
			'10': { class_type: 'VAEDecodeAudio', inputs: { samples: ['8', 0], vae: ['9', 0] } },
			'11': { class_type: 'SaveAudio', inputs: { audio: ['10', 0], filename_prefix: 'kinds/audio' } },
			'12': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
		};
		const { promptId } = await c.submit(graph);
		const result = await c.watch(promptId, { totalMs: 10_000 });
		const summary = result.outputs.map((o) => [o.nodeId, o.kind, o.mimeType, o.type]);
		expect(summary).toEqual([
			['2', 'image', 'image/png', 'output'],
			['2', 'image', 'image/png', 'output'],
			['3', 'animated', 'image/webp', 'output'],
			['5', 'video', 'video/mp4', 'output'],
			['6', 'video', 'video/mp4', 'output'],
			['7', 'animated', 'image/gif', 'output'],
			['11', 'audio', 'audio/flac', 'output'],
			['12', 'image', 'image/png', 'temp'],
			['12', 'image', 'image/png', 'temp'],
		]);
		expect(result.outputs.find((o) => o.nodeId === '6')?.format).toBe('video/h264-mp4');
		for (const file of result.outputs) {
			const { stream, mimeType, size } = await c.download(file);
			const chunks: Buffer[] = [];
			for await (const chunk of stream) chunks.push(chunk as Buffer);
			const bytes = Buffer.concat(chunks);
			expect(bytes.length).toBeGreaterThan(0);
			if (size !== undefined) expect(bytes.length).toBe(size);
			expect(mimeType).toBe(file.mimeType);
		}
	});

	it('enforces maxBytes while downloading', async () => {
		const graph = {
			'1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: freshColor() } },
			'2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'big/x' } },
		};
		const result = await c.watch((await c.submit(graph)).promptId, { totalMs: 10_000 });
		const file = result.outputs[0];
		const whole = await c.downloadBuffer(file);
		expect(whole.subarray(1, 4).toString()).toBe('PNG');
		await expect(c.downloadBuffer(file, { maxBytes: whole.length - 1 })).rejects.toBeInstanceOf(OutputTooLargeError);
		expect((await c.downloadBuffer(file, { maxBytes: whole.length })).equals(whole)).toBe(true);
		await expect(c.downloadBuffer({ filename: 'nope.png', subfolder: '', type: 'output' })).rejects.toMatchObject({ reason: 'unexpected-response', status: 404 });
	});

	it('uploads an input image once under its content hash and skips identical uploads', async () => {
		const png = encodePng({ width: 4, height: 4, color: freshColor() });
		const before = sim.records.uploads.length;
		const first = await c.uploadImage(png, 'photo.png');
		expect(first).toMatchObject({ subfolder: UPLOAD_SUBFOLDER, type: 'input', uploaded: true });
		expect(first.name).toMatch(/^[0-9a-f]{32}\.png$/);
		expect(first.reference).toBe(`${UPLOAD_SUBFOLDER}/${first.name}`);
		const second = await c.uploadImage(png, 'same-bytes-other-name.png');
		expect(second).toMatchObject({ name: first.name, reference: first.reference, uploaded: false });
		expect(sim.records.uploads.length).toBe(before + 1);

		const graph = {
			'1': { class_type: 'LoadImage', inputs: { image: first.reference } },
			'2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
			'3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'uploaded/inv' } },
		};
		const result = await c.watch((await c.submit(graph)).promptId, { totalMs: 10_000 });
		expect(result.outputs).toHaveLength(1);
	});
});
