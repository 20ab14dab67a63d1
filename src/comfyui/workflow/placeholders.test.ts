import { formatError, workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import { parseWorkflow } from './parse';
import { fillPlaceholders, listPlaceholders } from './placeholders';

const base = parseWorkflow(workflowFixture('txt2img.api.json'));

function templated() {
	const graph = structuredClone(base);
	graph['6'].inputs.text = 'a {{subject}} in {{ style }} style, {{subject}} close-up';
	graph['7'].inputs.text = 'blurry';
	graph['5'].inputs.width = '{{width}}';
	return graph;
}

describe('placeholders', () => {
	it('lists every use', () => {
		expect(listPlaceholders(templated())).toEqual([
			{ name: 'width', nodeId: '5', input: 'width' },
			{ name: 'subject', nodeId: '6', input: 'text' },
			{ name: 'style', nodeId: '6', input: 'text' },
			{ name: 'subject', nodeId: '6', input: 'text' },
		]);
		expect(listPlaceholders(base)).toEqual([]);
	});

	it('fills text and turns a whole-input placeholder with a number into that number', () => {
		const graph = templated();
		const before = structuredClone(graph);
		const filled = fillPlaceholders(graph, { subject: 'fox', style: 'ukiyo-e', width: 768 });
		expect(filled['6'].inputs.text).toBe('a fox in ukiyo-e style, fox close-up');
		expect(filled['5'].inputs.width).toBe(768);
		expect(filled['7'].inputs.text).toBe('blurry');
		expect(graph).toEqual(before);
		expect(fillPlaceholders(graph, { subject: 3, style: 'x', width: '640' })['6'].inputs.text).toBe('a 3 in x style, 3 close-up');
	});

	it('names placeholders left without a value, and where they are', () => {
		const error = formatError(() => fillPlaceholders(templated(), { subject: 'fox', width: 1 }));
		expect(error.message).toBe(
			'Placeholder {{style}} in node 6 (CLIPTextEncode "Positive") input "text" has no value (values given: subject, width)',
		);
		expect(error.nodeId).toBe('6');
		expect(error.key).toBe('text');
	});

	it('names values that match no placeholder, unless told to allow them', () => {
		const error = formatError(() => fillPlaceholders(templated(), { subject: 'fox', style: 'x', width: 1, mood: 'calm' }));
		expect(error.message).toBe(
			'No input of the workflow contains the placeholder {{mood}} (placeholders present: {{width}}, {{subject}}, {{style}})',
		);
		const filled = fillPlaceholders(templated(), { subject: 'fox', style: 'x', width: 1, mood: 'calm' }, { allowUnused: true });
		expect(filled['6'].inputs.text).toBe('a fox in x style, fox close-up');
		expect(formatError(() => fillPlaceholders(base, { a: 'b' })).message).toMatch(/placeholders present: none/);
	});
});
