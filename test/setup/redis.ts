/**
 * Where tests find Redis. `.ci/run` makes sure one answers on 127.0.0.1:6379; tests use their own
 * database index and key prefixes and delete what they wrote.
 */
import { spawn } from 'child_process';
import { createServer, type AddressInfo } from 'net';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/13';

const testUrl = new URL(TEST_REDIS_URL);
/** TEST_REDIS_URL's parts: the cluster state of every test goes there, so cleanup finds it. */
export const TEST_REDIS = { host: testUrl.hostname, port: Number(testUrl.port || 6379), db: Number(testUrl.pathname.slice(1) || 13) };

/** A key prefix unique to one test file run. */
export function testKeyPrefix(name: string): string {
	return `test:${name}:${process.pid}:${Date.now().toString(36)}:`;
}

/** Deletes every key under `prefix` in the test database (of the Redis on `port`); returns how many. */
export async function deleteKeysUnder(prefix: string, port = TEST_REDIS.port): Promise<number> {
	const { default: Redis } = await import('ioredis');
	const redis = new Redis({ host: TEST_REDIS.host, port, db: TEST_REDIS.db, lazyConnect: true, maxRetriesPerRequest: 1 });
	let deleted = 0;
	try {
		await redis.connect();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
			cursor = next;
			if (keys.length) deleted += await redis.del(...keys);
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
	return deleted;
}

export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

/** A redis-server of our own (no persistence): to kill mid-run, to require a password, or to flush. */
export interface ThrowawayRedis {
	port: number;
	kill(): Promise<void>;
}

export async function startThrowawayRedis(options: { password?: string } = {}): Promise<ThrowawayRedis> {
	const port = await freePort();
	const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
	if (options.password) args.push('--requirepass', options.password);
	const child = spawn('redis-server', args, { stdio: 'ignore' });
	const { default: Redis } = await import('ioredis');
	const client = new Redis({ host: '127.0.0.1', port, password: options.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
	client.on('error', () => undefined);
	const deadline = Date.now() + 5000;
	for (;;) {
		try {
			await client.connect();
			await client.ping();
			break;
		} catch (error) {
			if (Date.now() > deadline) {
				child.kill('SIGKILL');
				throw new Error(`redis-server on port ${port} did not start: ${String(error)}`);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
	}
	client.disconnect();
	return {
		port,
		kill: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null || child.signalCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.kill('SIGKILL');
			}),
	};
}
