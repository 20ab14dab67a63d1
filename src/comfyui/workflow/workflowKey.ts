/** Which scenes count as the same workflow for speed averages: the graph without the literals that do not change its work. */
import { createHash } from 'node:crypto';

import { MODEL_INPUTS } from './requirements';
import { isLink, type ApiGraph } from './types';
import { WORK_INPUTS } from './work';

/** Literal inputs that change how long a workflow takes besides its size and steps. */
const STRUCTURE_INPUTS: ReadonlySet<string> = new Set(['sampler_name']);
/** A string input naming a model file, wherever it sits (custom loaders use their own input names). */
const MODEL_FILE = /\.(safetensors|ckpt|pt|pth|bin|gguf|sft|onnx)$/i;

/**
 * The part of an input that makes a workflow fast or slow: links, sizes, steps, frames, batch,
 * models and sampler. Every other literal (prompt text, seeds, colours, cfg, strengths, file names)
 * varies from scene to scene without changing the work, and is left out.
 */
function keyValue(input: string, value: unknown): unknown {
	if (isLink(value)) return { link: value };
	if (typeof value === 'number') return WORK_INPUTS.has(input) ? value : undefined;
	if (typeof value === 'string') return MODEL_INPUTS.has(input) || STRUCTURE_INPUTS.has(input) || MODEL_FILE.test(value) ? value : undefined;
	return undefined;
}

function stable(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
	if (value && typeof value === 'object') {
		const entries = Object.keys(value)
			.sort()
			.map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`);
		return `{${entries.join(',')}}`;
	}
	return JSON.stringify(value) ?? 'null';
}

/**
 * A short stable hash of a workflow's structure: class types, links, sizes, steps, frames, batch,
 * models and sampler. Scenes that differ only in what they say (prompts, seeds, colours, cfg) share
 * it, so the speed learned from one scene prices the next. Keys per-workflow speed averages.
 */
export function workflowKey(graph: ApiGraph): string {
	const shape = Object.keys(graph)
		.sort()
		.map((id) => {
			const node = graph[id];
			const inputs: Record<string, unknown> = {};
			for (const name of Object.keys(node.inputs ?? {}).sort()) {
				const v = keyValue(name, node.inputs[name]);
				if (v !== undefined) inputs[name] = v;
			}
			return [id, node.class_type, inputs];
		});
	return createHash('sha256').update(stable(shape)).digest('base64url').slice(0, 16);
}
