/**
 * Which Lua scripts the Redis store runs, with which state keys: loads the scripts beside this
 * module (`lua/<name>-<number of keys>.lua`), expanding `-- @include x` lines with
 * `lua/includes/x.lua` (each include once, its own includes first), and runs them with EVALSHA
 * (EVAL once when Redis lost its cache). Every script takes its keys in the one order of
 * `keys.ts` (KEY_ORDER) and binds them by name on its first line of code. An include holds one
 * function, named as its file, under a one-line comment, and names the includes it calls with its
 * own `-- @include` lines (scripts.test.ts checks both).
 *
 * Time: a script never takes the time from its caller. It includes `clock_now` and starts with
 * `local now = clock_now(a.testNow)` (Redis's TIME in ms; Redis 5+ replicates a script's effects,
 * so TIME may come before writes), and the caller passes durations (TTLs, keep times), never
 * instants. Every stored time (lease expiry, breaker open-until and trial, probe and stats times,
 * last errors) is then in Redis's clock, the one clock all workers share; a worker whose own clock
 * is off by minutes neither expires leases early nor keeps them alive. `testNow` is for tests only
 * (RedisHealthStoreOptions.testClock). TypeScript that reads stored times reads Redis's TIME in the
 * same round trip and converts (see RedisHealthStore.snapshot).
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { Cluster, Redis } from 'ioredis';
import { checkKeyOrder, type StateKey } from './keys';

export type RedisClient = Redis | Cluster;

export interface LuaScript {
	name: string;
	numberOfKeys: number;
	source: string;
	sha: string;
}

/** A script of the store, and the state keys it takes (in KEY_ORDER). */
export interface StoreScript extends LuaScript {
	fileName: string;
	keys: readonly StateKey[];
}

export const LUA_DIR = join(__dirname, 'lua');

export function loadScript(fileName: string, keys: readonly StateKey[]): StoreScript {
	const match = /^(.+)-(\d+)\.lua$/.exec(fileName);
	if (!match) throw new Error(`Lua script file names end with -<number of keys>.lua: ${fileName}`);
	if (keys.length !== Number(match[2])) throw new Error(`${fileName} takes ${match[2]} keys, not ${keys.join(', ')}`);
	checkKeyOrder(keys);
	const source = expandIncludes(readFileSync(join(LUA_DIR, fileName), 'utf8'), new Set());
	return { name: match[1], fileName, keys, numberOfKeys: keys.length, source, sha: createHash('sha1').update(source).digest('hex') };
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

export interface ScriptCall {
	script: LuaScript;
	keys: readonly string[];
	args: ReadonlyArray<string | number>;
}

/**
 * Runs several scripts in one MULTI/EXEC: one round trip, and no other client's command runs in
 * between. Calls that find Redis without their script (after a restart, a failover, SCRIPT FLUSH, or
 * on a Redis Cluster node their slot just moved to) are run again, in order, in a second transaction
 * with EVAL, which caches each script on the node that runs it: SCRIPT LOAD, a command without keys,
 * would reach any master of a Redis Cluster.
 */
export async function runScriptsAtomically(redis: RedisClient, calls: readonly ScriptCall[]): Promise<unknown[]> {
	if (calls.length === 1) return [await runScript(redis, calls[0].script, calls[0].keys, calls[0].args)];
	const results = await execScripts(redis, calls);
	const missing = results.flatMap((result, i) => (isNoScript(result.error) ? [i] : []));
	if (missing.length > 0) {
		const again = await execScripts(redis, missing.map((i) => calls[i]), 'source');
		missing.forEach((i, j) => (results[i] = again[j]));
	}
	return results.map((result) => {
		if (result.error) throw result.error;
		return result.value;
	});
}

/** One transaction of script calls, each by its SHA (the script cached already) or with its source. */
async function execScripts(redis: RedisClient, calls: readonly ScriptCall[], by: 'sha' | 'source' = 'sha'): Promise<Array<{ error: Error | null; value: unknown }>> {
	const multi = redis.multi();
	for (const call of calls) {
		if (call.keys.length !== call.script.numberOfKeys) throw new Error(`${call.script.name} takes ${call.script.numberOfKeys} keys, got ${call.keys.length}`);
		if (by === 'sha') multi.evalsha(call.script.sha, call.keys.length, ...call.keys, ...call.args);
		else multi.eval(call.script.source, call.keys.length, ...call.keys, ...call.args);
	}
	const replies = await multi.exec();
	if (!replies) throw new Error('Redis discarded the transaction');
	return replies.map(([error, value]) => ({ error, value }));
}

function isNoScript(error: Error | null): boolean {
	return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** How long a call is sent again while Redis Cluster answers TRYAGAIN. */
const TRYAGAIN_FOR_MS = 2_000;

/**
 * Sends a call (a command, a script, a transaction) again, 100 ms apart, while Redis Cluster answers
 * that its slot is moving: TRYAGAIN (its keys are split between two nodes; ioredis tries again for a
 * while, then hands the error on), or a transaction aborted because its commands were redirected in
 * different ways (TRYAGAIN, ASK, MOVED: ioredis follows a transaction only when all got the same
 * answer). Nothing of such a call has run.
 */
export async function untilSlotSettles<T>(call: () => Promise<T>): Promise<T> {
	const deadline = Date.now() + TRYAGAIN_FOR_MS;
	for (;;) {
		try {
			return await call();
		} catch (error) {
			if (!slotMoving(error) || Date.now() > deadline) throw error;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}
}

const REDIRECTED = /^(TRYAGAIN|ASK|MOVED)\b/;

function slotMoving(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	if (/^TRYAGAIN\b/.test(error.message)) return true;
	const before = (error as { previousErrors?: unknown[] }).previousErrors ?? [];
	return error.message.startsWith('EXECABORT') && before.length > 0 && before.every((e) => e instanceof Error && REDIRECTED.test(e.message));
}

export const SCRIPTS = {
	selectReserve: loadScript('select-reserve-4.lua', ['leases', 'breaker', 'stats', 'rr']),
	release: loadScript('release-6.lua', ['leases', 'breaker', 'queue', 'ewma', 'errors', 'models']),
	renew: loadScript('renew-1.lua', ['leases']),
	retake: loadScript('retake-1.lua', ['leases']),
	recordProbes: loadScript('record-probes-3.lua', ['breaker', 'queue', 'errors']),
	recordStats: loadScript('record-stats-1.lua', ['stats']),
};
