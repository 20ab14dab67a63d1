/**
 * Child process for the multi-process test: reserves and releases leases in a loop against a shared
 * Redis, and checks with a test-only counter per server that it never holds more than `max` at once.
 */
import Redis from 'ioredis';
import { RedisHealthStore } from '../../../src/cluster/store/RedisHealthStore';
import { release, reserve } from './storeCalls';

async function main(): Promise<void> {
	const [url, prefix, clusterHash, rounds] = process.argv.slice(2);
	const redis = new Redis(url);
	const store = new RedisHealthStore(redis, { prefix, clusterHash });
	const servers = [
		{ id: 'a', weight: 1, max: 2 },
		{ id: 'b', weight: 2, max: 1 },
		{ id: 'c', weight: 1, max: 3 },
	];
	let violations = 0;
	let reserved = 0;
	const worker = async () => {
		for (let i = 0; i < Number(rounds); i++) {
			// Every other round reserves as a plan made by planning/ does: on one server, the others excluded.
			const planned = servers[Math.floor(Math.random() * servers.length)].id;
			const exclude = i % 2 ? [] : servers.filter((s) => s.id !== planned).map((s) => s.id);
			const result = await reserve(store, { servers, strategy: i % 2 ? 'weighted' : 'pinned', exclude, leaseTtlMs: 30_000 });
			if ('none' in result) {
				await new Promise((resolve) => setTimeout(resolve, 1));
				continue;
			}
			reserved++;
			const holding = await redis.incr(`${prefix}holding:${result.lease.serverId}`);
			if (holding > servers.find((s) => s.id === result.lease.serverId)!.max) violations++;
			await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
			await redis.decr(`${prefix}holding:${result.lease.serverId}`);
			await release(store, result.lease, { kind: 'success', workflowKey: 'wf', executionMs: 5 });
		}
	};
	await Promise.all(Array.from({ length: 8 }, worker));
	process.stdout.write(JSON.stringify({ violations, reserved }));
	await redis.quit();
}

main().catch((error) => {
	process.stderr.write(String(error?.stack ?? error));
	process.exit(1);
});
