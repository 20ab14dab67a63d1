/**
 * Structure-aware mutation of JSON documents for fuzzing: replace a value somewhere, delete a key,
 * drop an array element, or swap a value's type, at paths chosen by fast-check.
 */
import fc from 'fast-check';

type Json = unknown;

export interface Mutation {
	at: number;
	kind: 'replace' | 'delete' | 'stringify' | 'numberify' | 'wrap' | 'empty';
	value: Json;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
	at: fc.nat(),
	kind: fc.constantFrom('replace', 'delete', 'stringify', 'numberify', 'wrap', 'empty'),
	value: fc.oneof(
		fc.jsonValue({ maxDepth: 2 }),
		fc.constantFrom(null, '', 0, -1, 1e308, '4', ['4', 0], ['999', 0], ['4', 99], { class_type: 'KSampler' }, 'KSampler', '{{prompt}}', '__proto__'),
	),
});

/** Every (container, key) pair in a document, depth-first. */
function slots(doc: Json): Array<{ parent: Record<string, Json> | Json[]; key: string | number }> {
	const out: Array<{ parent: Record<string, Json> | Json[]; key: string | number }> = [];
	const walk = (node: Json) => {
		if (Array.isArray(node)) node.forEach((child, i) => (out.push({ parent: node, key: i }), walk(child)));
		else if (node && typeof node === 'object') for (const [k, child] of Object.entries(node)) out.push({ parent: node as Record<string, Json>, key: k }), walk(child);
	};
	walk(doc);
	return out;
}

export function mutate(original: Json, mutations: readonly Mutation[]): Json {
	const doc = JSON.parse(JSON.stringify(original)) as Json;
	for (const m of mutations) {
		const all = slots(doc);
		if (all.length === 0) return m.value;
		const { parent, key } = all[m.at % all.length];
		const current = (parent as Record<string | number, Json>)[key];
		const set = (v: Json) => ((parent as Record<string | number, Json>)[key] = v);
		switch (m.kind) {
			case 'replace':
				set(m.value);
				break;
			case 'delete':
				if (Array.isArray(parent)) parent.splice(key as number, 1);
				else delete parent[key as string];
				break;
			case 'stringify':
				set(JSON.stringify(current) ?? 'null');
				break;
			case 'numberify':
				set(Number(current));
				break;
			case 'wrap':
				set([current]);
				break;
			case 'empty':
				set(Array.isArray(current) ? [] : current && typeof current === 'object' ? {} : '');
				break;
		}
	}
	return doc;
}
