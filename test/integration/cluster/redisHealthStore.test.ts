import Redis from 'ioredis';
import { TEST_REDIS_URL, testKeyPrefix } from '../../setup/redis';
import { RedisHealthStore } from '../../../src/cluster/store/RedisHealthStore';
import { healthStoreSuite } from './healthStoreSuite';

const prefix = testKeyPrefix('redis-store');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
	const keys = await redis.keys(`${prefix}*`);
	if (keys.length) await redis.del(...keys);
	await redis.quit();
});

// The suite moves its clock forward by minutes: the scripts run on it (testClock) instead of Redis's
// TIME, so both stores see the very same times. That they take Redis's clock otherwise is tested in
// redisHealthStore.extra.test.ts.
healthStoreSuite('RedisHealthStore', async (options) => new RedisHealthStore(redis, { ...options, testClock: options.now, prefix, clusterHash: `h${n++}` }));
