/**
 * Whether every Lua script takes its keys in the one order of keys.ts: the names in SCRIPTS, the
 * names each script binds on its first line of code, and the file name's number of keys agree.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { checkKeyOrder, clusterKeys, KEY_ORDER, keysInOrder } from './keys';
import { LUA_DIR, SCRIPTS } from './scripts';

/** The names a script gives its keys on its `local <name>Key, … = KEYS[1], …` line, without `Key`. */
function boundKeys(fileName: string): string[] {
	const source = readFileSync(join(LUA_DIR, fileName), 'utf8');
	const bindings = [...source.matchAll(/^local ([\w, ]+) = (KEYS\[\d+\](?:, KEYS\[\d+\])*)\s*$/gm)];
	expect(bindings).toHaveLength(1);
	const [, names, keys] = bindings[0];
	const locals = names.split(', ');
	expect(keys).toBe(locals.map((_, i) => `KEYS[${i + 1}]`).join(', '));
	// Elsewhere a script passes all its keys along (touch) or none.
	expect(source.replace(bindings[0][0], '').match(/KEYS\[/g)).toBeNull();
	return locals.map((local) => local.replace(/Key$/, ''));
}

describe('one key order for every Lua script', () => {
	it.each(Object.entries(SCRIPTS))('%s binds the keys it is given, in KEY_ORDER', (_name, script) => {
		expect(script.fileName).toBe(`${script.name}-${script.keys.length}.lua`);
		expect(boundKeys(script.fileName)).toEqual(script.keys);
		expect(() => checkKeyOrder(script.keys)).not.toThrow();
	});

	it('loads every script of lua/', () => {
		const files = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
		expect(files.sort()).toEqual(Object.values(SCRIPTS).map((s) => s.fileName).sort());
	});

	it('hands a script its keys in KEY_ORDER and refuses any other order', () => {
		const keys = clusterKeys('c1', 'p');
		expect(keysInOrder(keys, ['leases', 'queue', 'errors'])).toEqual(['p:{c1}:leases', 'p:{c1}:queue', 'p:{c1}:errors']);
		expect(() => keysInOrder(keys, ['queue', 'leases'])).toThrow(/must follow leases, breaker, queue/);
		expect(() => keysInOrder(keys, ['leases', 'leases'])).toThrow();
	});

	it('names every key of a cluster under its hash tag', () => {
		const keys = clusterKeys('c1', 'prefix:');
		for (const name of KEY_ORDER) expect(keys[name]).toBe(`prefix:{c1}:${name}`);
		expect(keys.pattern).toBe('prefix:{c1}:*');
	});
});
