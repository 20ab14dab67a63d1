/**
 * Where tests find Redis: the one place that reads TEST_REDIS_URL (default redis://127.0.0.1:6379,
 * database 13 unless the URL names one). `.ci/run` makes sure one answers there; tests use their own
 * database index and key prefixes and delete what they wrote. Throwaway redis-servers of a test's
 * own listen on THROWAWAY_REDIS_HOST.
 */
import { spawn, type ChildProcess } from 'child_process';
import type { RedisOptions } from 'ioredis';
import { createConnection, createServer, type AddressInfo } from 'net';

/** The shared test Redis when TEST_REDIS_URL is not set. */
export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';
/** The database of the tests when TEST_REDIS_URL names none. */
const DEFAULT_TEST_DB = 13;

const testUrl = new URL(process.env.TEST_REDIS_URL || DEFAULT_TEST_REDIS_URL);
if (testUrl.pathname === '' || testUrl.pathname === '/') testUrl.pathname = `/${DEFAULT_TEST_DB}`;

/** TEST_REDIS_URL with its database, credentials kept: for clients that take a URL. */
export const TEST_REDIS_URL = testUrl.toString();
/** TEST_REDIS_URL's parts: the cluster state of every test goes there, so cleanup finds it. */
export const TEST_REDIS = { host: testUrl.hostname.replace(/^\[|\]$/g, ''), port: Number(testUrl.port || 6379), db: Number(testUrl.pathname.slice(1)) };

/** Where the redis-servers tests start for themselves listen (startThrowawayRedis and the like). */
export const THROWAWAY_REDIS_HOST = '127.0.0.1';

/** A key prefix unique to one test file run. */
export function testKeyPrefix(name: string): string {
	return `test:${name}:${process.pid}:${Date.now().toString(36)}:`;
}

/** Deletes every key under `prefix` in the test database; returns how many. */
export async function deleteKeysUnder(prefix: string): Promise<number> {
	const { default: Redis } = await import('ioredis');
	const redis = new Redis({ ...TEST_REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
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
	host: string;
	port: number;
	kill(): Promise<void>;
}

/** A redis-server process of a test's own, and how to reach it. */
export interface RedisProcess extends ThrowawayRedis {
	child: ChildProcess;
	/** The last lines it logged (for the message of a failed test). */
	output(): string;
}

export interface SpawnRedisOptions {
	/** Arguments of redis-server (a config file first, if any; `--sentinel` for a sentinel). */
	args: string[];
	/** The port it answers PING on once started. */
	port: number;
	cwd?: string;
	/** How the readiness check connects (TLS, user, password). */
	client?: RedisOptions;
}

/**
 * Starts redis-server and waits (5 s at most) until it answers PING. A server that exits at once
 * (an unknown directive, e.g. TLS options on a build without TLS) fails with what it logged.
 */
export async function spawnRedis(options: SpawnRedisOptions): Promise<RedisProcess> {
	const { port } = options;
	const child = spawn('redis-server', options.args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
	child.stdout!.on('data', keep);
	child.stderr!.on('data', keep);
	const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
	let failed: Error | undefined;
	void spawnError.then((error) => (failed = error));
	const { default: Redis } = await import('ioredis');
	const client = new Redis({ host: THROWAWAY_REDIS_HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options.client });
	client.on('error', () => undefined);
	const deadline = Date.now() + 5000;
	try {
		for (;;) {
			if (failed) throw new Error(`redis-server could not be started: ${failed.message}`);
			if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}: ${output.trim().slice(-1500)}`);
			try {
				// Only once the port accepts connections: an ioredis connect that is refused leaves a timer behind.
				if (!(await accepts(port))) throw new Error(`nothing listens on port ${port} yet`);
				await client.connect();
				await client.ping();
				break;
			} catch (error) {
				if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${String(error)}; it logged: ${output.trim().slice(-1500)}`);
				client.disconnect();
				await new Promise((r) => setTimeout(r, 50));
			}
		}
	} catch (error) {
		child.kill('SIGKILL');
		throw error;
	} finally {
		client.disconnect();
	}
	return {
		host: THROWAWAY_REDIS_HOST,
		port,
		child,
		output: () => output,
		kill: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null || child.signalCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.kill('SIGKILL');
			}),
	};
}

function accepts(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createConnection({ host: THROWAWAY_REDIS_HOST, port });
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
	});
}

export async function startThrowawayRedis(options: { password?: string } = {}): Promise<ThrowawayRedis> {
	const port = await freePort();
	const args = ['--port', String(port), '--bind', THROWAWAY_REDIS_HOST, '--save', '', '--appendonly', 'no'];
	if (options.password) args.push('--requirepass', options.password);
	return spawnRedis({ args, port, client: { password: options.password } });
}
