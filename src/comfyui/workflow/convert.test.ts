import fc from 'fast-check';

import { formatError, workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import { convertUiWorkflow, typesConnect } from './convert';
import { WorkflowFormatError } from './errors';
import { loadWorkflow } from './load';
import type { ObjectInfo } from './objectInfo';
import { parseWorkflow } from './parse';
import type { ApiGraph } from './types';

const objectInfo = workflowFixture<ObjectInfo>('object_info.json');

interface UiFixture {
	nodes: Array<Record<string, unknown> & { id: number; type: string }>;
	links: unknown[][];
	[key: string]: unknown;
}

function ui(name: string): UiFixture {
	return workflowFixture<UiFixture>(name);
}

function node(workflow: UiFixture, id: number): UiFixture['nodes'][number] {
	const found = workflow.nodes.find((n) => n.id === id);
	if (!found) throw new Error(`fixture has no node ${id}`);
	return found;
}

function expectSameGraph(actual: ApiGraph, expected: ApiGraph): void {
	expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
	for (const id of Object.keys(expected)) {
		// Node by node, so that a failure names the node.
		expect({ id, ...actual[id] }).toEqual({ id, ...expected[id] });
	}
}

describe.each([
	['txt2img', 'a default text-to-image graph with a seed widget and its control value, a note and a group'],
	['reroute-primitive', 'Reroutes (chained) and PrimitiveNodes feeding widget inputs'],
	['bypass-mute', 'bypassed LoRA and image nodes, muted preview and save branches'],
])('convertUiWorkflow: %s (%s)', (name) => {
	it('gives the hand-written API-format equivalent, node by node', () => {
		const converted = convertUiWorkflow(ui(`${name}.ui.json`), objectInfo);
		const expected = parseWorkflow(workflowFixture(`${name}.api.json`));
		expectSameGraph(converted, expected);
		// and what it gives is itself a valid API-format graph
		expect(parseWorkflow(converted)).toEqual(converted);
	});

	it('reads the workflow as JSON text too, without changing its input', () => {
		const workflow = ui(`${name}.ui.json`);
		const before = structuredClone(workflow);
		expect(convertUiWorkflow(JSON.stringify(workflow), objectInfo)).toEqual(convertUiWorkflow(workflow, objectInfo));
		expect(workflow).toEqual(before);
	});
});

describe('convertUiWorkflow details', () => {
	it('skips the control-after-generate value of seeds, and reads workflows saved without it', () => {
		const workflow = ui('txt2img.ui.json');
		expect(convertUiWorkflow(workflow, objectInfo)['3'].inputs.steps).toBe(20);
		node(workflow, 3).widgets_values = [7, 20, 8, 'euler', 'normal', 1];
		const converted = convertUiWorkflow(workflow, objectInfo)['3'].inputs;
		expect(converted).toMatchObject({ seed: 7, steps: 20, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1 });
		// or with a null hole where the control widget was not serialised
		node(workflow, 3).widgets_values = [7, null, 21, 8, 'euler', 'normal', 1];
		expect(convertUiWorkflow(workflow, objectInfo)['3'].inputs).toMatchObject({ seed: 7, steps: 21 });
	});

	it('treats an INT named seed without a declaration as having a control value, as the frontend does', () => {
		const info = structuredClone(objectInfo);
		const seed = info.KSampler.input.required?.seed;
		if (!seed) throw new Error('fixture lacks KSampler.seed');
		delete seed[1]?.control_after_generate;
		expect(convertUiWorkflow(ui('txt2img.ui.json'), info)['3'].inputs.seed).toBe(156680208700286);
	});

	it('drops the dummy values old frontends stored for forceInput inputs', () => {
		const info = structuredClone(objectInfo);
		const steps = info.KSampler.input.required?.steps;
		if (!steps?.[1]) throw new Error('fixture lacks KSampler.steps');
		steps[1].forceInput = true;
		const workflow = ui('txt2img.ui.json');
		const inputs = convertUiWorkflow(workflow, info)['3'].inputs;
		expect(inputs).toMatchObject({ seed: 156680208700286, cfg: 8, sampler_name: 'euler', denoise: 1 });
		expect(inputs.steps).toBeUndefined();
		// A frontend from 1.16 on stores no value for it.
		node(workflow, 3).widgets_values = [156680208700286, 'randomize', 8, 'euler', 'normal', 1];
		expect(convertUiWorkflow(workflow, info)['3'].inputs).toMatchObject({ cfg: 8, sampler_name: 'euler', denoise: 1 });
	});

	it('fills widgets missing at the end with their defaults and ignores extra trailing values', () => {
		const workflow = ui('txt2img.ui.json');
		node(workflow, 3).widgets_values = [5, 'fixed', 30, 7];
		expect(convertUiWorkflow(workflow, objectInfo)['3'].inputs).toMatchObject({
			seed: 5,
			steps: 30,
			cfg: 7,
			sampler_name: 'euler',
			scheduler: 'simple',
			denoise: 1,
		});
		node(workflow, 5).widgets_values = [640, 480, 2, 'something new'];
		expect(convertUiWorkflow(workflow, objectInfo)['5'].inputs).toEqual({ width: 640, height: 480, batch_size: 2 });
	});

	it('reads widgets saved by name', () => {
		const workflow = ui('txt2img.ui.json');
		node(workflow, 5).widgets_values = { width: 1024, height: 1024 };
		expect(convertUiWorkflow(workflow, objectInfo)['5'].inputs).toEqual({ width: 1024, height: 1024, batch_size: 1 });
	});

	it('wraps list values and reads V3 combos', () => {
		const workflow = ui('txt2img.ui.json');
		workflow.nodes.push({
			id: 11,
			type: 'LatentBatchSeedBehavior',
			mode: 0,
			inputs: [{ name: 'samples', type: 'LATENT', link: 90 }],
			outputs: [{ name: 'LATENT', type: 'LATENT', links: [] }],
			widgets_values: ['random'],
		});
		workflow.links.push([90, 5, 0, 11, 0, 'LATENT']);
		const converted = convertUiWorkflow(workflow, objectInfo);
		expect(converted['11']).toEqual({
			class_type: 'LatentBatchSeedBehavior',
			inputs: { seed_behavior: 'random', samples: ['5', 0] },
			_meta: { title: 'LatentBatchSeedBehavior' },
		});
		const info: ObjectInfo = {
			...objectInfo,
			ListNode: { ...objectInfo.ImageInvert, name: 'ListNode', input: { required: { tags: ['*', {}] } }, input_order: {} },
		};
		info.ListNode.input.required = { tags: ['COMBO', { options: ['a', 'b'], multiselect: true }] };
		workflow.nodes.push({ id: 12, type: 'ListNode', mode: 0, inputs: [], outputs: [], widgets_values: [['a', 'b']] });
		expect(convertUiWorkflow(workflow, info)['12'].inputs).toEqual({ tags: { __value__: ['a', 'b'] } });
	});

	it('leaves out an input whose link leads through a bypassed node to nothing, and inputs linked to muted nodes', () => {
		const workflow = ui('bypass-mute.ui.json');
		// ImageScale 5 fed by bypassed ImageInvert 4, whose own input is now unconnected
		node(workflow, 4).inputs = [{ name: 'image', type: 'IMAGE', link: null }];
		expect(convertUiWorkflow(workflow, objectInfo)['5'].inputs.image).toBeUndefined();
		// SaveImage 11 fed by a muted VAEDecode: the link is removed, the node stays (the server will complain)
		node(workflow, 10).mode = 2;
		const converted = convertUiWorkflow(workflow, objectInfo);
		expect(converted['10']).toBeUndefined();
		expect(converted['11'].inputs).toEqual({ filename_prefix: 'img2img' });
	});

	it('passes a bypassed node through by matching type when the slot differs', () => {
		const workflow = ui('bypass-mute.ui.json');
		// CLIP output (slot 1) of the bypassed LoraLoader resolves to its clip input (slot 1)
		expect(convertUiWorkflow(workflow, objectInfo)['7'].inputs.clip).toEqual(['1', 1]);
		// A bypassed node with two inputs of one type: output slot 1 takes input slot 1, not the first match.
		const info: ObjectInfo = {
			...objectInfo,
			ImagePair: {
				...objectInfo.ImageInvert,
				name: 'ImagePair',
				input: { required: { first: ['IMAGE'], second: ['IMAGE'] } },
				input_order: { required: ['first', 'second'] },
				output: ['IMAGE', 'IMAGE'],
			},
		};
		workflow.nodes.push({
			id: 20,
			type: 'ImagePair',
			mode: 4,
			inputs: [
				{ name: 'first', type: 'IMAGE', link: 91 },
				{ name: 'second', type: 'IMAGE', link: 92 },
			],
			outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [] }, { name: 'IMAGE', type: 'IMAGE', links: [93] }],
		});
		workflow.links.push([91, 3, 0, 20, 0, 'IMAGE'], [92, 10, 0, 20, 1, 'IMAGE'], [93, 20, 1, 11, 0, 'IMAGE']);
		node(workflow, 11).inputs = [{ name: 'images', type: 'IMAGE', link: 93 }];
		expect(convertUiWorkflow(workflow, info)['11'].inputs.images).toEqual(['10', 0]);
		expect(typesConnect('IMAGE', '*')).toBe(true);
		expect(typesConnect('IMAGE,MASK', 'mask')).toBe(true);
		expect(typesConnect('IMAGE', 'LATENT')).toBe(false);
	});

	it('names a node whose class the server lacks', () => {
		const workflow = ui('txt2img.ui.json');
		node(workflow, 8).type = 'VAEDecodeTiled_Fancy';
		const error = formatError(() => convertUiWorkflow(workflow, objectInfo));
		expect(error.message).toBe(
			'Node 8 (VAEDecodeTiled_Fancy) uses node class "VAEDecodeTiled_Fancy", which this server does not have (missing custom node?). ' +
				'Install it on the server, or mute/remove the node',
		);
		expect(error.nodeId).toBe('8');
		expect(error.classType).toBe('VAEDecodeTiled_Fancy');
		// a muted or bypassed unknown node is no problem
		node(workflow, 8).mode = 2;
		expect(() => convertUiWorkflow(workflow, objectInfo)).not.toThrow();
	});

	it('names a node whose class is named like a property every object inherits as one the server lacks', () => {
		for (const classType of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
			const workflow = ui('txt2img.ui.json');
			node(workflow, 8).type = classType;
			const error = formatError(() => convertUiWorkflow(workflow, objectInfo));
			expect(error.message).toBe(`Node 8 (${classType}) uses node class "${classType}", which this server does not have (missing custom node?). Install it on the server, or mute/remove the node`);
		}
	});

	it('names a node whose widget values do not fit', () => {
		const workflow = ui('txt2img.ui.json');
		node(workflow, 3).widgets_values = ['randomize', 20, 8, 'euler', 'normal', 1];
		const error = formatError(() => convertUiWorkflow(workflow, objectInfo));
		expect(error.message).toMatch(
			/^Node 3 \(KSampler\) cannot be converted: its 6 widget values do not match the 7 widgets the server declares \("seed" \(INT\), the "control after generate" of "seed"/,
		);
		expect(error.message).toContain('value 1 ("randomize") does not fit "seed" (INT)');
		expect(error.key).toBe('widgets_values');
	});

	it('reports every node that cannot be converted', () => {
		const workflow = ui('txt2img.ui.json');
		node(workflow, 8).type = 'Nope1';
		node(workflow, 9).type = 'Nope2';
		const error = formatError(() => convertUiWorkflow(workflow, objectInfo));
		expect(error.problems.map((p) => p.nodeId)).toEqual(['8', '9']);
		expect(error.message).toMatch(/^The UI workflow cannot be converted to the API format \(2 problems\):/);
	});

	it('names broken links', () => {
		const workflow = ui('txt2img.ui.json');
		workflow.links = workflow.links.filter((l) => l[0] !== 9);
		expect(formatError(() => convertUiWorkflow(workflow, objectInfo)).message).toBe(
			"Node 9 (SaveImage) has an input linked by link 9, which is not in the workflow's links",
		);
		const other = ui('txt2img.ui.json');
		const link = other.links.find((l) => l[0] === 9);
		if (link) link[1] = 77;
		expect(formatError(() => convertUiWorkflow(other, objectInfo)).message).toBe(
			'Node 9 (SaveImage) is linked (link 9) from node 77, which is not in the workflow',
		);
	});

	it('detects loops of reroutes', () => {
		const workflow = ui('reroute-primitive.ui.json');
		// reroute 21 now takes its input from reroute 22, which takes it from 21
		const link = workflow.links.find((l) => l[0] === 3);
		if (link) link[1] = 22;
		expect(formatError(() => convertUiWorkflow(workflow, objectInfo)).message).toMatch(/loop of links/);
	});

	it('refuses subgraphs and group nodes with a way out', () => {
		const workflow = ui('txt2img.ui.json');
		node(workflow, 8).type = '9b8c7d6e-0000-4000-8000-000000000001';
		workflow.definitions = { subgraphs: [{ id: '9b8c7d6e-0000-4000-8000-000000000001', nodes: [] }] };
		expect(formatError(() => convertUiWorkflow(workflow, objectInfo)).message).toMatch(/is a subgraph; .*Unpack Subgraph/);
		node(workflow, 8).type = 'workflow>Decoder';
		expect(formatError(() => convertUiWorkflow(workflow, objectInfo)).message).toMatch(/is a group node/);
	});

	it('rejects malformed and empty UI workflows', () => {
		expect(formatError(() => convertUiWorkflow({ nodes: [{ id: 1 }], links: [] }, objectInfo)).message).toMatch(
			/^The UI workflow is malformed at nodes\.0\.type \(node 1\)/,
		);
		expect(formatError(() => convertUiWorkflow({ a: 1 }, objectInfo)).message).toMatch(/^This is not a UI-format workflow/);
		const notes = { nodes: [{ id: 1, type: 'Note', widgets_values: ['hi'] }], links: [], version: 0.4 };
		expect(formatError(() => convertUiWorkflow(notes, objectInfo)).message).toMatch(/has no node that would run/);
	});

	it('reads schema-1 link objects', () => {
		const workflow = ui('txt2img.ui.json');
		workflow.links = workflow.links.map((l) => ({
			id: l[0],
			origin_id: l[1],
			origin_slot: l[2],
			target_id: l[3],
			target_slot: l[4],
			type: l[5],
		})) as unknown as unknown[][];
		expectSameGraph(convertUiWorkflow(workflow, objectInfo), parseWorkflow(workflowFixture('txt2img.api.json')));
	});
});

