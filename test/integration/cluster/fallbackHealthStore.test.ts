import { spawn, type ChildProcess } from 'child_process';
import { createServer } from 'net';
import { FallbackHealthStore } from '../../../src/cluster/store/FallbackHealthStore';
import { RedisHealthStore } from '../../../src/cluster/store/RedisHealthStore';
import { createRedis } from '../../../src/cluster/store/redisConnection';
import type { SelectResult } from '../../../src/cluster/store/HealthStore';
import { THROWAWAY_REDIS_HOST } from '../../setup/redis';
import { lease, release, reserve } from './storeCalls';

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

async function startRedis(port: number): Promise<ChildProcess> {
	const child = spawn('redis-server', ['--port', String(port), '--bind', THROWAWAY_REDIS_HOST, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('redis-server did not start within 20 s')), 20_000);
		child.stdout?.on('data', (chunk: Buffer) => {
			if (chunk.toString().includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve();
			}
		});
		child.once('exit', () => reject(new Error('redis-server exited')));
	});
	return child;
}

function stop(child: ChildProcess): Promise<void> {
	return new Promise((resolve) => {
		if (child.exitCode !== null) return resolve();
		child.once('exit', () => resolve());
		child.kill('SIGKILL');
	});
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

describe('FallbackHealthStore', () => {
	it('keeps working on memory while Redis is down and goes back to Redis when it answers', async () => {
		const port = await freePort();
		let server = await startRedis(port);
		// The default timeouts: a killed Redis refuses at once, so short ones would only add spurious
		// fallbacks (a second warning) when a loaded machine answers slowly.
		const client = createRedis({ mode: 'single', host: THROWAWAY_REDIS_HOST, port });
		const warnings: string[] = [];
		const infos: string[] = [];
		const store = new FallbackHealthStore(new RedisHealthStore(client, { clusterHash: 'fb', ownsClient: true }), {
			retryMs: 100,
			logger: { warn: (m) => warnings.push(m), info: (m) => infos.push(m) },
		});
		const servers = [{ id: 'a', weight: 1, max: 2 }, { id: 'b', weight: 1, max: 2 }];
		const select = (): Promise<SelectResult> => reserve(store, { servers, strategy: 'weighted', leaseTtlMs: 10_000 });
		try {
			const first = lease(await select());
			expect(first.store).toBe('redis');
			expect(store.active).toBe('redis');

			await stop(server);
			const scenes: string[] = [];
			for (let i = 0; i < 6; i++) {
				const l = lease(await select());
				expect(l.store).toBe('memory');
				expect(await store.renew(l, 10_000)).toBe(true);
				await release(store, l, { kind: 'success', workflowKey: 'wf', executionMs: 100 });
				scenes.push(l.serverId);
			}
			expect(scenes).toHaveLength(6);
			// The Redis lease cannot be released now; its outcome is kept locally and its slot expires in Redis.
			await release(store, first, { kind: 'success', workflowKey: 'wf', executionMs: 100 });
			expect(store.active).toBe('memory');
			expect(warnings).toHaveLength(1);
			expect(warnings[0]).toMatch(/Redis is unreachable/);

			server = await startRedis(port);
			await waitFor(async () => {
				await select().then((r) => ('lease' in r ? release(store, r.lease, { kind: 'cancelled', workflowKey: 'wf' }) : undefined));
				return store.active === 'redis';
			}, 10_000);
			const back = lease(await select());
			expect(back.store).toBe('redis');
			expect(infos).toHaveLength(1);
			expect(warnings).toHaveLength(1);
			expect(await client.exists('comfyui-cluster:{fb}:leases')).toBe(1);
		} finally {
			await store.close();
			await stop(server);
		}
	});

	it('moves a lease taken in memory to Redis at its first renewal once Redis answers again; a release during the move reaches Redis', async () => {
		const port = await freePort();
		let server = await startRedis(port);
		const client = createRedis({ mode: 'single', host: THROWAWAY_REDIS_HOST, port });
		const store = new FallbackHealthStore(new RedisHealthStore(client, { clusterHash: 'moved', ownsClient: true }), { retryMs: 100 });
		const servers = [{ id: 'a', weight: 1, max: 2 }];
		const select = (): Promise<SelectResult> => reserve(store, { servers, strategy: 'weighted', leaseTtlMs: 10_000 });
		const inRedis = (l: { serverId: string; id: string }) => client.zscore('comfyui-cluster:{moved}:leases', `${l.serverId}|${l.id}`);
		try {
			lease(await select());
			await stop(server);
			// Two scenes start while Redis is away: their leases are in this process's memory only.
			const [kept, released] = [lease(await select()), lease(await select())];
			expect([kept.store, released.store]).toEqual(['memory', 'memory']);

			server = await startRedis(port);
			await waitFor(async () => {
				await store.snapshot(servers);
				return store.active === 'redis';
			}, 10_000);
			expect(await store.renew(kept, 10_000)).toBe(true);
			expect(kept.store).toBe('redis');
			expect(await inRedis(kept)).not.toBeNull();
			expect((await store.memory.snapshot(servers))[0].inFlight).toBe(1);

			// The scene ends while its renewal moves the lease: the release waits for the move and frees the slot in Redis.
			const renewal = store.renew(released, 10_000);
			expect(await release(store, released, { kind: 'success', workflowKey: 'wf', executionMs: 100 })).toBe(true);
			await renewal;
			expect(released.store).toBe('redis');
			expect(await inRedis(released)).toBeNull();
			expect((await store.memory.snapshot(servers))[0].inFlight).toBe(0);
			// Every worker counts the scene still running: with the first lease lost with Redis, one.
			expect((await store.snapshot(servers))[0].inFlight).toBe(1);
		} finally {
			await store.close();
			await stop(server);
		}
	});
});
