import type { NodeBehaviour } from './catalogue';
import { encodeAnimatedWebp, encodeFlacHeader, encodeGif, encodeMp4, encodePng, encodeWebm, encodeWebp } from './media';

/**
 * What a node "computes" in the simulator: just enough metadata (size, batch, colour, seed) to write
 * plausible output files and to fail where the real node fails (e.g. scaling an image to 0 px).
 */
export interface SimValue {
	width: number;
	height: number;
	batch: number;
	color: number;
	seed: number;
	fps?: number;
	seconds?: number;
}

export interface FileRef {
	filename: string;
	subfolder: string;
	type: 'output' | 'temp' | 'input';
}

export interface NodeResult {
	outputs: SimValue[];
	ui?: Record<string, unknown>;
}

/** A node that raises, reported as the real server's `execution_error`. */
export class NodeRuntimeError extends Error {
	constructor(
		message: string,
		readonly exceptionType = 'RuntimeError',
	) {
		super(message);
	}
}

export interface NodeIo {
	/** next free counter for `<prefix>_NNNNN` in that folder (continues from files on disk) */
	nextCounter(type: 'output' | 'temp', subfolder: string, prefix: string): number;
	writeFile(type: 'output' | 'temp', subfolder: string, filename: string, bytes: Buffer): string;
	readInput(annotatedName: string): Buffer | null;
	/** random suffix for PreviewImage's temp prefix */
	randomLetters(n: number): string;
}

const DEFAULT_VALUE: SimValue = { width: 512, height: 512, batch: 1, color: 0x808080, seed: 0 };
/** Files stay small: pixels beyond this size are not worth generating for a simulator. */
const MAX_SIDE = 512;

function num(v: unknown, fallback: number): number {
	const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
	return Number.isFinite(n) ? n : fallback;
}

function str(v: unknown, fallback: string): string {
	return typeof v === 'string' ? v : v === undefined || v === null ? fallback : String(v);
}

/** The input that carries the pixels/latents (not the model or the conditioning). */
const MAIN_INPUTS = ['latent_image', 'samples', 'pixels', 'image', 'images', 'video', 'audio'];

function firstValue(inputs: Record<string, unknown>): SimValue {
	for (const k of MAIN_INPUTS) if (isSimValue(inputs[k])) return inputs[k] as SimValue;
	for (const v of Object.values(inputs)) if (isSimValue(v)) return v;
	return DEFAULT_VALUE;
}

export function isSimValue(v: unknown): v is SimValue {
	return typeof v === 'object' && v !== null && 'width' in v && 'batch' in v && 'color' in v;
}

/** A stable 24-bit colour from a seed, so different seeds give different pixels. */
function colorFromSeed(seed: number): number {
	let x = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
	x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
	x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
	return (x ^ (x >>> 16)) & 0xffffff;
}

function splitPrefix(prefix: string): { subfolder: string; base: string } {
	const norm = prefix.replace(/\\/g, '/');
	const i = norm.lastIndexOf('/');
	const subfolder = i >= 0 ? norm.slice(0, i) : '';
	const base = i >= 0 ? norm.slice(i + 1) : norm;
	if (subfolder.split('/').includes('..') || subfolder.startsWith('/')) {
		throw new NodeRuntimeError(`**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: ${subfolder}\n         output_dir: output`, 'Exception');
	}
	return { subfolder, base };
}

function scaledDims(v: SimValue): { width: number; height: number } {
	const k = Math.min(1, MAX_SIDE / Math.max(v.width, v.height));
	return { width: Math.max(1, Math.round(v.width * k)), height: Math.max(1, Math.round(v.height * k)) };
}

function saveImages(io: NodeIo, v: SimValue, type: 'output' | 'temp', prefix: string, text?: Record<string, string>): FileRef[] {
	const { subfolder, base } = splitPrefix(prefix);
	const files: FileRef[] = [];
	let counter = io.nextCounter(type, subfolder, base);
	const dims = scaledDims(v);
	for (let i = 0; i < Math.max(1, v.batch); i++) {
		const filename = `${base}_${String(counter).padStart(5, '0')}_.png`;
		io.writeFile(type, subfolder, filename, encodePng({ ...dims, color: v.color, seed: v.seed + i, text }));
		files.push({ filename, subfolder, type });
		counter++;
	}
	return files;
}

