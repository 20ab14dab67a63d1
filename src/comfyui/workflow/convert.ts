/** How a saved (UI) workflow becomes the API format ComfyUI queues. */
import { own } from '../../util/own';
import { WorkflowFormatError, type WorkflowProblem } from './errors';
import {
	declaredInputs,
	outputType,
	specType,
	type NodeClassInfo,
	type ObjectInfo,
} from './objectInfo';
import { asUiWorkflow } from './parse';
import type { ApiGraph, ApiNode, InputValue } from './types';
import {
	NodeMode,
	normaliseLink,
	uiWorkflowSchema,
	type UiLink,
	type UiNode,
	type UiWorkflow,
} from './uiFormat';
import { mapWidgetValues } from './widgets';

/**
 * Converts a ComfyUI UI ("Save") workflow to the API format, the way ComfyUI's frontend does when it
 * queues a prompt (graphToPrompt): widget values become literal inputs, links become [node id, slot],
 * Reroutes pass their link through, a PrimitiveNode's value becomes the literal on its targets, notes
 * are ignored, muted nodes are dropped (and inputs linked to them removed), bypassed nodes hand the
 * consumer the upstream link of their first input of a matching type.
 */

/** Frontend-only nodes that never reach the server. */
const NOTE_TYPES: ReadonlySet<string> = new Set(['Note', 'MarkdownNote', 'Note Plus (mtb)', 'Label (rgthree)']);
const REROUTE_TYPES: ReadonlySet<string> = new Set(['Reroute', 'Reroute (rgthree)']);
const PRIMITIVE_TYPE = 'PrimitiveNode';

type Resolved =
	| { kind: 'link'; nodeId: string; slot: number }
	| { kind: 'value'; value: unknown }
	| { kind: 'none' };

interface RuntimeInput {
	name: string;
	type: string;
	link: number | null;
}

function nodeLabel(node: UiNode): string {
	return node.title && node.title !== node.type ? `${node.id} (${node.type} "${node.title}")` : `${node.id} (${node.type})`;
}

/** Any-type and comma-separated type lists, as litegraph matches slot types. */
export function typesConnect(a: string, b: string): boolean {
	if (!a || !b || a === b || a === '*' || b === '*') return true;
	const left = a.toLowerCase().split(',');
	const right = b.toLowerCase().split(',');
	return left.some((t) => right.includes(t));
}

function wrapLiteral(value: unknown): InputValue {
	return Array.isArray(value) ? { __value__: value } : (value as InputValue);
}

class Converter {
	private readonly nodes = new Map<string, UiNode>();
	private readonly links = new Map<number, UiLink>();
	private readonly subgraphIds: Set<string>;
	readonly problems: WorkflowProblem[] = [];

	constructor(
		private readonly workflow: UiWorkflow,
		private readonly objectInfo: ObjectInfo,
	) {
		for (const node of workflow.nodes) this.nodes.set(String(node.id), node);
		for (const link of workflow.links) {
			const normalised = normaliseLink(link);
			this.links.set(normalised.id, normalised);
		}
		this.subgraphIds = new Set((workflow.definitions?.subgraphs ?? []).map((s) => s.id));
	}

	private fail(node: UiNode, message: string, key?: string): never {
		throw new WorkflowFormatError(`Node ${nodeLabel(node)} ${message}`, {
			nodeId: String(node.id),
			classType: node.type,
			key,
			path: `nodes[id=${node.id}]${key ? `.${key}` : ''}`,
		});
	}

	private isVirtual(node: UiNode): boolean {
		return NOTE_TYPES.has(node.type) || REROUTE_TYPES.has(node.type) || node.type === PRIMITIVE_TYPE;
	}

