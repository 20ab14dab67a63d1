import { createHash } from 'node:crypto';

import { SEED_INPUTS } from './seed';
import { isLink, type ApiGraph } from './types';

/** Inputs that hold what varies from scene to scene (prompt text, output names, input files), not structure. */
const VARYING_INPUTS: ReadonlySet<string> = new Set([
	'text',
	'text_g',
	'text_l',
	'prompt',
	'positive',
	'negative',
	'clip_l',
	't5xxl',
	'string',
	'filename_prefix',
	'image',
	'video',
	'audio',
	'mask',
	'upload',
]);

function keyValue(input: string, value: unknown): unknown {
	if (isLink(value)) return { link: value };
	if (SEED_INPUTS.has(input) || VARYING_INPUTS.has(input)) return undefined;
	// Long or multi-line text is prompt-like wherever it sits.
	if (typeof value === 'string' && (value.length > 120 || value.includes('\n') || value.includes('{{'))) return undefined;
	return value;
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
 * A short stable hash of what makes a workflow fast or slow: class types, links and settings such as size
 * and steps — not seeds, prompt text, file names or titles. Used to key per-workflow speed averages.
 */
export function workflowKey(graph: ApiGraph): string {
	const shape = Object.keys(graph)
		.sort()
		.map((id) => {
			const node = graph[id];
			const inputs: Record<string, unknown> = {};
			for (const name of Object.keys(node.inputs).sort()) {
				const v = keyValue(name, node.inputs[name]);
				if (v !== undefined) inputs[name] = v;
			}
			return [id, node.class_type, inputs];
		});
	return createHash('sha256').update(stable(shape)).digest('base64url').slice(0, 16);
}
