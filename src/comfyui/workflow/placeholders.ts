/** Which `{{name}}` placeholders a graph's string inputs hold, and what each is filled with. */
import { WorkflowFormatError, type WorkflowProblem } from './errors';
import { cloneGraph, describeNode, type ApiGraph } from './types';

/** `{{name}}` or `{{ name }}`; names are letters, digits, `_`, `-` and `.`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;

export interface PlaceholderUse {
	name: string;
	nodeId: string;
	input: string;
}

/** Every `{{name}}` inside the graph's string inputs, in node order. */
export function listPlaceholders(graph: ApiGraph): PlaceholderUse[] {
	const uses: PlaceholderUse[] = [];
	for (const [nodeId, node] of Object.entries(graph)) {
		for (const [input, value] of Object.entries(node.inputs)) {
			if (typeof value !== 'string') continue;
			for (const match of value.matchAll(PLACEHOLDER)) uses.push({ name: match[1], nodeId, input });
		}
	}
	return uses;
}

export interface FillOptions {
	/** Accept values that no placeholder uses (e.g. one value set shared by several workflows). Default false. */
	allowUnused?: boolean;
}

/**
 * Replaces `{{name}}` inside string inputs with `values[name]` and returns a new graph. An input that is
 * exactly one placeholder and gets a number becomes that number (so `"{{steps}}"` can feed an INT).
 * Placeholders left without a value, and values that name no placeholder, are errors listing what exists.
 */
export function fillPlaceholders(
	graph: ApiGraph,
	values: Record<string, string | number>,
	options: FillOptions = {},
): ApiGraph {
	const result = cloneGraph(graph);
	const uses = listPlaceholders(graph);
	const present = [...new Set(uses.map((u) => u.name))];
	const problems: WorkflowProblem[] = [];

	const missing = uses.filter((u) => !Object.prototype.hasOwnProperty.call(values, u.name));
	for (const use of missing) {
		problems.push({
			message:
				`Placeholder {{${use.name}}} in node ${describeNode(use.nodeId, graph[use.nodeId])} input "${use.input}" has no value` +
				` (values given: ${Object.keys(values).join(', ') || 'none'})`,
			nodeId: use.nodeId,
			classType: graph[use.nodeId].class_type,
			key: use.input,
			path: `${use.nodeId}.inputs.${use.input}`,
		});
	}
	if (!options.allowUnused) {
		for (const name of Object.keys(values)) {
			if (present.includes(name)) continue;
			problems.push({
				message: `No input of the workflow contains the placeholder {{${name}}} (placeholders present: ${present.map((p) => `{{${p}}}`).join(', ') || 'none'})`,
				key: name,
			});
		}
	}
	if (problems.length > 0) throw WorkflowFormatError.of(problems, 'The placeholders do not match the values');

	for (const node of Object.values(result)) {
		for (const [input, value] of Object.entries(node.inputs)) {
			if (typeof value !== 'string' || !value.includes('{{')) continue;
			const whole = WHOLE_PLACEHOLDER.exec(value);
			if (whole && typeof values[whole[1]] === 'number') {
				node.inputs[input] = values[whole[1]];
				continue;
			}
			node.inputs[input] = value.replace(PLACEHOLDER, (text: string, name: string) =>
				Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : text,
			);
		}
	}
	return result;
}
