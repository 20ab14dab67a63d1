/**
 * The soak's scenes: a txt2img graph whose KSampler seed is unique per scene, so every start on any
 * simulator can be traced back to its scene. A "poisoned" scene carries an extra SaveImage node with
 * id POISON_NODE that every simulator is told to fail: an execution error that must not be retried.
 */
import { buildScene } from '../../src/cluster/sceneBuilder';
import type { SceneRequest } from '../../src/cluster/scene';

export const POISON_NODE = '99';
export const POISON_MESSAGE = 'Simulated node failure (soak)';

export interface SoakScene {
	index: number;
	seed: number;
	poisoned: boolean;
}

export function soakGraph(seed: number, steps: number, poisoned: boolean): Record<string, unknown> {
	return {
		'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15.safetensors' } },
		'5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
		'6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk', clip: ['4', 1] } },
		'7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
		'3': { class_type: 'KSampler', inputs: { seed, steps, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
		'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
		'9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'soak' } },
		...(poisoned ? { [POISON_NODE]: { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'poison' } } } : {}),
	};
}

export function soakScenes(list: readonly SoakScene[], steps: number, inactivityMs: number): SceneRequest[] {
	return list.map((s, position) =>
		buildScene({
			index: position,
			workflow: soakGraph(s.seed, steps, s.poisoned),
			download: true,
			timeouts: { inactivityMs },
		}),
	);
}

/** KSampler seed of a prompt as the simulator recorded it. */
export function seedOf(prompt: Record<string, unknown>): number | undefined {
	const node = prompt['3'] as { inputs?: { seed?: unknown } } | undefined;
	const seed = node?.inputs?.seed;
	return typeof seed === 'number' ? seed : undefined;
}
