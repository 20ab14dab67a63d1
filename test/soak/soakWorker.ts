/**
 * One soak worker process: runs one runBatch over its share of the scenes against the shared fleet
 * and Redis (one JSON argument) and prints one JSON line with every scene's outcome.
 */
import { runBatch } from '../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import type { RedisConfig } from '../../src/cluster/store/redisConnection';
import { soakScenes, type SoakScene } from './scenes';

export interface SoakWorkerArgs {
	servers: string;
	redis: RedisConfig;
	keyPrefix: string;
	scenes: SoakScene[];
	steps: number;
	inactivityMs: number;
	unreachableMs: number;
}

export interface SoakAttempt {
	server: string;
	outcome: string;
	promptId?: string;
	reason: string;
}

export interface SoakSceneReport {
	seed: number;
	poisoned: boolean;
	ok: boolean;
	server?: string;
	promptId?: string;
	outputs?: number;
	causeKind?: string;
	message?: string;
	attempts: SoakAttempt[];
}

export interface SoakWorkerReport {
	results: SoakSceneReport[];
	warnings: number;
}

async function main(): Promise<void> {
	const args = JSON.parse(process.argv[2]) as SoakWorkerArgs;
	let warnings = 0;
	const logger = { debug: () => undefined, info: () => undefined, warn: () => void warnings++ };
	const runtime = await getRuntime({ servers: args.servers, redis: args.redis, keyPrefix: args.keyPrefix }, logger);
	const outcomes = await runBatch(runtime, soakScenes(args.scenes, args.steps, args.inactivityMs), {
		strategy: 'leastLoaded',
		refreshMs: 100,
		unreachableMs: args.unreachableMs,
		backoff: { initialMs: 50, maxMs: 400, factor: 2, jitter: 0.2 },
	});
	const results = outcomes.map((o, i): SoakSceneReport => {
		const scene = args.scenes[i];
		const attempts = (o.ok ? o.result.attempts : o.error.attempts).map((a) => ({ server: a.server, outcome: a.outcome, promptId: a.promptId, reason: a.reason }));
		return o.ok
			? { seed: scene.seed, poisoned: scene.poisoned, ok: true, server: o.result.server, promptId: o.result.promptId, outputs: o.result.outputs.length, attempts }
			: { seed: scene.seed, poisoned: scene.poisoned, ok: false, causeKind: o.error.cause.kind, message: o.error.message, attempts };
	});
	const report: SoakWorkerReport = { results, warnings };
	process.stdout.write(`${JSON.stringify(report)}\n`);
	await closeAllRuntimes();
}

main().catch((error) => {
	process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
