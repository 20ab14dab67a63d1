import { classDef, type Catalogue, type InputSpec, type NodeClassDef } from './catalogue';

/** Prompt validation as ComfyUI's `execution.validate_prompt` does it (messages and shapes of 0.3.64). */

export interface PromptNode {
	class_type: string;
	inputs: Record<string, unknown>;
}
export type Prompt = Record<string, PromptNode>;

export interface NodeErrorReason {
	type: string;
	message: string;
	details: string;
	extra_info: Record<string, unknown>;
}
export interface NodeErrors {
	[nodeId: string]: { errors: NodeErrorReason[]; dependent_outputs: string[]; class_type: string };
}
export interface TopError {
	type: string;
	message: string;
	details: string;
	extra_info: Record<string, unknown>;
}

export type ValidationResult =
	| { ok: true; outputs: string[]; nodeErrors: NodeErrors }
	| { ok: false; error: TopError; nodeErrors: NodeErrors };

export interface ValidationContext {
	catalogue: Catalogue;
	/** options of a combo input, resolved for this server (models, input files) */
	comboOptions(def: NodeClassDef, inputName: string, spec: InputSpec): string[] | null;
	/** LoadImage-style custom validation: returns an error text or null */
	customValidate(def: NodeClassDef, inputName: string, value: unknown): string | null;
	partialTargets?: string[];
}

export function isLink(v: unknown): v is [string, number] {
	return Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number') && typeof v[1] === 'number';
}

/** Python's str() of a list of strings, as the real error details show it. */
function pyList(items: string[]): string {
	return '[' + items.map((s) => `'${s}'`).join(', ') + ']';
}

function topError(type: string, message: string, details: string): TopError {
	return { type, message, details, extra_info: {} };
}

export function validatePrompt(prompt: unknown, ctx: ValidationContext): ValidationResult {
	if (prompt === null || typeof prompt !== 'object' || Array.isArray(prompt)) {
		return { ok: false, error: topError('invalid_prompt', 'Cannot execute because the prompt is not an object.', ''), nodeErrors: {} };
	}
	const p = prompt as Record<string, unknown>;
	const outputs: string[] = [];
	for (const [id, node] of Object.entries(p)) {
		const n = node as Partial<PromptNode> | null;
		if (!n || typeof n !== 'object' || n.class_type === undefined) {
			return {
				ok: false,
				error: topError('invalid_prompt', 'Cannot execute because a node is missing the class_type property.', `Node ID '#${id}'`),
				nodeErrors: {},
			};
		}
		const def = classDef(ctx.catalogue, String(n.class_type));
		if (!def) {
			return {
				ok: false,
				error: topError('invalid_prompt', `Cannot execute because node ${String(n.class_type)} does not exist.`, `Node ID '#${id}'`),
				nodeErrors: {},
			};
		}
		if (def.info.output_node) outputs.push(id);
	}
	let targets = outputs;
	if (ctx.partialTargets) targets = outputs.filter((o) => ctx.partialTargets!.includes(o));
	if (targets.length === 0) {
		return { ok: false, error: topError('prompt_no_outputs', 'Prompt has no outputs', ''), nodeErrors: {} };
	}

	const graph = p as Prompt;
	const validated = new Map<string, { valid: boolean; reasons: NodeErrorReason[] }>();
	const good: string[] = [];
	const outputErrors: Array<[string, NodeErrorReason[]]> = [];
	const nodeErrors: NodeErrors = {};
	for (const o of targets) {
		let valid: boolean;
		let reasons: NodeErrorReason[];
		try {
			const r = validateNode(graph, o, validated, ctx, new Set());
			valid = r.valid;
			reasons = r.reasons;
		} catch (ex) {
			valid = false;
			reasons = [
				{
					type: 'exception_during_validation',
					message: 'Exception when validating node',
					details: ex instanceof Error ? ex.message : String(ex),
					extra_info: { exception_type: 'KeyError', traceback: [] },
				},
			];
			validated.set(o, { valid: false, reasons });
		}
		if (valid) {
			good.push(o);
			continue;
		}
		if (reasons.length > 0) outputErrors.push([o, reasons]);
		// As the real server: every invalid node with reasons lists each failed output.
		for (const [nodeId, result] of validated) {
			if (result.valid || result.reasons.length === 0) continue;
			if (!nodeErrors[nodeId]) {
				nodeErrors[nodeId] = { errors: result.reasons, dependent_outputs: [], class_type: graph[nodeId].class_type };
			}
			nodeErrors[nodeId].dependent_outputs.push(o);
		}
	}
	if (good.length === 0) {
		const details = outputErrors.flatMap(([, rs]) => rs.map((r) => `${r.message}: ${r.details}`)).join('\n');
		return {
			ok: false,
			error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details, extra_info: {} },
			nodeErrors,
		};
	}
	return { ok: true, outputs: good, nodeErrors };
}