export function runNode(behaviour: NodeBehaviour, inputs: Record<string, unknown>, io: NodeIo, pngText?: Record<string, string>): NodeResult {
	const v = firstValue(inputs);
	switch (behaviour) {
		case 'checkpoint-loader':
			return { outputs: [v, v, v] };
		case 'passthrough':
			return { outputs: [v, v] };
		case 'empty-latent':
			// a video latent (EmptyHunyuanLatentVideo, EmptyLTXVLatentVideo, …) has `length` frames per batch item
			return { outputs: [{ ...DEFAULT_VALUE, width: num(inputs.width, 512), height: num(inputs.height, 512), batch: num(inputs.batch_size, 1) * num(inputs.length, 1) }] };
		case 'empty-image':
			return {
				outputs: [{ ...DEFAULT_VALUE, width: num(inputs.width, 512), height: num(inputs.height, 512), batch: num(inputs.batch_size, 1), color: num(inputs.color, 0) & 0xffffff }],
			};
		case 'sampler': {
			const seed = num(inputs.seed ?? inputs.noise_seed, 0);
			return { outputs: [{ ...v, seed: seed % 0x7fffffff, color: colorFromSeed(seed) }] };
		}
		case 'load-image': {
			const bytes = io.readInput(str(inputs.image, ''));
			if (!bytes) throw new NodeRuntimeError(`[Errno 2] No such file or directory: '${str(inputs.image, '')}'`, 'FileNotFoundError');
			const size = bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 ? { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) } : { width: 512, height: 512 };
			const img = { ...DEFAULT_VALUE, ...size, color: bytes.length > 40 ? bytes.readUIntBE(bytes.length - 40, 3) : 0x808080 };
			return { outputs: [img, { ...img }] };
		}
		case 'image-scale': {
			let width = num(inputs.width, 512);
			let height = num(inputs.height, 512);
			if (width === 0 && height === 0) return { outputs: [v] };
			if (width === 0) width = Math.max(1, Math.round((v.width * height) / v.height));
			if (height === 0) height = Math.max(1, Math.round((v.height * width) / v.width));
			return { outputs: [{ ...v, width, height }] };
		}
		case 'image-scale-by': {
			const s = num(inputs.scale_by, 1);
			const width = Math.round(v.width * s);
			const height = Math.round(v.height * s);
			if (width <= 0 || height <= 0) {
				throw new NodeRuntimeError(`Input and output sizes should be greater than 0, but got input (H: ${v.height}, W: ${v.width}) output (H: ${height}, W: ${width})\n`);
			}
			return { outputs: [{ ...v, width, height }] };
		}
		case 'image-invert':
			return { outputs: [{ ...v, color: ~v.color & 0xffffff }] };
		case 'progress-probe':
			return { outputs: [v] };
		case 'save-image':
			return { outputs: [], ui: { images: saveImages(io, v, 'output', str(inputs.filename_prefix, 'ComfyUI'), pngText) } };
		case 'preview-image':
			return { outputs: [], ui: { images: saveImages(io, v, 'temp', `ComfyUI_temp_${io.randomLetters(5)}`, pngText) } };
		case 'save-animated-webp': {
			const { subfolder, base } = splitPrefix(str(inputs.filename_prefix, 'ComfyUI'));
			const filename = `${base}_${String(io.nextCounter('output', subfolder, base)).padStart(5, '0')}_.webp`;
			const colors = Array.from({ length: Math.max(1, Math.min(v.batch, 16)) }, (_, i) => (v.color + i * 0x101010) & 0xffffff);
			io.writeFile('output', subfolder, filename, encodeAnimatedWebp({ ...scaledDims(v), colors, frameMs: Math.round(1000 / num(inputs.fps, 6)) }));
			return { outputs: [], ui: { images: [{ filename, subfolder, type: 'output' }], animated: [true] } };
		}
		case 'create-video':
			return { outputs: [{ ...v, fps: num(inputs.fps, 30) }] };
		case 'save-video':
		case 'save-webm': {
			const webm = behaviour === 'save-webm';
			const { subfolder, base } = splitPrefix(str(inputs.filename_prefix, webm ? 'ComfyUI' : 'video/ComfyUI'));
			const filename = `${base}_${String(io.nextCounter('output', subfolder, base)).padStart(5, '0')}_.${webm ? 'webm' : 'mp4'}`;
			const fps = num(inputs.fps, v.fps ?? 24);
			io.writeFile('output', subfolder, filename, webm ? encodeWebm() : encodeMp4({ frames: v.batch, fps, ...scaledDims(v) }));
			return { outputs: [], ui: { images: [{ filename, subfolder, type: 'output' }], animated: [true] } };
		}
		case 'vhs-video-combine': {
			const format = str(inputs.format, 'image/gif');
			const type = inputs.save_output === false ? 'temp' : 'output';
			const { subfolder, base } = splitPrefix(str(inputs.filename_prefix, 'AnimateDiff'));
			const counter = String(io.nextCounter(type, subfolder, base)).padStart(5, '0');
			const ext = format === 'image/gif' ? 'gif' : format === 'image/webp' ? 'webp' : format === 'video/webm' ? 'webm' : 'mp4';
			const filename = `${base}_${counter}.${ext}`;
			const frameRate = num(inputs.frame_rate, 8);
			const bytes =
				ext === 'gif' ? encodeGif(v.color) : ext === 'webp' ? encodeWebp({ ...scaledDims(v), color: v.color }) : ext === 'webm' ? encodeWebm() : encodeMp4({ frames: v.batch, fps: frameRate, ...scaledDims(v) });
			const fullpath = io.writeFile(type, subfolder, filename, bytes);
			const workflow = `${base}_${counter}.png`;
			io.writeFile(type, subfolder, workflow, encodePng({ width: 8, height: 8, color: v.color, text: pngText }));
			return {
				outputs: [v],
				ui: { gifs: [{ filename, subfolder, type, format, frame_rate: frameRate, workflow, fullpath }] },
			};
		}
		case 'empty-latent-audio':
			return { outputs: [{ ...DEFAULT_VALUE, batch: num(inputs.batch_size, 1), seconds: num(inputs.seconds, 47.6) }] };
		case 'vae-decode-audio':
			return { outputs: [{ ...v }] };
		case 'save-audio': {
			const { subfolder, base } = splitPrefix(str(inputs.filename_prefix, 'audio/ComfyUI'));
			let counter = io.nextCounter('output', subfolder, base);
			const files: FileRef[] = [];
			for (let i = 0; i < Math.max(1, v.batch); i++) {
				const filename = `${base}_${String(counter++).padStart(5, '0')}_.flac`;
				io.writeFile('output', subfolder, filename, encodeFlacHeader({ sampleRate: 44100, channels: 2, samples: Math.round((v.seconds ?? 1) * 44100) }));
				files.push({ filename, subfolder, type: 'output' });
			}
			return { outputs: [], ui: { audio: files } };
		}
	}
}
