import { workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import type { ObjectInfo } from './objectInfo';
import { parseWorkflow } from './parse';
import { checkCapability, describeMissing, isCapable, outputNodeIds, requirements } from './requirements';
import { applySeedMode } from './seed';
import { workflowKey } from './workflowKey';

const objectInfo = workflowFixture<ObjectInfo>('object_info.json');
const txt2img = parseWorkflow(workflowFixture('txt2img.api.json'));
const hires = parseWorkflow(workflowFixture('reroute-primitive.api.json'));
const img2img = parseWorkflow(workflowFixture('bypass-mute.api.json'));

describe('requirements', () => {
	it('lists node classes and model inputs without a catalogue', () => {
		expect(requirements(hires)).toEqual({
			nodeClasses: [
				'CLIPTextEncode',
				'CheckpointLoaderSimple',
				'EmptyLatentImage',
				'KSampler',
				'KSamplerAdvanced',
				'LatentUpscale',
				'LoraLoader',
				'SaveImage',
				'VAEDecode',
			],
			comboValues: [
				{ nodeId: '1', classType: 'CheckpointLoaderSimple', input: 'ckpt_name', value: 'sd15/dreamshaper_8.safetensors' },
				{ nodeId: '2', classType: 'LoraLoader', input: 'lora_name', value: 'add_detail.safetensors' },
			],
		});
	});

	it('lists every combo value with a catalogue, marking upload combos', () => {
		const req = requirements(img2img, objectInfo);
		expect(req.comboValues).toEqual([
			{ nodeId: '1', classType: 'CheckpointLoaderSimple', input: 'ckpt_name', value: 'v1-5-pruned-emaonly.safetensors' },
			{ nodeId: '3', classType: 'LoadImage', input: 'image', value: 'portrait.png', upload: true },
			{ nodeId: '5', classType: 'ImageScale', input: 'upscale_method', value: 'lanczos' },
			{ nodeId: '5', classType: 'ImageScale', input: 'crop', value: 'center' },
			{ nodeId: '9', classType: 'KSampler', input: 'sampler_name', value: 'euler_ancestral' },
			{ nodeId: '9', classType: 'KSampler', input: 'scheduler', value: 'normal' },
		]);
	});
});

describe('checkCapability', () => {
	it('finds nothing missing on a server that has it all', () => {
		for (const graph of [txt2img, hires, img2img]) {
			const missing = checkCapability(requirements(graph, objectInfo), objectInfo);
			expect(missing).toEqual({ nodeClasses: [], values: [] });
			expect(isCapable(missing)).toBe(true);
		}
	});

	it('names missing classes and models, and ignores files that are uploaded per run', () => {
		const server = structuredClone(objectInfo);
		delete server.LatentUpscale;
		const lora = server.LoraLoader.input.required?.lora_name;
		if (!lora) throw new Error('fixture lacks LoraLoader.lora_name');
		lora[0] = ['film_grain_v2.safetensors'];
		const load = server.LoadImage.input.required?.image;
		if (!load) throw new Error('fixture lacks LoadImage.image');
		load[0] = [];
		const missing = checkCapability(requirements(hires), server);
		expect(missing).toEqual({
			nodeClasses: ['LatentUpscale'],
			values: [{ nodeId: '2', classType: 'LoraLoader', input: 'lora_name', value: 'add_detail.safetensors' }],
		});
		expect(isCapable(missing)).toBe(false);
		expect(describeMissing(missing)).toBe(
			'missing node classes LatentUpscale; lora_name "add_detail.safetensors" (node 2, LoraLoader)',
		);
		expect(checkCapability(requirements(img2img, server), server).values).toEqual([]);
	});

	it('counts a class named like a property every object inherits as missing, with and without the catalogue', () => {
		const inherited = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
		for (const classType of inherited) {
			const graph = { ...txt2img, '99': { class_type: classType, inputs: { ckpt_name: 'x.safetensors', image: ['8', 0] } } } as typeof txt2img;
			for (const catalogue of [undefined, objectInfo]) {
				const req = requirements(graph, catalogue);
				expect(checkCapability(req, objectInfo).nodeClasses).toEqual([classType]);
				expect(outputNodeIds(graph, catalogue)).not.toContain('99');
			}
		}
	});
});

describe('outputNodeIds', () => {
	it('uses output_node from the catalogue, or known save/preview classes', () => {
		expect(outputNodeIds(txt2img, objectInfo)).toEqual(['9']);
		expect(outputNodeIds(txt2img)).toEqual(['9']);
		const withPreview = structuredClone(img2img);
		withPreview['12'] = { class_type: 'PreviewImage', inputs: { images: ['10', 0] } };
		withPreview['13'] = { class_type: 'SaveAnimatedWEBP', inputs: { images: ['10', 0] } };
		expect(outputNodeIds(withPreview)).toEqual(['11', '12', '13']);
		// classes the catalogue knows follow it (ImageInvert is no output); others fall back to the names
		withPreview['14'] = { class_type: 'ImageInvert', inputs: { image: ['10', 0] } };
		expect(outputNodeIds(withPreview, objectInfo)).toEqual(['11', '12', '13']);
		const info = structuredClone(objectInfo);
		info.SaveImage.output_node = false;
		expect(outputNodeIds(withPreview, info)).toEqual(['12', '13']);
	});
});

describe('workflowKey', () => {
	it('is short and stable, and ignores seeds, prompt text, output names and titles', () => {
		const key = workflowKey(txt2img);
		expect(key).toMatch(/^[A-Za-z0-9_-]{16}$/);
		const varied = applySeedMode(txt2img, 'random', () => 0.5);
		varied['6'].inputs.text = 'a completely different prompt';
		varied['9'].inputs.filename_prefix = 'other';
		varied['3']._meta = { title: 'Renamed' };
		expect(workflowKey(varied)).toBe(key);
		// Literals that vary per scene without changing the work: cfg, denoise, scheduler, a colour.
		const literals = structuredClone(txt2img);
		literals['3'].inputs.cfg = 4.5;
		literals['3'].inputs.denoise = 0.8;
		literals['3'].inputs.scheduler = 'karras';
		(literals['5'].inputs as Record<string, unknown>).color = '#ff8800';
		literals['6'].inputs.text = 'short';
		expect(workflowKey(literals)).toBe(key);
		// key order does not matter
		const reordered = Object.fromEntries(Object.entries(txt2img).reverse());
		expect(workflowKey(reordered)).toBe(key);
	});

	it('changes with size, steps, models and links', () => {
		const key = workflowKey(txt2img);
		const changes: Array<(g: typeof txt2img) => void> = [
			(g) => (g['5'].inputs.width = 1024),
			(g) => (g['3'].inputs.steps = 21),
			(g) => (g['4'].inputs.ckpt_name = 'other.safetensors'),
			(g) => (g['3'].inputs.negative = ['6', 0]),
			(g) => (g['8'].class_type = 'VAEDecodeTiled'),
			(g) => (g['5'].inputs.batch_size = 4),
			(g) => (g['3'].inputs.sampler_name = 'dpmpp_2m'),
		];
		const keys = changes.map((change) => {
			const g = structuredClone(txt2img);
			change(g);
			return workflowKey(g);
		});
		for (const k of keys) expect(k).not.toBe(key);
		expect(new Set(keys).size).toBe(keys.length);
		expect(workflowKey(hires)).not.toBe(key);
	});
});
