/** API-format graph: what `POST /prompt` takes as `prompt`. Node ids are strings. */

/** A connection to output `slot` of node `nodeId`. */
export type LinkValue = [nodeId: string, slot: number];

/** A literal list; bare arrays are reserved for links, so lists travel wrapped. */
export interface WrappedList {
	__value__: unknown[];
}

export type InputValue = string | number | boolean | null | LinkValue | WrappedList | { [key: string]: unknown };

export interface ApiNode {
	class_type: string;
	inputs: Record<string, InputValue>;
	_meta?: { title?: string };
}

export type ApiGraph = Record<string, ApiNode>;

export function isLink(value: unknown): value is LinkValue {
	return (
		Array.isArray(value) &&
		value.length === 2 &&
		typeof value[0] === 'string' &&
		typeof value[1] === 'number' &&
		Number.isInteger(value[1])
	);
}

export function isWrappedList(value: unknown): value is WrappedList {
	return (
		typeof value === 'object' &&
		value !== null &&
		!Array.isArray(value) &&
		Array.isArray((value as { __value__?: unknown }).__value__)
	);
}

/** Deep copy of a graph, so that no function here mutates what it was given. */
export function cloneGraph(graph: ApiGraph): ApiGraph {
	return structuredClone(graph);
}

/** `3 (KSampler "My sampler")` — how nodes are named in messages. */
export function describeNode(id: string, node: ApiNode | undefined): string {
	if (!node) return id;
	const title = node._meta?.title;
	return title && title !== node.class_type ? `${id} (${node.class_type} "${title}")` : `${id} (${node.class_type})`;
}

/** A short list of the graph's nodes for error messages. */
export function listNodes(graph: ApiGraph, limit = 40): string {
	const ids = Object.keys(graph);
	const shown = ids.slice(0, limit).map((id) => describeNode(id, graph[id]));
	return ids.length > limit ? `${shown.join(', ')}, … (${ids.length - limit} more)` : shown.join(', ');
}
