/**
 * P4 worker process: builds its scenes, connects, prints "ready", waits for "go" on stdin, runs
 * one batch against the shared fleet and Redis, and prints one JSON line with its results.
 */
import { runBatch } from '../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import type { RedisConfig } from '../../src/cluster/store/redisConnection';
import type { StrategyName } from '../../src/cluster/strategy';
import { scene, warmUpCode } from './common';

interface Args {
	servers: string;
	redis: RedisConfig;
	keyPrefix: string;
	costs: number[];
	base: number;
	/** Index of this worker's first scene in the whole batch (its prompts and cfg differ from the others'). */
	first: number;
	strategy: StrategyName;
}

async function main(): Promise<void> {
	const args = JSON.parse(process.argv[2]) as Args;
	// Warm as a running n8n worker: code compiled by an earlier batch, catalogues cached (as in ours() of run.ts).
	const urls = args.servers.split('\n').map((line) => line.split(' ')[0]);
	await warmUpCode(urls, args.redis as RedisConfig & { mode: 'single' });
	const runtime = await getRuntime({ servers: args.servers, redis: args.redis, keyPrefix: args.keyPrefix });
	await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo({ signal: AbortSignal.timeout(2_000) }).catch(() => undefined)));
	const scenes = args.costs.map((cost, index) => buildScene({ index, workflow: scene(args.first + index, args.base + index, cost), download: false }));
	await runtime.store.snapshot(runtime.servers);
	process.stdout.write('ready\n');
	await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
	const outcomes = await runBatch(runtime, scenes, { strategy: args.strategy });
	const failed = outcomes.filter((o) => !o.ok).length;
	process.stdout.write(`${JSON.stringify({ done: Date.now(), failed, ok: outcomes.length - failed })}\n`);
	await closeAllRuntimes();
	process.exit(0);
}

main().catch((error) => {
	process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
