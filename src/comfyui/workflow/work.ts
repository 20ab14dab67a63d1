/**
 * How much GPU work a workflow asks for, read from its graph before it ever ran: a prior for
 * placing a workflow no server has timed yet, replaced by measured times as soon as there are any.
 *
 * Diffusion time is dominated by sampling, which grows with the number of steps and with the size
 * of the latent (pixels × frames × batch). One work unit is one sampling step on one 512 × 512
 * image, so a 20-step 512² image is 20 units and a 30-step 81-frame 832 × 480 video about 3 700.
 */
import { isLink, type ApiGraph, type InputValue } from './types';

const UNIT_PIXELS = 512 * 512;
/** Inputs that give the number of frames of a video latent. */
const FRAME_INPUTS = ['length', 'frames', 'num_frames', 'video_frames', 'frame_count'];
/** Number inputs that change the work of a graph: sizes, frames, batch, steps and the sampled window. */
export const WORK_INPUTS: ReadonlySet<string> = new Set([
	'width',
	'height',
	...FRAME_INPUTS,
	'batch_size',
	'steps',
	'start_at_step',
	'end_at_step',
	'scale_by',
	'megapixels',
]);
/** Inputs that carry a latent (or the image it is encoded from) into a node, followed upstream to find its size. */
const LATENT_INPUTS = ['latent_image', 'latent', 'samples', 'pixels', 'image', 'images'];
/** Steps assumed when a sampler's steps come from a node we cannot read. */
const UNKNOWN_STEPS = 20;
/** A graph without any sampler (upscaling, captioning, post-processing): one pass over the image. */
const NO_SAMPLER_STEPS = 1;

/** Expected work of a workflow in work units (steps × latent size, in 512² images). Always > 0. */
export function expectedWork(graph: ApiGraph): number {
	const largest = Math.max(0, ...Object.values(graph).map((node) => latentPixels(node.inputs ?? {})));
	const fallback = largest > 0 ? largest : UNIT_PIXELS;
	let work = 0;
	let samplers = 0;
	for (const node of Object.values(graph)) {
		const inputs = node.inputs ?? {};
		if (!('steps' in inputs)) continue;
		samplers++;
		work += samplerSteps(graph, inputs) * ((upstreamPixels(graph, inputs) ?? fallback) / UNIT_PIXELS);
	}
	return samplers > 0 ? Math.max(work, Number.EPSILON) : (NO_SAMPLER_STEPS * fallback) / UNIT_PIXELS;
}

/** A latent this large (pixels × frames × batch: eight 512² images) makes a scene heavy. */
export const HEAVY_LATENT = 8 * UNIT_PIXELS;

/**
 * Whether the graph is heavy: a video (a latent with more than one frame) or a latent of at least
 * HEAVY_LATENT (an animation batch, a large upscale). Its working set grows with the latent and
 * stays in the server's memory after the run.
 */
export function isHeavy(graph: ApiGraph): boolean {
	return Object.values(graph).some((node) => {
		const inputs = node.inputs ?? {};
		return latentPixels(inputs) >= HEAVY_LATENT || (latentPixels(inputs) > 0 && FRAME_INPUTS.some((name) => (literal(inputs[name]) ?? 1) > 1));
	});
}

/**
 * Size of the latent a sampler works on: the nearest node up its latent input that sets a size
 * (an empty latent, an upscale, a video latent, a resized input image). Undefined for schedulers and
 * for latents encoded from an input image as it comes, whose size the graph does not say.
 */
function upstreamPixels(graph: ApiGraph, inputs: Record<string, InputValue>): number | undefined {
	const seen = new Set<string>();
	let frontier: Array<InputValue | undefined> = LATENT_INPUTS.map((name) => inputs[name]);
	while (frontier.length > 0) {
		const next: Array<InputValue | undefined> = [];
		for (const value of frontier) {
			if (!isLink(value) || seen.has(value[0])) continue;
			seen.add(value[0]);
			const source = graph[value[0]]?.inputs ?? {};
			const pixels = latentPixels(source);
			if (pixels > 0) return pixels;
			next.push(...LATENT_INPUTS.map((name) => source[name]));
		}
		frontier = next;
	}
	return undefined;
}

/** Steps a sampler (or a scheduler feeding one) runs; KSamplerAdvanced runs only its start..end window. */
function samplerSteps(graph: ApiGraph, inputs: Record<string, InputValue>): number {
	const steps = numberOf(graph, inputs.steps) ?? UNKNOWN_STEPS;
	const start = numberOf(graph, inputs.start_at_step);
	const end = numberOf(graph, inputs.end_at_step);
	if (start === undefined && end === undefined) return Math.max(0, steps);
	return Math.max(0, Math.min(end ?? steps, steps) - (start ?? 0));
}

/** Pixels × frames × batch of a node that sets a latent or image size, else 0. */
function latentPixels(inputs: Record<string, InputValue>): number {
	const width = literal(inputs.width);
	const height = literal(inputs.height);
	if (width === undefined || height === undefined) return 0;
	const frameInput = FRAME_INPUTS.find((name) => literal(inputs[name]) !== undefined);
	const frames = frameInput ? literal(inputs[frameInput])! : 1;
	const batch = literal(inputs.batch_size) ?? 1;
	return Math.max(0, width) * Math.max(0, height) * Math.max(1, frames) * Math.max(1, batch);
}

/** A number input, or the value of the primitive node it links to. */
function numberOf(graph: ApiGraph, value: InputValue | undefined): number | undefined {
	if (isLink(value)) {
		const source = graph[value[0]]?.inputs ?? {};
		return literal(source.value) ?? literal(source.int) ?? literal(source.number);
	}
	return literal(value);
}

function literal(value: InputValue | undefined): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
