/**
 * Where tests find Redis. `.ci/run` makes sure one answers on 127.0.0.1:6379; tests use their own
 * database index and key prefixes and delete what they wrote.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/13';

/** A key prefix unique to one test file run. */
export function testKeyPrefix(name: string): string {
	return `test:${name}:${process.pid}:${Date.now().toString(36)}:`;
}
