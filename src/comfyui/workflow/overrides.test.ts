import { formatError, workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import { WorkflowFormatError } from './errors';
import { findNodeId } from './nodeRef';
import type { ObjectInfo } from './objectInfo';
import { applyOverrides } from './overrides';
import { parseWorkflow } from './parse';

const objectInfo = workflowFixture<ObjectInfo>('object_info.json');
const graph = parseWorkflow(workflowFixture('txt2img.api.json'));

describe('findNodeId', () => {
	it('finds by id, then by title', () => {
		expect(findNodeId(graph, '6')).toBe('6');
		expect(findNodeId(graph, 'Negative')).toBe('7');
		expect(findNodeId(graph, ' KSampler ')).toBe('3');
	});

	it('lists the ids sharing an ambiguous title', () => {
		const twin = structuredClone(graph);
		twin['7']._meta = { title: 'Positive' };
		expect(formatError(() => findNodeId(twin, 'Positive')).message).toBe(
			'The title "Positive" is used by 2 nodes: 6 (CLIPTextEncode "Positive"), 7 (CLIPTextEncode "Positive"). ' +
				'Use the node id instead, or give the nodes distinct titles',
		);
	});

	it('lists every node on a miss, with a hint for a near title', () => {
		const error = formatError(() => findNodeId(graph, 'positive prompt'));
		expect(error.message).toBe(
			'No node has the id or title "positive prompt". Nodes: 3 (KSampler), 4 (CheckpointLoaderSimple "Load Checkpoint"), ' +
				'5 (EmptyLatentImage "Empty Latent Image"), 6 (CLIPTextEncode "Positive"), 7 (CLIPTextEncode "Negative"), ' +
				'8 (VAEDecode "VAE Decode"), 9 (SaveImage "Save Image")',
		);
		expect(formatError(() => findNodeId(graph, 'positive')).message).toMatch(/Did you mean "Positive" \(node 6\)\?/);
		expect(() => findNodeId(graph, 'toString')).toThrow(WorkflowFormatError);
	});
});

describe('applyOverrides', () => {
	it('sets inputs by node id or title and leaves the given graph untouched', () => {
		const before = structuredClone(graph);
		const result = applyOverrides(graph, [
			{ node: 'Positive', input: 'text', value: 'a red fox' },
			{ node: '3', input: 'steps', value: 30 },
			{ node: 'Empty Latent Image', input: 'width', value: 768 },
		]);
		expect(result['6'].inputs.text).toBe('a red fox');
		expect(result['3'].inputs.steps).toBe(30);
		expect(result['5'].inputs.width).toBe(768);
		expect(graph).toEqual(before);
		expect(result['3']).not.toBe(graph['3']);
	});

	it('coerces numeric and boolean text to the declared type', () => {
		const result = applyOverrides(
			graph,
			[
				{ node: '3', input: 'steps', value: ' 25 ' },
				{ node: '3', input: 'cfg', value: '6.5' },
				{ node: '3', input: 'seed', value: '12345' },
				{ node: '9', input: 'filename_prefix', value: 2024 },
			],
			objectInfo,
		);
		expect(result['3'].inputs).toMatchObject({ steps: 25, cfg: 6.5, seed: 12345 });
		expect(result['9'].inputs.filename_prefix).toBe('2024');
		const withFlag = structuredClone(graph);
		withFlag['5'].inputs.tiled = false;
		expect(applyOverrides(withFlag, [{ node: '5', input: 'tiled', value: 'TRUE' }])['5'].inputs.tiled).toBe(true);
		expect(formatError(() => applyOverrides(withFlag, [{ node: '5', input: 'tiled', value: 'yes' }])).message).toBe(
			'Cannot set node 5 (EmptyLatentImage "Empty Latent Image") input "tiled" to "yes": it takes true or false, not "yes"',
		);
	});

	it('rejects values of the wrong type or out of range', () => {
		const cases: Array<[string, string, unknown, string]> = [
			['3', 'steps', 2.5, 'it takes a whole number, not 2.5'],
			['3', 'steps', 'twenty', 'it takes a whole number, not "twenty"'],
			['3', 'steps', 0, '0 is below the minimum 1'],
			['3', 'denoise', 1.5, '1.5 is above the maximum 1'],
			['3', 'cfg', { a: 1 }, 'it takes a number, not {"a":1}'],
			['6', 'text', { a: 1 }, 'it takes text, not {"a":1}'],
		];
		for (const [node, input, value, reason] of cases) {
			const error = formatError(() => applyOverrides(graph, [{ node, input, value }], objectInfo));
			expect(error.message).toContain(reason);
			expect(error.nodeId).toBe(node);
			expect(error.key).toBe(input);
		}
	});

	it('checks combo values against the server when it knows them', () => {
		const ok = applyOverrides(graph, [{ node: '4', input: 'ckpt_name', value: 'sd15/dreamshaper_8.safetensors' }], objectInfo);
		expect(ok['4'].inputs.ckpt_name).toBe('sd15/dreamshaper_8.safetensors');
		const error = formatError(() =>
			applyOverrides(graph, [{ node: 'Load Checkpoint', input: 'ckpt_name', value: 'sdxl.safetensors' }], objectInfo),
		);
		expect(error.message).toBe(
			'Cannot set node 4 (CheckpointLoaderSimple "Load Checkpoint") input "ckpt_name" to "sdxl.safetensors": ' +
				'"sdxl.safetensors" is not one of its options on this server ("sd15/dreamshaper_8.safetensors", "v1-5-pruned-emaonly.safetensors")',
		);
		// Without the catalogue any text goes.
		expect(applyOverrides(graph, [{ node: '4', input: 'ckpt_name', value: 'sdxl.safetensors' }])['4'].inputs.ckpt_name).toBe(
			'sdxl.safetensors',
		);
	});

	it('checks against the current value without a catalogue', () => {
		expect(applyOverrides(graph, [{ node: '3', input: 'cfg', value: '7.5' }])['3'].inputs.cfg).toBe(7.5);
		expect(formatError(() => applyOverrides(graph, [{ node: '3', input: 'cfg', value: 'high' }])).message).toContain(
			'it takes a number, not "high"',
		);
		expect(formatError(() => applyOverrides(graph, [{ node: '6', input: 'text', value: [1, 2, 3] }])).message).toContain(
			'it takes text, not [1,2,3]',
		);
	});

	it('refuses to overwrite a link unless the value is a link to an existing node', () => {
		const error = formatError(() => applyOverrides(graph, [{ node: '3', input: 'model', value: 'x' }]));
		expect(error.message).toBe(
			'Cannot set node 3 (KSampler) input "model" to "x": it is connected to node 4 (output 0); only a link ["node id", output index] may replace a link',
		);
		expect(applyOverrides(graph, [{ node: '8', input: 'samples', value: ['5', 0] }])['8'].inputs.samples).toEqual(['5', 0]);
		expect(formatError(() => applyOverrides(graph, [{ node: '8', input: 'samples', value: ['42', 0] }])).message).toBe(
			'Override of node 8 (VAEDecode "VAE Decode") input "samples" links to node 42, which is not in the workflow',
		);
		expect(formatError(() => applyOverrides(graph, [{ node: '8', input: 'vae', value: 'x' }], objectInfo)).message).toContain(
			'it is connected to node 4 (output 2)',
		);
	});

	it('refuses a literal on a connection-only input declared by the server', () => {
		const noLink = structuredClone(graph);
		delete noLink['8'].inputs.vae;
		expect(formatError(() => applyOverrides(noLink, [{ node: '8', input: 'vae', value: 'x' }], objectInfo)).message).toContain(
			'it takes a connection of type VAE',
		);
	});

	it('lists the node inputs when the input is missing, and allows declared inputs with a catalogue', () => {
		const error = formatError(() => applyOverrides(graph, [{ node: 'KSampler', input: 'sampler', value: 'euler' }]));
		expect(error.message).toBe(
			'Node 3 (KSampler) has no input "sampler" (the server catalogue was not consulted, so only inputs already present can be set). ' +
				'Its inputs: seed, steps, cfg, sampler_name, scheduler, denoise, model, positive, negative, latent_image',
		);
		const sparse = structuredClone(graph);
		delete sparse['3'].inputs.denoise;
		expect(applyOverrides(sparse, [{ node: '3', input: 'denoise', value: 0.5 }], objectInfo)['3'].inputs.denoise).toBe(0.5);
		expect(formatError(() => applyOverrides(graph, [{ node: '3', input: '__proto__', value: 1 }])).message).toContain('__proto__');
	});

	it('reports every failing override together', () => {
		const error = formatError(() =>
			applyOverrides(graph, [
				{ node: 'Nope', input: 'text', value: 'a' },
				{ node: '3', input: 'steps', value: 'many' },
				{ node: '6', input: 'text', value: 'fine' },
			]),
		);
		expect(error.problems).toHaveLength(2);
		expect(error.message).toMatch(/^Some overrides cannot be applied \(2 problems\):\n- Override of "text": No node has the id or title "Nope"/);
	});
});