function validateNode(
	graph: Prompt,
	id: string,
	validated: Map<string, { valid: boolean; reasons: NodeErrorReason[] }>,
	ctx: ValidationContext,
	visiting: Set<string>,
): { valid: boolean; reasons: NodeErrorReason[] } {
	const done = validated.get(id);
	if (done) return done;
	const node = graph[id];
	if (!node) throw new Error(`'${id}'`);
	const def = classDef(ctx.catalogue, node.class_type);
	if (!def) throw new Error(`'${node.class_type}'`);
	visiting.add(id);
	const inputs = node.inputs ?? {};
	const required = def.info.input.required ?? {};
	const optional = def.info.input.optional ?? {};
	const reasons: NodeErrorReason[] = [];
	let valid = true;
	const names = [...Object.keys(required), ...Object.keys(optional).filter((k) => k in inputs)];
	for (const name of names) {
		const spec = (required[name] ?? optional[name]) as InputSpec;
		const type = spec[0];
		const opts = (spec[1] ?? {}) as Record<string, unknown>;
		if (!(name in inputs)) {
			if (name in required) {
				reasons.push({ type: 'required_input_missing', message: 'Required input is missing', details: name, extra_info: { input_name: name } });
				valid = false;
			}
			continue;
		}
		const val = inputs[name];
		if (isLink(val)) {
			const srcId = String(val[0]);
			const src = graph[srcId];
			if (!src) throw new Error(`'${srcId}'`);
			const srcDef = classDef(ctx.catalogue, src.class_type);
			if (!srcDef) throw new Error(`'${src.class_type}'`);
			const received = srcDef.info.output[val[1]];
			const expected = typeof type === 'string' ? type : 'COMBO';
			if (!typesMatch(received, expected)) {
				reasons.push({
					type: 'return_type_mismatch',
					message: 'Return type mismatch between linked nodes',
					details: `${name}, received_type(${received}) mismatch input_type(${expected})`,
					extra_info: { input_name: name, input_config: spec, received_type: received, linked_node: val },
				});
				valid = false;
				continue;
			}
			if (visiting.has(srcId)) continue;
			const r = validateNode(graph, srcId, validated, ctx, visiting);
			if (!r.valid) valid = false;
			continue;
		}
		if (Array.isArray(val)) {
			reasons.push({
				type: 'bad_linked_input',
				message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
				details: name,
				extra_info: { input_name: name, input_config: spec, received_value: val },
			});
			valid = false;
			continue;
		}
		if (def.customValidated?.includes(name)) {
			const msg = ctx.customValidate(def, name, val);
			if (msg) {
				reasons.push({ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: `${name} - ${msg}`, extra_info: { input_name: name } });
				valid = false;
			}
			continue;
		}
		const scalar = checkScalar(name, spec, type, opts, val);
		if (scalar) {
			reasons.push(scalar);
			valid = false;
			continue;
		}
		const combo = Array.isArray(type) || type === 'COMBO' ? ctx.comboOptions(def, name, spec) : null;
		if (combo && !combo.includes(String(val))) {
			const big = combo.length > 20;
			reasons.push({
				type: 'value_not_in_list',
				message: 'Value not in list',
				details: `${name}: '${String(val)}' not in ${big ? `(list of length ${combo.length})` : pyList(combo)}`,
				extra_info: { input_name: name, input_config: big ? null : [combo, opts], received_value: val },
			});
			valid = false;
		}
	}
	visiting.delete(id);
	const result = { valid, reasons };
	validated.set(id, result);
	return result;
}

function typesMatch(received: string | undefined, expected: string): boolean {
	if (received === undefined) return false;
	if (received === '*' || expected === '*') return true;
	const a = received.split(',');
	const b = expected.split(',');
	return a.some((t) => b.includes(t));
}

function checkScalar(name: string, spec: InputSpec, type: unknown, opts: Record<string, unknown>, val: unknown): NodeErrorReason | null {
	if (type !== 'INT' && type !== 'FLOAT') return null;
	const n = typeof val === 'number' ? val : typeof val === 'string' && val.trim() !== '' ? Number(val) : NaN;
	if (!Number.isFinite(n)) {
		return {
			type: 'invalid_input_type',
			message: `Failed to convert an input value to a ${type} value`,
			details: `${name}, ${String(val)}, invalid literal for ${type === 'INT' ? 'int' : 'float'}(): '${String(val)}'`,
			extra_info: { input_name: name, input_config: spec, received_value: val, exception_message: `could not convert '${String(val)}'` },
		};
	}
	const v = type === 'INT' ? Math.trunc(n) : n;
	if (typeof opts.min === 'number' && v < opts.min) {
		return {
			type: 'value_smaller_than_min',
			message: `Value ${v} smaller than min of ${opts.min}`,
			details: name,
			extra_info: { input_name: name, input_config: spec, received_value: v },
		};
	}
	if (typeof opts.max === 'number' && v > opts.max) {
		return {
			type: 'value_bigger_than_max',
			message: `Value ${v} bigger than max of ${opts.max}`,
			details: name,
			extra_info: { input_name: name, input_config: spec, received_value: v },
		};
	}
	return null;
}