	convert(): ApiGraph {
		const output: ApiGraph = {};
		for (const node of this.workflow.nodes) {
			if (this.isVirtual(node)) continue;
			const mode = node.mode ?? NodeMode.always;
			if (mode === NodeMode.never || mode === NodeMode.bypass) continue;
			try {
				if (String(node.id) === '__proto__') this.fail(node, 'has an id that is not allowed');
				output[String(node.id)] = this.convertNode(node);
			} catch (error) {
				if (!(error instanceof WorkflowFormatError)) throw error;
				this.problems.push(...error.problems);
			}
		}
		if (this.problems.length > 0) {
			throw WorkflowFormatError.of(this.problems, 'The UI workflow cannot be converted to the API format');
		}
		// Inputs linked to nodes that were dropped (muted) are removed, as the frontend does.
		for (const node of Object.values(output)) {
			for (const [name, value] of Object.entries(node.inputs)) {
				if (Array.isArray(value) && value.length === 2 && !Object.hasOwn(output, String(value[0]))) delete node.inputs[name];
			}
		}
		if (Object.keys(output).length === 0) {
			throw new WorkflowFormatError('The UI workflow has no node that would run (all are notes, muted or bypassed)');
		}
		return output;
	}

	private classInfo(node: UiNode): NodeClassInfo {
		if (this.subgraphIds.has(node.type)) {
			this.fail(node, 'is a subgraph; subgraphs are not supported yet: unpack it in ComfyUI (right click → Unpack Subgraph) and save again');
		}
		if (node.type.startsWith('workflow>') || node.type.startsWith('workflow/')) {
			this.fail(node, 'is a group node; group nodes are not supported: convert it back to nodes in ComfyUI and save again');
		}
		const info = own(this.objectInfo, node.type);
		if (!info) {
			this.fail(
				node,
				`uses node class "${node.type}", which this server does not have (missing custom node?). ` +
					'Install it on the server, or mute/remove the node',
			);
		}
		return info;
	}

	private convertNode(node: UiNode): ApiNode {
		const info = this.classInfo(node);
		const inputs: Record<string, InputValue> = {};
		const mapped = mapWidgetValues(info, node.widgets_values);
		if (!mapped.ok) this.fail(node, `cannot be converted: ${mapped.reason}`, 'widgets_values');
		for (const [name, value] of Object.entries(mapped.values)) inputs[name] = wrapLiteral(value);

		for (const [index, input] of (node.inputs ?? []).entries()) {
			if (input.link === null || input.link === undefined) continue;
			if (input.name === '__proto__') this.fail(node, 'has an input named "__proto__", which is not allowed', `inputs[${index}]`);
			const resolved = this.resolveLink(node, input.link, String(input.type ?? ''), new Set(), `inputs[${index}]`);
			if (resolved.kind === 'link') inputs[input.name] = [resolved.nodeId, resolved.slot];
			else if (resolved.kind === 'value') inputs[input.name] = wrapLiteral(resolved.value);
			// 'none': nothing upstream (e.g. a bypassed node without a matching input); the widget value stays.
		}

		const title = node.title ?? info.display_name ?? node.type;
		return { inputs, class_type: node.type, _meta: { title } };
	}

	private resolveLink(consumer: UiNode, linkId: number, type: string, visited: Set<string>, key: string): Resolved {
		const link = this.links.get(linkId);
		if (!link) this.fail(consumer, `has an input linked by link ${linkId}, which is not in the workflow's links`, key);
		const origin = this.nodes.get(link.originId);
		if (!origin) {
			this.fail(consumer, `is linked (link ${linkId}) from node ${link.originId}, which is not in the workflow`, key);
		}
		return this.resolveOutput(origin, link.originSlot, type, visited);
	}

	private resolveInput(node: UiNode, input: RuntimeInput | undefined, type: string, visited: Set<string>): Resolved {
		if (!input || input.link === null) return { kind: 'none' };
		return this.resolveLink(node, input.link, type, visited, `inputs.${input.name}`);
	}

