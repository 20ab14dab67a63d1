import fc from 'fast-check';

import { formatError, workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import { InvalidWorkflowError } from '../errors';
import { WorkflowFormatError } from './errors';
import { detectFormat, parseWorkflow } from './parse';

const graph = workflowFixture<Record<string, unknown>>('txt2img.api.json');

describe('parseWorkflow', () => {
	it('reads a bare graph object', () => {
		const parsed = parseWorkflow(graph);
		expect(Object.keys(parsed).sort()).toEqual(['3', '4', '5', '6', '7', '8', '9']);
		expect(parsed['3'].class_type).toBe('KSampler');
		expect(parsed['3'].inputs.model).toEqual(['4', 0]);
		expect(parsed['6']._meta?.title).toBe('Positive');
	});

	it('reads JSON text and the {"prompt": ...} wrapping, also with the prompt as JSON text', () => {
		const text = JSON.stringify(graph);
		expect(parseWorkflow(text)).toEqual(parseWorkflow(graph));
		expect(parseWorkflow({ prompt: graph, client_id: 'abc' })).toEqual(parseWorkflow(graph));
		expect(parseWorkflow(JSON.stringify({ prompt: graph }))).toEqual(parseWorkflow(graph));
		expect(parseWorkflow({ prompt: text })).toEqual(parseWorkflow(graph));
	});

	it('keeps a node whose id is "prompt"', () => {
		const parsed = parseWorkflow({ prompt: { class_type: 'PrimitiveString', inputs: { value: 'x' } } });
		expect(parsed.prompt.class_type).toBe('PrimitiveString');
	});

	it('does not change its input and normalises numeric link ids to strings', () => {
		const input = { '1': { class_type: 'A', inputs: {} }, '2': { class_type: 'B', inputs: { x: [1, 0] } } };
		const copy = structuredClone(input);
		const parsed = parseWorkflow(input);
		expect(parsed['2'].inputs.x).toEqual(['1', 0]);
		expect(input).toEqual(copy);
	});

	it('accepts a node without inputs and wrapped list values', () => {
		const parsed = parseWorkflow({ '1': { class_type: 'A' }, '2': { class_type: 'B', inputs: { l: { __value__: [1, 2] } } } });
		expect(parsed['1'].inputs).toEqual({});
		expect(parsed['2'].inputs.l).toEqual({ __value__: [1, 2] });
	});

	it('says where JSON text breaks', () => {
		const error = formatError(() => parseWorkflow('{\n  "3": {"class_type": "KSampler",}\n}'));
		expect(error.message).toMatch(/^The workflow is not valid JSON at line 2, column \d+/);
		expect(error).toBeInstanceOf(InvalidWorkflowError);
		expect(error.kind).toBe('invalid');
		expect(formatError(() => parseWorkflow('   ')).message).toBe('The workflow is empty: expected JSON text');
	});

	it('rejects what is not an object', () => {
		expect(formatError(() => parseWorkflow([1, 2])).message).toBe(
			'The workflow must be a JSON object of node id → node, but it is an array',
		);
		expect(formatError(() => parseWorkflow('42')).message).toMatch(/but it is a number$/);
		expect(formatError(() => parseWorkflow(null)).message).toMatch(/but it is null$/);
		expect(formatError(() => parseWorkflow({ prompt: [1] })).message).toBe(
			'The workflow\'s "prompt" must be an object of node id → node, but it is an array',
		);
	});

	it('rejects an empty graph', () => {
		expect(formatError(() => parseWorkflow({})).message).toMatch(/^The workflow has no nodes/);
		expect(formatError(() => parseWorkflow({ prompt: {} })).message).toMatch(/^The workflow has no nodes/);
	});

	it('names the node and key of a node without class_type', () => {
		const error = formatError(() => parseWorkflow({ '7': { inputs: { a: 1 } } }));
		expect(error.message).toBe('Node 7 has no class_type (every API-format node needs one, e.g. "KSampler")');
		expect(error.nodeId).toBe('7');
		expect(error.key).toBe('class_type');
		expect(error.path).toBe('7.class_type');
		expect(error.nodeErrors).toEqual([expect.objectContaining({ nodeId: '7', inputName: 'class_type' })]);
	});

	it('names a node whose inputs are not an object, and a node that is not an object', () => {
		const a = formatError(() => parseWorkflow({ '3': { class_type: 'KSampler', inputs: [1] } }));
		expect(a.message).toBe('Node 3 (KSampler) has inputs that are not an object of name → value');
		expect(a.key).toBe('inputs');
		const b = formatError(() => parseWorkflow({ prompt: { '5': 'KSampler' } }));
		expect(b.message).toBe('Node 5 must be an object with class_type and inputs, but it is a string');
		expect(b.path).toBe('prompt.5');
	});

	it('names links to missing nodes, listing the nodes there are', () => {
		const error = formatError(() =>
			parseWorkflow({ '1': { class_type: 'A', inputs: {} }, '2': { class_type: 'VAEDecode', inputs: { vae: ['9', 2] } } }),
		);
		expect(error.message).toBe('Node 2 (VAEDecode) input "vae" links to node 9, which is not in the workflow (nodes: 1, 2)');
		expect(error.nodeId).toBe('2');
		expect(error.key).toBe('vae');
		expect(error.path).toBe('2.inputs.vae');
	});

	it('names malformed links', () => {
		for (const bad of [['4'], ['4', 0, 1], ['4', '0'], ['4', -1], ['4', 0.5], [{}, 0]]) {
			const error = formatError(() =>
				parseWorkflow({ '4': { class_type: 'A', inputs: {} }, '5': { class_type: 'B', inputs: { x: bad } } }),
			);
			expect(error.message).toContain('Node 5 (B) input "x" is a malformed link');
			expect(error.message).toContain('{"__value__": [...]}');
			expect(error.key).toBe('x');
		}
	});

	it('reports every problem at once', () => {
		const error = formatError(() =>
			parseWorkflow({ '1': {}, '2': { class_type: 'B', inputs: { x: ['8', 0] } }, '3': { class_type: 3 } }),
		);
		expect(error.problems).toHaveLength(3);
		expect(error.message).toMatch(/^The workflow is not a valid API-format graph \(3 problems\):\n- Node 1 /);
		expect(error.nodeErrors.map((e) => e.nodeId)).toEqual(['1', '3', '2']);
	});

	it('says when it was given a UI-format workflow', () => {
		const ui = workflowFixture('txt2img.ui.json');
		expect(formatError(() => parseWorkflow(ui)).message).toMatch(/^This is a UI-format workflow .*"Export \(API\)"/);
	});

	it('never throws anything but WorkflowFormatError on arbitrary values', () => {
		fc.assert(
			fc.property(fc.anything(), (value) => {
				try {
					parseWorkflow(value);
				} catch (error) {
					if (!(error instanceof WorkflowFormatError)) throw error;
				}
			}),
			{ numRuns: 500 },
		);
	});

	it('never throws anything but WorkflowFormatError on arbitrary JSON text and graph-like objects', () => {
		const inputValue = fc.oneof(
			fc.jsonValue(),
			fc.tuple(fc.oneof(fc.constantFrom('1', '2', '3'), fc.integer()), fc.oneof(fc.integer(), fc.string())),
		);
		const node = fc.record(
			{ class_type: fc.oneof(fc.string(), fc.integer()), inputs: fc.oneof(fc.dictionary(fc.string(), inputValue), fc.jsonValue()) },
			{ requiredKeys: [] },
		);
		const graphLike = fc.dictionary(fc.constantFrom('1', '2', '3', 'prompt', '__proto__', 'nodes'), node);
		fc.assert(
			fc.property(fc.oneof(fc.string(), fc.json(), graphLike, graphLike.map((g) => JSON.stringify(g))), (value) => {
				try {
					const parsed = parseWorkflow(value);
					// Whatever parses links only to nodes that exist.
					for (const n of Object.values(parsed)) {
						for (const v of Object.values(n.inputs)) if (Array.isArray(v)) expect(parsed[v[0] as string]).toBeDefined();
					}
				} catch (error) {
					if (!(error instanceof WorkflowFormatError)) throw error;
				}
			}),
			{ numRuns: 500 },
		);
	});
});

describe('detectFormat', () => {
	it('tells API from UI format, as text or object, wrapped or not', () => {
		expect(detectFormat(graph)).toBe('api');
		expect(detectFormat({ prompt: graph })).toBe('api');
		const ui = workflowFixture('txt2img.ui.json');
		expect(detectFormat(ui)).toBe('ui');
		expect(detectFormat(JSON.stringify(ui))).toBe('ui');
	});

	it('throws the same errors as parsing for what is neither', () => {
		expect(() => detectFormat('nope')).toThrow(WorkflowFormatError);
	});
});
