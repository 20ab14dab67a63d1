/**
 * Child process of the shared-Redis tests: runs one runBatch against a fleet and a Redis given on
 * the command line (one JSON argument) and prints one JSON line with every scene's outcome (and,
 * before it, one line once it is connected, and one per scene start, per warning and per note).
 */
import { runBatch } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import type { RedisConfig } from '../../../src/cluster/store/redisConnection';
import type { StrategyName } from '../../../src/cluster/strategy';
import { scenes } from './helpers';

export interface WorkerArgs {
	servers: string;
	redis: RedisConfig;
	keyPrefix: string;
	count: number;
	steps: number;
	base: number;
	strategy?: StrategyName;
	leaseTtlMs?: number;
	/** This process's clock runs this far ahead (or behind, < 0) of the real time. */
	clockSkewMs?: number;
	/** Once connected, wait for a line on stdin before starting the batch. */
	waitForGo?: boolean;
}

export interface WorkerReport {
	results: Array<{ index: number; ok: boolean; serverId?: string; message?: string }>;
}

async function main(): Promise<void> {
	const args = JSON.parse(process.argv[2]) as WorkerArgs;
	const skew = args.clockSkewMs ?? 0;
	if (skew !== 0) {
		// A machine whose clock is off: every time this process reads comes from it.
		const realNow = Date.now;
		Date.now = () => realNow() + skew;
	}
	const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
	const logger = { debug: () => undefined, info: (message: string) => print({ info: message }), warn: (message: string) => print({ warn: message }) };
	const runtime = await getRuntime({ servers: args.servers, redis: args.redis, keyPrefix: args.keyPrefix }, logger);
	print({ ready: true });
	if (args.waitForGo) {
		await new Promise((resolve) => process.stdin.once('data', resolve));
		process.stdin.destroy();
	}
	const outcomes = await runBatch(runtime, scenes(args.count, { steps: args.steps, base: args.base }), {
		strategy: args.strategy ?? 'leastLoaded',
		leaseTtlMs: args.leaseTtlMs,
		refreshMs: 100,
		backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 },
		onEvent: (event) => {
			if (event.type === 'start') print({ started: event.index, serverId: event.serverId });
		},
	});
	const report: WorkerReport = {
		results: outcomes.map((o) => (o.ok ? { index: o.index, ok: true, serverId: o.result.serverId } : { index: o.index, ok: false, message: o.error.message })),
	};
	process.stdout.write(`${JSON.stringify(report)}\n`);
	await closeAllRuntimes();
}

main().catch((error) => {
	process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