	private resolveOutput(node: UiNode, slot: number, type: string, visited: Set<string>): Resolved {
		const visit = `${node.id}:${slot}`;
		if (visited.has(visit)) this.fail(node, 'is part of a loop of links through reroutes or bypassed nodes');
		visited.add(visit);

		if ((node.mode ?? NodeMode.always) === NodeMode.bypass && !this.isVirtual(node)) {
			const inputs = this.runtimeInputs(node);
			const index = this.bypassSlot(node, inputs, slot, type);
			return index < 0 ? { kind: 'none' } : this.resolveInput(node, inputs[index], type, visited);
		}
		if (REROUTE_TYPES.has(node.type)) {
			const input = node.inputs?.[0];
			return this.resolveInput(node, input && { name: input.name, type: '*', link: input.link ?? null }, type, visited);
		}
		if (node.type === PRIMITIVE_TYPE) {
			const values = node.widgets_values;
			if (Array.isArray(values) && values.length > 0) return { kind: 'value', value: values[0] };
			if (values && !Array.isArray(values) && 'value' in values) return { kind: 'value', value: values.value };
			return { kind: 'none' };
		}
		if (NOTE_TYPES.has(node.type)) return { kind: 'none' };
		// Muted nodes resolve like live ones; the link is removed once all nodes are known.
		return { kind: 'link', nodeId: String(node.id), slot };
	}

	/** The node's input slots as the frontend holds them at run time: every declared input, in order. */
	private runtimeInputs(node: UiNode): RuntimeInput[] {
		const saved = node.inputs ?? [];
		const info = own(this.objectInfo, node.type);
		if (!info) return saved.map((i) => ({ name: i.name, type: String(i.type ?? ''), link: i.link ?? null }));
		const byName = new Map(saved.map((i) => [i.name, i]));
		const result: RuntimeInput[] = declaredInputs(info).map((d) => ({
			name: d.name,
			type: specType(d.spec),
			link: byName.get(d.name)?.link ?? null,
		}));
		for (const input of saved) {
			if (!result.some((r) => r.name === input.name)) {
				result.push({ name: input.name, type: String(input.type ?? ''), link: input.link ?? null });
			}
		}
		return result;
	}

	/** Which input of a bypassed node stands in for its output `slot` (litegraph's rule). */
	private bypassSlot(node: UiNode, inputs: RuntimeInput[], slot: number, type: string): number {
		if (type === '*' || type === '') return inputs.length > slot ? slot : 0;
		const outType = String(node.outputs?.[slot]?.type ?? outputType(own(this.objectInfo, node.type), slot) ?? '');
		const same = inputs[slot];
		if (same && typesConnect(same.type, outType) && typesConnect(same.type, type)) return slot;
		const exact = inputs.findIndex((i) => i.type === type);
		if (exact !== -1) return exact;
		return inputs.findIndex((i) => typesConnect(i.type, outType) && typesConnect(i.type, type));
	}
}

/**
 * Converts a UI-format workflow (object or JSON text) to an API-format graph, using the target server's
 * `/object_info` to learn each node's widget order. Throws a WorkflowFormatError naming every node that
 * cannot be converted.
 */
export function convertUiWorkflow(ui: unknown, objectInfo: ObjectInfo): ApiGraph {
	const raw = asUiWorkflow(ui);
	if (!raw) {
		throw new WorkflowFormatError('This is not a UI-format workflow (expected "nodes" and "links" arrays)');
	}
	const parsed = uiWorkflowSchema.safeParse(raw);
	if (!parsed.success) {
		const problems = parsed.error.issues.slice(0, 10).map((issue) => {
			const path = issue.path.join('.');
			const nodeIndex = issue.path[0] === 'nodes' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
			const rawNode = nodeIndex !== undefined ? (raw.nodes as unknown[])[nodeIndex] : undefined;
			const rawId = rawNode && typeof rawNode === 'object' ? (rawNode as { id?: unknown }).id : undefined;
			// Only an id that reads as one names the node; anything else would print as [object Object].
			const id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : undefined;
			return {
				message: `The UI workflow is malformed at ${path}${id !== undefined ? ` (node ${String(id)})` : ''}: ${issue.message}`,
				path,
				nodeId: id !== undefined ? String(id) : undefined,
			};
		});
		throw WorkflowFormatError.of(problems, 'The UI workflow is malformed');
	}
	return new Converter(parsed.data, objectInfo).convert();
}
