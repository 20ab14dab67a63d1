/**
 * Decides what loading a model costs a server: which node inputs name model files, how large each
 * file is (configured, or guessed from its name) and how long reading it takes — a fixed time per
 * file, or its size ÷ the disk's speed. Either is wall-clock time: the server's speed (its GPU) does
 * not divide it.
 */
import type { SimulatorOptions } from './types';

/** MB here and in the options is 2^20 bytes, as the byte figures of /system_stats count. */
export const MB = 1024 ** 2;
const GB = 1024 ** 3;

export interface ModelFile {
	name: string;
	bytes: number;
}

/** A value that names a model file (what ComfyUI's model folders hold). */
const MODEL_FILE = /\.(safetensors|sft|ckpt|pt|pth|bin|gguf)$/i;

/**
 * Sizes in GB when none is configured, by what the node loads (`<class>.<input>`), then by the file's
 * name; the first match wins. fp8 files are half their fp16 size.
 */
const GUESSES: Array<{ loads: RegExp; byName: Array<[RegExp, number]>; otherwise: number }> = [
	{ loads: /lora/i, byName: [[/xl/i, 0.2]], otherwise: 0.15 },
	{ loads: /upscale/i, byName: [], otherwise: 0.07 },
	{ loads: /vae/i, byName: [], otherwise: 0.3 },
	{ loads: /control_?net/i, byName: [[/xl/i, 2.5]], otherwise: 1.4 },
	{ loads: /clip|text_encoder/i, byName: [[/vision/i, 1.2], [/t5|umt5/i, 9.5], [/llava|llama|qwen|gemma/i, 9], [/clip_g|bigg/i, 1.4]], otherwise: 0.25 },
	{
		// checkpoints and diffusion models: SD1.5 ≈ 2 GB, SDXL ≈ 7 GB, video 15–30 GB
		loads: /./,
		byName: [
			[/wan.*1[._]3b/i, 2.8],
			[/wan|hunyuan|mochi|cosmos/i, 28],
			[/ltx|svd|video/i, 15],
			[/flux/i, 23],
			[/sd3/i, 10],
			[/xl|pony|illustrious/i, 7],
		],
		otherwise: 2,
	},
];

/** The size of a model file with nothing configured for it, guessed from its name. */
export function guessedBytes(loads: string, name: string): number {
	const guess = GUESSES.find((g) => g.loads.test(loads))!;
	const gb = guess.byName.find(([pattern]) => pattern.test(name))?.[1] ?? guess.otherwise;
	return Math.round((/fp8|e4m3|e5m2/i.test(name) ? gb / 2 : gb) * GB);
}

/**
 * The files a node reads from disk when it runs: every model-file value of a loader class (one whose
 * name holds "Loader": CheckpointLoaderSimple, UNETLoader, CLIPLoader, DualCLIPLoader, VAELoader,
 * LoraLoader, LoraLoaderModelOnly, ImageOnlyCheckpointLoader, UpscaleModelLoader, video model loaders…).
 */
export function modelFiles(classType: string, inputs: Record<string, unknown>, opts: SimulatorOptions): ModelFile[] {
	if (!classType.includes('Loader')) return [];
	const sizes = opts.modelMB ?? {};
	return Object.entries(inputs ?? {})
		.filter((e): e is [string, string] => typeof e[1] === 'string' && MODEL_FILE.test(e[1]))
		.map(([input, name]) => ({ name, bytes: Object.hasOwn(sizes, name) ? Math.round(sizes[name] * MB) : guessedBytes(`${classType}.${input}`, name) }));
}

/** How long reading the file takes, in ms of wall-clock time (0: loads cost nothing, the default). */
export function loadMs(file: ModelFile, opts: SimulatorOptions): number {
	const fixed = opts.modelLoadMs;
	if (typeof fixed === 'number') return fixed;
	if (fixed && Object.hasOwn(fixed, file.name)) return fixed[file.name];
	return opts.diskMBps && opts.diskMBps > 0 ? (file.bytes / MB / opts.diskMBps) * 1000 : 0;
}