describe('convertUiWorkflow on altered fixtures', () => {
	it('either converts to a valid API graph or throws a WorkflowFormatError', () => {
		const names = ['txt2img', 'reroute-primitive', 'bypass-mute'];
		const alteration = fc.record({
			name: fc.constantFrom(...names),
			modes: fc.array(fc.constantFrom(0, 0, 2, 4), { minLength: 20, maxLength: 20 }),
			dropLinks: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
			widgets: fc.array(fc.option(fc.array(fc.jsonValue(), { maxLength: 8 }), { nil: undefined }), { minLength: 20, maxLength: 20 }),
		});
		fc.assert(
			fc.property(alteration, ({ name, modes, dropLinks, widgets }) => {
				const workflow = ui(`${name}.ui.json`);
				workflow.nodes.forEach((n, i) => {
					n.mode = modes[i];
					if (widgets[i] !== undefined) n.widgets_values = widgets[i];
				});
				workflow.links = workflow.links.filter((_, i) => !dropLinks[i]);
				try {
					const converted = convertUiWorkflow(workflow, objectInfo);
					expect(parseWorkflow(converted)).toEqual(converted);
				} catch (error) {
					if (!(error instanceof WorkflowFormatError)) throw error;
				}
			}),
			{ numRuns: 300 },
		);
	});
});

describe('loadWorkflow', () => {
	it('takes API format as is and converts UI format with the catalogue', () => {
		const api = workflowFixture('txt2img.api.json');
		expect(loadWorkflow(api)).toEqual(parseWorkflow(api));
		expectSameGraph(loadWorkflow(ui('txt2img.ui.json'), objectInfo), parseWorkflow(api));
		expect(formatError(() => loadWorkflow(ui('txt2img.ui.json'))).message).toMatch(/needs the node catalogue/);
	});
});
