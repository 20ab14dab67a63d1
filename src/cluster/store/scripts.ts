/**
 * Loads the Lua scripts beside this module (`lua/<name>-<keys>.lua`), expanding `-- @include x`
 * lines with `lua/includes/x.lua`, and runs them with EVALSHA (EVAL once when Redis lost its cache).
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface LuaScript {
	name: string;
	numberOfKeys: number;
	source: string;
	sha: string;
}

const LUA_DIR = join(__dirname, 'lua');

export function loadScript(fileName: string): LuaScript {
	const match = /^(.+)-(\d+)\.lua$/.exec(fileName);
	if (!match) throw new Error(`Lua script file names end with -<number of keys>.lua: ${fileName}`);
	const source = expandIncludes(readFileSync(join(LUA_DIR, fileName), 'utf8'), new Set());
	return { name: match[1], numberOfKeys: Number(match[2]), source, sha: createHash('sha1').update(source).digest('hex') };
}

function expandIncludes(source: string, seen: Set<string>): string {
	return source.replace(/^-- @include ([\w-]+)\s*$/gm, (_line, name: string) => {
		if (seen.has(name)) return '';
		seen.add(name);
		return expandIncludes(readFileSync(join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'), seen);
	});
}

export async function runScript(redis: RedisClient, script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
	if (keys.length !== script.numberOfKeys) throw new Error(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
	try {
		return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
	} catch (error) {
		if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return redis.eval(script.source, keys.length, ...keys, ...args);
		throw error;
	}
}

export const SCRIPTS = {
	selectReserve: loadScript('select-reserve-6.lua'),
	release: loadScript('release-5.lua'),
	renew: loadScript('renew-1.lua'),
	recordProbes: loadScript('record-probes-3.lua'),
	recordStats: loadScript('record-stats-1.lua'),
	recordCapabilities: loadScript('record-capabilities-1.lua'),
};
