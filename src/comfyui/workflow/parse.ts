/** What a pasted workflow is: JSON text or an object read down to its graph, and which format (API or UI) it is in. */
import { z } from 'zod';

import { WorkflowFormatError, type WorkflowProblem } from './errors';
import type { ApiGraph, ApiNode, InputValue } from './types';

export type WorkflowFormat = 'api' | 'ui';

const nodeSchema = z
	.object({
		class_type: z
			.string({
				required_error: 'has no class_type (every API-format node needs one, e.g. "KSampler")',
				invalid_type_error: 'has a class_type that is not a string',
			})
			.min(1, 'has an empty class_type'),
		inputs: z
			.record(z.unknown(), { invalid_type_error: 'has inputs that are not an object of name → value' })
			.optional(),
		_meta: z.object({ title: z.string().optional() }).passthrough().optional(),
	})
	.passthrough();

/** Parse JSON text, with an error that says where the text breaks. */
export function parseJsonText(text: string, what = 'The workflow'): unknown {
	try {
		return JSON.parse(text);
	} catch (error) {
		const detail = error instanceof Error ? error.message : String(error);
		const position = /position (\d+)/.exec(detail);
		let where = '';
		if (position) {
			const offset = Number(position[1]);
			const before = text.slice(0, offset);
			const line = before.split('\n').length;
			const column = offset - before.lastIndexOf('\n');
			where = ` at line ${line}, column ${column}`;
		} else if (text.trim() === '') {
			throw new WorkflowFormatError(`${what} is empty: expected JSON text`, { path: '' });
		}
		throw new WorkflowFormatError(`${what} is not valid JSON${where}: ${detail}`, { path: '' });
	}
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function looksLikeUi(value: Record<string, unknown>): boolean {
	return Array.isArray(value.nodes) && (Array.isArray(value.links) || 'last_node_id' in value || 'version' in value);
}

function describeType(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	return `a ${typeof value}`;
}

/** Reads JSON text or an object down to the graph object, unwrapping `{"prompt": {...}}`. */
function unwrap(input: unknown): { value: Record<string, unknown>; path: string } {
	const root = typeof input === 'string' ? parseJsonText(input) : input;
	if (!isPlainObject(root)) {
		throw new WorkflowFormatError(
			`The workflow must be a JSON object of node id → node, but it is ${describeType(root)}`,
			{ path: '' },
		);
	}
	// `{"prompt": {...}, "client_id": ...}` (a /prompt body) or PNG metadata; unless "prompt" is a node id.
	const inner = root.prompt;
	if (inner !== undefined && !(isPlainObject(inner) && 'class_type' in inner)) {
		const value = typeof inner === 'string' ? parseJsonText(inner, 'The workflow in "prompt"') : inner;
		if (!isPlainObject(value)) {
			throw new WorkflowFormatError(
				`The workflow's "prompt" must be an object of node id → node, but it is ${describeType(value)}`,
				{ path: 'prompt', key: 'prompt' },
			);
		}
		return { value, path: 'prompt.' };
	}
	return { value: root, path: '' };
}

/** Says whether a workflow (JSON text or object) is in API format or ComfyUI's UI ("Save") format. */
export function detectFormat(input: unknown): WorkflowFormat {
	const { value } = unwrap(input);
	return looksLikeUi(value) ? 'ui' : 'api';
}

/** The UI-format object inside the input, when the input is one (for conversion). */
export function asUiWorkflow(input: unknown): Record<string, unknown> | undefined {
	const { value } = unwrap(input);
	return looksLikeUi(value) ? value : undefined;
}

/**
 * Parses an API-format graph from JSON text or an object, bare or wrapped as `{"prompt": {...}}`.
 * Every problem found is reported with the node id and key; links must point at existing nodes.
 */
export function parseWorkflow(input: unknown): ApiGraph {
	const { value, path } = unwrap(input);
	if (looksLikeUi(value)) {
		throw new WorkflowFormatError(
			'This is a UI-format workflow (what ComfyUI\'s "Save" writes: "nodes" and "links" arrays), not an API-format graph. ' +
				'Either export it with "Export (API)" in ComfyUI, or let it be converted using the server\'s node catalogue (/object_info).',
			{ path },
		);
	}
	const ids = Object.keys(value);
	if (ids.length === 0) {
		throw new WorkflowFormatError('The workflow has no nodes: expected an object of node id → {class_type, inputs}', {
			path,
		});
	}

	const problems: WorkflowProblem[] = [];
	const graph: ApiGraph = {};
	for (const id of ids) {
		const raw = value[id];
		if (id === '__proto__') {
			problems.push({ message: 'A node id may not be "__proto__"', path: `${path}${id}`, nodeId: id });
			continue;
		}
		if (!isPlainObject(raw)) {
			problems.push({
				message: `Node ${id} must be an object with class_type and inputs, but it is ${describeType(raw)}`,
				path: `${path}${id}`,
				nodeId: id,
			});
			continue;
		}
		const parsed = nodeSchema.safeParse(raw);
		if (!parsed.success) {
			for (const issue of parsed.error.issues) {
				const key = issue.path.length > 0 ? String(issue.path[0]) : undefined;
				problems.push({
					message: `Node ${id}${typeof raw.class_type === 'string' ? ` (${raw.class_type})` : ''} ${issue.message}`,
					path: `${path}${id}${issue.path.length ? `.${issue.path.join('.')}` : ''}`,
					nodeId: id,
					key,
				});
			}
			continue;
		}
		const node: ApiNode = { class_type: parsed.data.class_type, inputs: {} };
		for (const [name, v] of Object.entries(parsed.data.inputs ?? {})) {
			if (name === '__proto__') {
				problems.push({
					message: `Node ${id} (${node.class_type}) has an input named "__proto__", which is not allowed`,
					path: `${path}${id}.inputs.${name}`,
					nodeId: id,
					key: name,
				});
				continue;
			}
			node.inputs[name] = v as InputValue;
		}
		if (parsed.data._meta) node._meta = { ...parsed.data._meta };
		graph[id] = node;
	}

	// Links: any bare array is a link to [node id, output slot] (lists are sent wrapped as {__value__}).
	for (const [id, node] of Object.entries(graph)) {
		for (const [key, v] of Object.entries(node.inputs)) {
			if (!Array.isArray(v)) continue;
			const where = { path: `${path}${id}.inputs.${key}`, nodeId: id, classType: node.class_type, key };
			const [target, slot] = v as unknown[];
			const validId = typeof target === 'string' || (typeof target === 'number' && Number.isInteger(target));
			if (v.length !== 2 || !validId || typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0) {
				problems.push({
					...where,
					message:
						`Node ${id} (${node.class_type}) input "${key}" is a malformed link ${JSON.stringify(v)}: ` +
						'a link is [source node id, output index], e.g. ["4", 0]; a literal list must be written {"__value__": [...]}',
				});
				continue;
			}
			const targetId = String(target);
			if (!Object.hasOwn(value, targetId) || targetId === '__proto__') {
				problems.push({
					...where,
					message: `Node ${id} (${node.class_type}) input "${key}" links to node ${targetId}, which is not in the workflow (nodes: ${ids.join(', ')})`,
				});
				continue;
			}
			node.inputs[key] = [targetId, slot];
		}
	}
	if (problems.length > 0) throw WorkflowFormatError.of(problems, 'The workflow is not a valid API-format graph');
	return graph;
}
