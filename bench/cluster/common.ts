/**
 * Shared pieces of the cluster benchmark: a txt2img graph whose cost is its KSampler steps (every
 * other node costs nothing), and the simulator settings that make one cost unit last COST_UNIT_MS.
 */
import Redis from 'ioredis';
import type { ApiGraph } from '../../src/comfyui/client';
import { runBatch } from '../../src/cluster';
import { getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import type { RedisConfig } from '../../src/cluster/store/redisConnection';

export const MS_PER_STEP = 250;
export const STEPS_PER_UNIT = 4;
/** One cost unit at speed 1. */
export const COST_UNIT_MS = MS_PER_STEP * STEPS_PER_UNIT;
export const ZERO_CLASS_COSTS: Record<string, number> = {
	CheckpointLoaderSimple: 0,
	EmptyLatentImage: 0,
	CLIPTextEncode: 0,
	KSampler: 0,
	VAEDecode: 0,
	SaveImage: 0,
	SaveAnimatedWEBP: 0,
};
export const MODELS = { checkpoints: ['sd15.safetensors'] };

const SUBJECTS = ['a lighthouse at dusk', 'a fox in the snow', 'a street market in the rain', 'an old tram', 'a glass teapot', 'a mountain lake'];

/**
 * Scene `i` of a batch as users send them: its own prompt text and one other literal of its own
 * (cfg), besides its seed — not only the seed.
 */
export function scene(i: number, seed: number, cost: number, ckpt = 'sd15.safetensors'): ApiGraph {
	const g = graph(seed, cost);
	g['4'].inputs.ckpt_name = ckpt;
	g['6'].inputs.text = `${SUBJECTS[i % SUBJECTS.length]}, shot ${i}, cinematic light`;
	g['3'].inputs.cfg = 5 + (i % 7) * 0.5;
	return g;
}

/** A scene of `cost` units (cost 0: one step of a fleet whose msPerStep is 0). */
export function graph(seed: number, cost: number, width = 64): ApiGraph {
	const steps = Math.max(1, Math.round(cost * STEPS_PER_UNIT));
	return {
		'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15.safetensors' } },
		'5': { class_type: 'EmptyLatentImage', inputs: { width, height: 64, batch_size: 1 } },
		'6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
		'7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
		'3': { class_type: 'KSampler', inputs: { seed, steps, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
		'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
		'9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'bench' } },
	};
}

/**
 * A video scene of `cost` units: `frames` frames of size² in one latent batch, saved as one animated
 * WebP. Its working set on a simulated server grows with frames × size² (test/sim memory).
 */
export function video(i: number, seed: number, cost: number, frames: number, size: number): ApiGraph {
	const g = scene(i, seed, cost);
	g['5'].inputs = { width: size, height: size, batch_size: frames };
	g['9'] = { class_type: 'SaveAnimatedWEBP', inputs: { images: ['8', 0], filename_prefix: 'bench', fps: 8, lossless: false, quality: 80, method: 'default' } };
	return g;
}

/** LB = max(Σ cost ÷ Σ speed, max cost ÷ max speed), in seconds. */
export function lowerBound(costs: readonly number[], speeds: readonly number[]): number {
	const total = costs.reduce((a, b) => a + b, 0) / speeds.reduce((a, b) => a + b, 0);
	const longest = Math.max(...costs) / Math.max(...speeds);
	return (Math.max(total, longest) * COST_UNIT_MS) / 1000;
}

/** Deletes every key under a prefix of its own. */
export async function cleanKeys(redisConfig: RedisConfig & { mode: 'single' }, keyPrefix: string): Promise<void> {
	const redis = new Redis({ host: redisConfig.host, port: redisConfig.port, db: redisConfig.db, lazyConnect: true });
	await redis.connect();
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
		cursor = next;
		if (keys.length) await redis.del(...keys);
	} while (cursor !== '0');
	redis.disconnect();
}

let codeWarm = false;

/**
 * The first batch of a process runs code that is not compiled yet (a running n8n did that with its
 * first execution long ago): one scene of no cost, untimed, on a runtime and key prefix of its own,
 * once per process.
 */
export async function warmUpCode(urls: readonly string[], redis: RedisConfig & { mode: 'single' }): Promise<void> {
	if (codeWarm) return;
	codeWarm = true;
	const keyPrefix = `bench-warm-${process.pid}-${Date.now().toString(36)}`;
	const runtime = await getRuntime({ servers: urls.slice(-1).join('\n'), redis, keyPrefix });
	await runBatch(runtime, [buildScene({ index: 0, workflow: scene(0, 1, 0), download: false })], { strategy: 'leastLoaded' });
	await runtime.close();
	await cleanKeys(redis, keyPrefix);
}
