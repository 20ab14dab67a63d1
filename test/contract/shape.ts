/** JSON "shape": same keys and value types at every level; values themselves may differ. */
export type Shape = string | { array: Shape[] } | { object: Record<string, Shape> };

export function shapeOf(v: unknown): Shape {
	if (v === null) return 'null';
	if (Array.isArray(v)) {
		const seen = new Map<string, Shape>();
		for (const e of v) {
			const s = shapeOf(e);
			seen.set(JSON.stringify(s), s);
		}
		return { array: [...seen.values()] };
	}
	if (typeof v === 'object') {
		const o: Record<string, Shape> = {};
		for (const k of Object.keys(v as object).sort()) o[k] = shapeOf((v as Record<string, unknown>)[k]);
		return { object: o };
	}
	return typeof v;
}

/** Differences between two shapes, as readable paths. Empty arrays match any array. */
export function shapeDiff(expected: Shape, actual: Shape, path = '$'): string[] {
	if (typeof expected === 'string' || typeof actual === 'string') {
		return JSON.stringify(expected) === JSON.stringify(actual) ? [] : [`${path}: expected ${brief(expected)}, got ${brief(actual)}`];
	}
	if ('array' in expected && 'array' in actual) {
		if (expected.array.length === 0 || actual.array.length === 0) return [];
		const key = (s: Shape): string => JSON.stringify(s);
		const a = new Set(actual.array.map(key));
		const e = new Set(expected.array.map(key));
		const out: string[] = [];
		if (expected.array.length === 1 && actual.array.length === 1) return shapeDiff(expected.array[0], actual.array[0], `${path}[]`);
		for (const s of expected.array) if (!a.has(key(s))) out.push(`${path}[]: no element shaped ${brief(s)}`);
		for (const s of actual.array) if (!e.has(key(s))) out.push(`${path}[]: unexpected element shaped ${brief(s)}`);
		return out;
	}
	if ('object' in expected && 'object' in actual) {
		const out: string[] = [];
		const keys = new Set([...Object.keys(expected.object), ...Object.keys(actual.object)]);
		for (const k of keys) {
			if (!(k in actual.object)) out.push(`${path}.${k}: missing`);
			else if (!(k in expected.object)) out.push(`${path}.${k}: unexpected`);
			else out.push(...shapeDiff(expected.object[k], actual.object[k], `${path}.${k}`));
		}
		return out;
	}
	return [`${path}: expected ${brief(expected)}, got ${brief(actual)}`];
}

function brief(s: Shape): string {
	const t = JSON.stringify(s);
	return t.length > 200 ? t.slice(0, 200) + '…' : t;
}

/** Replace the keys of an object (e.g. prompt ids at the root of /history) by placeholders. */
export function rekey(v: unknown, name = '<id>'): unknown {
	if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
	return Object.fromEntries(Object.values(v as Record<string, unknown>).map((x, i) => [`${name}${i}`, x]));
}
