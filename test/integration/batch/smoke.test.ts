import { runBatch } from '../../../src/cluster';
import { buildScene } from '../../../src/cluster/sceneBuilder';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { startFleet, type Fleet } from '../../sim';

function txt2img(seed: number, steps = 10) {
	return {
		'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15.safetensors' } },
		'5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
		'6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
		'7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
		'3': { class_type: 'KSampler', inputs: { seed, steps, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
		'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
		'9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'smoke' } },
	};
}

describe('batch smoke', () => {
	let fleet: Fleet;
	afterEach(async () => {
		await closeAllRuntimes();
		await fleet?.stop();
	});
	it('runs scenes over three servers and returns images in order', async () => {
		fleet = await startFleet([1, 2, 3].map((speed) => ({ speed, msPerStep: 5, models: { checkpoints: ['sd15.safetensors'] } })));
		const runtime = await getRuntime({ servers: fleet.urls.join('\n') });
		const scenes = Array.from({ length: 8 }, (_, index) => buildScene({ index, workflow: txt2img(index + 1) }));
		const outcomes = await runBatch(runtime, scenes, { strategy: 'leastLoaded' });
		for (const o of outcomes) if (!o.ok) console.log(o.error.message);
		expect(outcomes.map((o) => o.ok)).toEqual(Array(8).fill(true));
		const servers = new Set(outcomes.map((o) => (o.ok ? o.result.serverId : '')));
		expect(servers.size).toBe(3);
		for (const o of outcomes) if (o.ok) expect(o.result.outputs[0].data!.subarray(1, 4).toString()).toBe('PNG');
	});
});
