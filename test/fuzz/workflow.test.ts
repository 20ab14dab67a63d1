/**
 * Fuzzing the workflow model: random JSON and text, and mutated real workflows (API and UI format),
 * through loading, conversion, overrides, placeholders, seeds and the scene builder. Every call
 * returns a graph or throws one of our ComfyUI error classes with a message.
 */
import fc from 'fast-check';
import { readFileSync } from 'fs';
import { join } from 'path';
import { buildScene } from '../../src/cluster/sceneBuilder';
import { ComfyUiError } from '../../src/comfyui/errors';
import { loadWorkflow, parseJsonText, parseWorkflow, requirements, workflowKey, type ObjectInfo } from '../../src/comfyui/workflow';
import { mangledJsonText, params, returnsOrThrowsDocumented } from './expect';
import { mutate, mutationArb } from './mutate';

const DIR = join(__dirname, '../fixtures/workflows');
const read = (name: string): unknown => JSON.parse(readFileSync(join(DIR, name), 'utf8'));
const objectInfo = read('object_info.json') as ObjectInfo;
const API = ['txt2img.api.json', 'bypass-mute.api.json', 'reroute-primitive.api.json'].map(read);
const UI = ['txt2img.ui.json', 'bypass-mute.ui.json', 'reroute-primitive.ui.json'].map(read);
const ALLOWED = [ComfyUiError];

const anyDocument = fc.oneof(
	fc.jsonValue({ maxDepth: 4 }),
	fc.anything({ maxDepth: 3 }),
	fc.dictionary(fc.string(), fc.record({ class_type: fc.oneof(fc.string(), fc.constantFrom('KSampler', 'SaveImage', 'CLIPTextEncode')), inputs: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] })),
);

/** After a load succeeds, the graph is usable by everything downstream. */
function downstream(graph: ReturnType<typeof loadWorkflow>): void {
	parseWorkflow(JSON.parse(JSON.stringify(graph)));
	requirements(graph, objectInfo);
	expect(typeof workflowKey(graph)).toBe('string');
}

describe('workflow fuzzing', () => {
	it('random documents load or fail with a workflow error', () => {
		fc.assert(
			fc.property(anyDocument, fc.boolean(), (doc, withInfo) => {
				const { value } = returnsOrThrowsDocumented(() => loadWorkflow(doc, withInfo ? objectInfo : undefined), ALLOWED);
				if (value) downstream(value);
			}),
			params(),
		);
	});

	it('random and broken JSON text parses or fails with a workflow error', () => {
		fc.assert(
			fc.property(mangledJsonText(fc.oneof(fc.constantFrom(...API, ...UI), fc.jsonValue({ maxDepth: 3 }))), (text) => {
				const parsed = returnsOrThrowsDocumented(() => parseJsonText(text), ALLOWED);
				if (parsed.error) return;
				const { value } = returnsOrThrowsDocumented(() => loadWorkflow(parsed.value, objectInfo), ALLOWED);
				if (value) downstream(value);
			}),
			params(),
		);
	});

	it('mutated API-format workflows load or fail with a workflow error', () => {
		fc.assert(
			fc.property(fc.constantFrom(...API), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (doc, mutations) => {
				const { value } = returnsOrThrowsDocumented(() => loadWorkflow(mutate(doc, mutations), objectInfo), ALLOWED);
				if (value) downstream(value);
			}),
			params(),
		);
	});

	it('mutated UI-format workflows convert or fail with a workflow error', () => {
		fc.assert(
			fc.property(fc.constantFrom(...UI), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (doc, mutations) => {
				const { value } = returnsOrThrowsDocumented(() => loadWorkflow(mutate(doc, mutations), objectInfo), ALLOWED);
				if (value) downstream(value);
			}),
			params(),
		);
	});

	it('scenes built with random overrides, placeholders and seed modes build or fail with a workflow error', () => {
		const ref = fc.oneof(fc.constantFrom('3', '4', '6', '9', 'KSampler', 'Positive Prompt', 'Save Image', '999', ''), fc.string());
		const input = fc.oneof(fc.constantFrom('seed', 'steps', 'cfg', 'text', 'ckpt_name', 'sampler_name', 'images', 'denoise', 'width'), fc.string());
		const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('12', '-5', '1e400', 'NaN', 'euler', ['4', 0], 2 ** 64, -0));
		fc.assert(
			fc.property(
				fc.constantFrom(...API, ...UI),
				fc.array(fc.record({ node: ref, input, value }), { maxLength: 4 }),
				fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.double())),
				fc.constantFrom('keep', 'random', 'increment', undefined),
				fc.boolean(),
				(workflow, overrides, placeholders, seedMode, withInfo) => {
					const { value: scene } = returnsOrThrowsDocumented(
						() =>
							buildScene(
								// eslint-disable-next-line @typescript-eslint/no-explicit-any
								{ index: 0, workflow, overrides, placeholders, seedMode: seedMode as any, random: () => 0.5 },
								withInfo ? objectInfo : undefined,
							),
						ALLOWED,
					);
					if (scene) downstream(scene.graph);
				},
			),
			params(),
		);
	});
});
