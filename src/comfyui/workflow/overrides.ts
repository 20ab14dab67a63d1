/** What an override (node by id or title, input, value) does to a graph, with the value coerced to the input's type. */
import { own } from '../../util/own';
import { WorkflowFormatError, type WorkflowProblem } from './errors';
import { findNodeId } from './nodeRef';
import {
	comboOptions,
	findInputSpec,
	specOptions,
	specType,
	WIDGET_TYPES,
	type InputSpec,
	type ObjectInfo,
} from './objectInfo';
import { cloneGraph, describeNode, isLink, isWrappedList, type ApiGraph, type InputValue } from './types';

export interface Override {
	/** Node id, or the node's title (`_meta.title`). */
	node: string;
	/** Input name, e.g. `seed`, `text`, `ckpt_name`. */
	input: string;
	value: unknown;
}

type Coerced = { ok: true; value: InputValue } | { ok: false; reason: string };

const INT_PATTERN = /^[+-]?\d+$/;
const FLOAT_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function show(value: unknown): string {
	const text = JSON.stringify(value);
	if (text === undefined) return String(value);
	return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function toNumber(value: unknown, integer: boolean): number | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return value;
	if (typeof value === 'string') {
		const text = value.trim();
		if ((integer ? INT_PATTERN : FLOAT_PATTERN).test(text)) return Number(text);
	}
	return undefined;
}

function checkRange(value: number, spec: InputSpec | undefined): string | undefined {
	if (!spec) return undefined;
	const { min, max } = specOptions(spec);
	if (typeof min === 'number' && value < min) return `${value} is below the minimum ${min}`;
	if (typeof max === 'number' && value > max) return `${value} is above the maximum ${max}`;
	return undefined;
}

/** Coerces `value` to the type the input declares (object_info) or, failing that, its current value's type. */
export function coerceValue(value: unknown, current: InputValue | undefined, spec: InputSpec | undefined): Coerced {
	if (isLink(value)) return { ok: true, value };
	if (current !== undefined && isLink(current)) {
		return {
			ok: false,
			reason: `it is connected to node ${current[0]} (output ${current[1]}); only a link ["node id", output index] may replace a link`,
		};
	}
	const type = spec ? specType(spec) : literalType(current);
	if (spec && !WIDGET_TYPES.has(type)) {
		return { ok: false, reason: `it takes a connection of type ${type}; give a link ["node id", output index]` };
	}
	switch (type) {
		case 'INT': {
			const n = toNumber(value, true);
			if (n === undefined || !Number.isInteger(n)) return { ok: false, reason: `it takes a whole number, not ${show(value)}` };
			const range = checkRange(n, spec);
			return range ? { ok: false, reason: range } : { ok: true, value: n };
		}
		case 'FLOAT':
		case 'NUMBER': {
			// Without a declaration a whole number in the graph may be an INT or a whole FLOAT: accept any number.
			const n = toNumber(value, false);
			if (n === undefined) return { ok: false, reason: `it takes a number, not ${show(value)}` };
			const range = checkRange(n, spec);
			return range ? { ok: false, reason: range } : { ok: true, value: n };
		}
		case 'BOOLEAN': {
			if (typeof value === 'boolean') return { ok: true, value };
			if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) {
				return { ok: true, value: value.trim().toLowerCase() === 'true' };
			}
			return { ok: false, reason: `it takes true or false, not ${show(value)}` };
		}
		case 'STRING': {
			if (typeof value === 'string') return { ok: true, value };
			if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
			return { ok: false, reason: `it takes text, not ${show(value)}` };
		}
		case 'COMBO':
			return coerceCombo(value, spec);
		case 'LIST':
			if (Array.isArray(value)) return { ok: true, value: { __value__: value } };
			return { ok: false, reason: `it holds a list, not ${show(value)}` };
	}
	// Types we cannot judge (custom widgets, objects, null): accept JSON values; bare arrays would read as links.
	if (value === undefined) return { ok: false, reason: 'no value was given' };
	if (Array.isArray(value)) return { ok: true, value: { __value__: value } };
	return { ok: true, value: value as InputValue };
}

