/**
 * Whether the Lua includes hold one function each and name what they use: a script expanded from
 * them defines every function once, before its first use.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { LUA_DIR, SCRIPTS } from './scripts';

const INCLUDES_DIR = join(LUA_DIR, 'includes');
const includes = readdirSync(INCLUDES_DIR)
	.filter((f) => f.endsWith('.lua'))
	.map((f) => f.slice(0, -'.lua'.length));
const read = (path: string) => readFileSync(path, 'utf8');

/** Lua code without its comment lines. */
const code = (source: string) => source.replace(/^\s*--.*$/gm, '');

/** The includes a Lua text names with `-- @include`, and the include functions its code uses. */
function dependencies(source: string, self?: string): { named: string[]; used: string[] } {
	const named = [...source.matchAll(/^-- @include ([\w-]+)\s*$/gm)].map((m) => m[1]);
	const used = includes.filter((name) => name !== self && new RegExp(`\\b${name}\\b`).test(code(source)));
	return { named: named.sort(), used: used.sort() };
}

describe('Lua includes', () => {
	it.each(includes)('%s holds one function of its name under a one-line comment', (name) => {
		const source = read(join(INCLUDES_DIR, `${name}.lua`));
		const lines = source.trimEnd().split('\n');
		const head = lines.findIndex((line) => !line.startsWith('-- @include '));
		expect(lines[head]).toMatch(/^-- \S/);
		expect(lines[head + 1]).toMatch(new RegExp(`^local function ${name}\\(`));
		expect(source.match(/\bfunction\b/g)).toHaveLength(1);
		expect(lines[lines.length - 1]).toBe('end');
	});

	it.each(includes)('%s names exactly the includes it uses', (name) => {
		const { named, used } = dependencies(read(join(INCLUDES_DIR, `${name}.lua`)), name);
		expect(named).toEqual(used);
	});

	it.each(Object.values(SCRIPTS).map((s) => s.fileName))('%s names exactly the includes it uses', (fileName) => {
		const { named, used } = dependencies(read(join(LUA_DIR, fileName)));
		expect(named).toEqual(used);
	});

	it.each(Object.entries(SCRIPTS))('%s is expanded with each function once, defined before it is used', (_name, script) => {
		const source = code(script.source);
		const defined = [...source.matchAll(/^local function (\w+)\(/gm)].map((m) => m[1]);
		expect(new Set(defined).size).toBe(defined.length);
		for (const name of defined) {
			const definedAt = source.indexOf(`local function ${name}(`);
			const firstUse = source.search(new RegExp(`(?<!local function )\\b${name}\\b`));
			expect(firstUse).toBeGreaterThan(definedAt);
		}
		expect(script.source).not.toMatch(/^-- @include/m);
	});
});
