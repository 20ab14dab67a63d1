import { workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import { parseWorkflow } from './parse';
import type { ApiGraph } from './types';
import { expectedWork, isHeavy } from './work';

const txt2img = parseWorkflow(workflowFixture('txt2img.api.json'));
const hires = parseWorkflow(workflowFixture('reroute-primitive.api.json'));
const img2img = parseWorkflow(workflowFixture('bypass-mute.api.json'));

describe('expectedWork', () => {
	it('counts sampling steps times the latent size in 512² images', () => {
		// KSampler 20 steps on a 512 × 768 latent
		expect(expectedWork(txt2img)).toBeCloseTo(20 * 1.5, 10);
	});

	it('sizes each sampler by its own latent: a hires fix runs its second pass on the upscaled one', () => {
		// 25 steps at 512², then KSamplerAdvanced steps 12..20 (8 steps) at 768²
		expect(expectedWork(hires)).toBeCloseTo(25 * 1 + 8 * 2.25, 10);
	});

	it('takes frames and batch into account, so a video weighs what it costs', () => {
		const video: ApiGraph = {
			'1': { class_type: 'EmptyHunyuanLatentVideo', inputs: { width: 832, height: 480, length: 81, batch_size: 1 } },
			'2': { class_type: 'KSampler', inputs: { steps: 30, seed: 1, latent_image: ['1', 0] } },
		};
		expect(expectedWork(video)).toBeCloseTo((30 * 832 * 480 * 81) / 512 ** 2, 6);
		const batch: ApiGraph = {
			'1': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 4 } },
			'2': { class_type: 'KSampler', inputs: { steps: 10, latent_image: ['1', 0] } },
		};
		expect(expectedWork(batch)).toBe(40);
	});

	it('reads steps from schedulers and from primitive nodes, and assumes 20 when it cannot', () => {
		const custom: ApiGraph = {
			'1': { class_type: 'EmptySD3LatentImage', inputs: { width: 1024, height: 1024, batch_size: 1 } },
			'2': { class_type: 'PrimitiveInt', inputs: { value: 12 } },
			'3': { class_type: 'BasicScheduler', inputs: { steps: ['2', 0], scheduler: 'simple', denoise: 1 } },
			'4': { class_type: 'SamplerCustomAdvanced', inputs: { sigmas: ['3', 0], latent_image: ['1', 0] } },
		};
		// the scheduler has no latent of its own: the graph's largest size counts
		expect(expectedWork(custom)).toBe(12 * 4);
		const unknown: ApiGraph = {
			'1': { class_type: 'SomeStepsSource', inputs: {} },
			'2': { class_type: 'KSampler', inputs: { steps: ['1', 0] } },
		};
		expect(expectedWork(unknown)).toBe(20);
	});

	it('sizes img2img by the resized input image, and assumes one 512² image when the graph does not say', () => {
		// LoadImage → ImageScale 768² → VAEEncode → KSampler 30 steps
		expect(expectedWork(img2img)).toBeCloseTo(30 * 2.25, 10);
		const asItComes: ApiGraph = {
			'1': { class_type: 'LoadImage', inputs: { image: 'in.png' } },
			'2': { class_type: 'VAEEncode', inputs: { pixels: ['1', 0], vae: ['9', 2] } },
			'3': { class_type: 'KSampler', inputs: { steps: 25, latent_image: ['2', 0] } },
		};
		expect(expectedWork(asItComes)).toBe(25);
	});

	it('counts a graph without a sampler as one pass over its largest image', () => {
		const upscale: ApiGraph = {
			'1': { class_type: 'LoadImage', inputs: { image: 'in.png' } },
			'2': { class_type: 'ImageScale', inputs: { image: ['1', 0], width: 1024, height: 1024, upscale_method: 'lanczos', crop: 'disabled' } },
		};
		expect(expectedWork(upscale)).toBe(4);
		expect(expectedWork({ '1': { class_type: 'LoadImage', inputs: { image: 'in.png' } } })).toBe(1);
	});
});

describe('isHeavy', () => {
	const latent = (inputs: Record<string, number>): ApiGraph => ({ '1': { class_type: 'EmptyLatent', inputs }, '2': { class_type: 'KSampler', inputs: { steps: 20, latent_image: ['1', 0] } } });

	it('a video latent (more than one frame) is heavy; a single image, even with its sampler, is not', () => {
		expect(isHeavy(latent({ width: 832, height: 480, length: 81, batch_size: 1 }))).toBe(true);
		expect(isHeavy(latent({ width: 64, height: 64, length: 2 }))).toBe(true);
		expect(isHeavy(txt2img)).toBe(false);
		expect(isHeavy(latent({ width: 512, height: 512, length: 1 }))).toBe(false);
	});

	it('an animation batch or a large latent is heavy from eight 512² images on', () => {
		expect(isHeavy(latent({ width: 256, height: 256, batch_size: 64 }))).toBe(true);
		expect(isHeavy(latent({ width: 512, height: 512, batch_size: 8 }))).toBe(true);
		expect(isHeavy(latent({ width: 512, height: 512, batch_size: 7 }))).toBe(false);
	});
});