function coerceCombo(value: unknown, spec: InputSpec | undefined): Coerced {
	const options = spec ? comboOptions(spec) : undefined;
	if (spec && specOptions(spec).multiselect === true && Array.isArray(value)) {
		const unknown = options ? value.filter((v) => !options.includes(v as string)) : [];
		if (unknown.length > 0) return { ok: false, reason: `${show(unknown)} are not among its options` };
		return { ok: true, value: { __value__: value } };
	}
	if (typeof value !== 'string' && typeof value !== 'number') {
		return { ok: false, reason: `it takes one of its listed options, not ${show(value)}` };
	}
	if (options && !options.includes(value)) {
		const asText = options.find((o) => String(o) === String(value));
		if (asText !== undefined) return { ok: true, value: asText };
		const shown = options.slice(0, 20).map((o) => show(o)).join(', ');
		const more = options.length > 20 ? `, … (${options.length - 20} more)` : '';
		return { ok: false, reason: `${show(value)} is not one of its options on this server (${shown || 'none'}${more})` };
	}
	return { ok: true, value };
}

/** The widget type implied by a literal already in the graph. */
function literalType(current: InputValue | undefined): string {
	if (current === undefined) return 'ANY';
	if (current === null) return 'ANY';
	if (typeof current === 'boolean') return 'BOOLEAN';
	if (typeof current === 'number') return Number.isInteger(current) ? 'NUMBER' : 'FLOAT';
	if (typeof current === 'string') return 'STRING';
	if (isWrappedList(current)) return 'LIST';
	return 'ANY';
}

/**
 * Sets `inputs[input]` on nodes chosen by id or title and returns a new graph (the given one is left as it
 * was). Values are checked against the server's declaration when `objectInfo` is given, else against the
 * type of the value they replace. All problems are reported together.
 */
export function applyOverrides(graph: ApiGraph, overrides: Override[], objectInfo?: ObjectInfo): ApiGraph {
	const result = cloneGraph(graph);
	const problems: WorkflowProblem[] = [];
	for (const override of overrides) {
		let nodeId: string;
		try {
			nodeId = findNodeId(result, override.node);
		} catch (error) {
			if (!(error instanceof WorkflowFormatError)) throw error;
			problems.push({ message: `Override of "${override.input}": ${error.message}`, key: override.input });
			continue;
		}
		const node = result[nodeId];
		const where = { nodeId, classType: node.class_type, key: override.input, path: `${nodeId}.inputs.${override.input}` };
		const spec = findInputSpec(own(objectInfo, node.class_type), override.input);
		const current = Object.hasOwn(node.inputs, override.input) ? node.inputs[override.input] : undefined;
		if (override.input === '__proto__') {
			problems.push({ ...where, message: 'An input may not be named "__proto__"' });
			continue;
		}
		if (current === undefined && !spec) {
			const names = Object.keys(node.inputs);
			const declared = own(objectInfo, node.class_type)
				? ''
				: ' (the server catalogue was not consulted, so only inputs already present can be set)';
			problems.push({
				...where,
				message: `Node ${describeNode(nodeId, node)} has no input "${override.input}"${declared}. Its inputs: ${names.join(', ') || 'none'}`,
			});
			continue;
		}
		if (isLink(override.value) && !Object.hasOwn(result, override.value[0])) {
			problems.push({
				...where,
				message: `Override of node ${describeNode(nodeId, node)} input "${override.input}" links to node ${override.value[0]}, which is not in the workflow`,
			});
			continue;
		}
		const coerced = coerceValue(override.value, current, spec);
		if (!coerced.ok) {
			problems.push({
				...where,
				message: `Cannot set node ${describeNode(nodeId, node)} input "${override.input}" to ${show(override.value)}: ${coerced.reason}`,
			});
			continue;
		}
		node.inputs[override.input] = coerced.value;
	}
	if (problems.length > 0) throw WorkflowFormatError.of(problems, 'Some overrides cannot be applied');
	return result;
}
