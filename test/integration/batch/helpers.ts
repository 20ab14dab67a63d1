/**
 * Shared pieces of the batch integration tests: a txt2img graph whose cost is its KSampler steps,
 * runtimes on the test Redis with their own key prefix, and fleet-wide views of the simulators' records.
 */
import { buildScene } from '../../../src/cluster/sceneBuilder';
import type { SceneRequest } from '../../../src/cluster/scene';
import type { SceneSpec } from '../../../src/cluster/sceneBuilder';
import type { ComfyUiSimulator } from '../../sim';
import { deleteKeysUnder, TEST_REDIS } from '../../setup/redis';

export const REDIS = { mode: 'single' as const, ...TEST_REDIS };
export const FAST_BACKOFF = { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 };

export function txt2img(seed: number, steps = 10, ckpt = 'sd15.safetensors', extra: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
		'5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
		'6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
		'7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
		'3': { class_type: 'KSampler', inputs: { seed, steps, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
		'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
		'9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'batch' } },
		...extra,
	};
}

/** Scenes 0..n-1, each with its own seed (seed = base + index) so a run can be traced across the fleet. */
export function scenes(n: number, options: { steps?: number; ckpt?: string; base?: number; spec?: Partial<SceneSpec> } = {}): SceneRequest[] {
	const base = options.base ?? 1000;
	return Array.from({ length: n }, (_, index) =>
		buildScene({ index, workflow: txt2img(base + index, options.steps ?? 5, options.ckpt), download: false, ...options.spec }),
	);
}

export const CHECKPOINTS = { checkpoints: ['sd15.safetensors'] };

/** Seed of the KSampler in a recorded prompt. */
export function seedOf(prompt: Record<string, unknown>): number {
	const node = prompt['3'] as { inputs?: { seed?: number } } | undefined;
	return Number(node?.inputs?.seed);
}

/** How many times each seed started executing anywhere in the fleet. */
export function startsBySeed(sims: readonly ComfyUiSimulator[]): Map<number, number> {
	const counts = new Map<number, number>();
	for (const sim of sims) {
		const seeds = new Map(sim.records.prompts.map((p) => [p.promptId, seedOf(p.prompt)]));
		for (const id of sim.records.started) {
			const seed = seeds.get(id);
			if (seed !== undefined) counts.set(seed, (counts.get(seed) ?? 0) + 1);
		}
	}
	return counts;
}

/** Prompts added to a server from `from` on: how many it then held (queued or running). */
export function additionsSince(sim: ComfyUiSimulator, from: number): Array<{ at: number; active: number }> {
	return sim.records.activity.filter((p, i, all) => p.at >= from && i > 0 && p.active > all[i - 1].active);
}

/** Prompts still queued or running anywhere in the fleet. */
export function activeAnywhere(sims: readonly ComfyUiSimulator[]): string[] {
	return sims.flatMap((s) => s.activePromptIds());
}

export function uniquePrefix(name: string): string {
	return `test-batch-${name}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Deletes every key under a prefix in the test database. */
export async function cleanKeys(prefix: string): Promise<void> {
	await deleteKeysUnder(prefix);
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000, stepMs = 10): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, stepMs));
	}
}
