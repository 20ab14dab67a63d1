/**
 * Where tests find Redis. `.ci/run` makes sure one answers on 127.0.0.1:6379; tests use their own
 * database index and key prefixes and delete what they wrote.
 */
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
