/**
 * One factory for the ioredis client, single / Sentinel / Cluster, tuned to fail fast: no unbounded
 * offline queue, few retries per command, short connect and command timeouts. A store in front of it
 * falls back to memory while Redis does not answer.
 *
 * TLS (`tls`) applies to every connection of the mode: the node, the cluster's nodes, and in Sentinel
 * mode both the sentinels and the master they name (a deployment with TLS on one and not the other
 * is not supported).
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisClient } from './scripts';

export interface RedisConfig {
	mode: 'single' | 'sentinel' | 'cluster';
	host?: string;
	port?: number;
	db?: number;
	username?: string;
	password?: string;
	/** true for default TLS, or an object of Node TLS options (e.g. ca, servername, rejectUnauthorized). */
	tls?: boolean | Record<string, unknown>;
	/** Sentinel: the sentinels and the master group name. */
	sentinels?: Array<{ host: string; port: number }>;
	name?: string;
	sentinelPassword?: string;
	/** Cluster: seed nodes. */
	nodes?: Array<{ host: string; port: number }>;
	connectTimeoutMs?: number;
	commandTimeoutMs?: number;
}

function baseOptions(config: RedisConfig): RedisOptions {
	const tls = config.tls === true ? {} : config.tls ? config.tls : undefined;
	return {
		username: config.username || undefined,
		password: config.password || undefined,
		db: config.db ?? 0,
		tls,
		connectTimeout: config.connectTimeoutMs ?? 2_000,
		commandTimeout: config.commandTimeoutMs ?? 2_000,
		maxRetriesPerRequest: 1,
		enableOfflineQueue: false,
		// Keep reconnecting in the background, never faster than 200 ms nor slower than 2 s.
		retryStrategy: (times: number) => Math.min(2_000, 200 * times),
		lazyConnect: false,
	};
}

export function createRedis(config: RedisConfig): RedisClient {
	const client = build(config);
	// Connection errors surface on the commands (the fallback store warns once); without a listener
	// ioredis would print every reconnect attempt.
	client.on('error', () => undefined);
	return client;
}

function build(config: RedisConfig): RedisClient {
	const options = baseOptions(config);
	switch (config.mode) {
		case 'single':
			return new Redis({ ...options, host: config.host ?? '127.0.0.1', port: config.port ?? 6379 });
		case 'sentinel':
			if (!config.sentinels?.length || !config.name) throw new Error('Redis Sentinel needs the sentinel addresses and the master name');
			return new Redis({
				...options,
				sentinels: config.sentinels,
				name: config.name,
				sentinelPassword: config.sentinelPassword || undefined,
				// Without these ioredis reaches the sentinels and the master they name in plain text, TLS or not.
				...(options.tls ? { enableTLSForSentinelMode: true, sentinelTLS: options.tls } : {}),
			});
		case 'cluster': {
			if (!config.nodes?.length) throw new Error('Redis Cluster needs at least one node address');
			const { db: _db, ...redisOptions } = options;
			const clusterOptions: ClusterOptions = {
				redisOptions,
				enableOfflineQueue: false,
				clusterRetryStrategy: (times: number) => Math.min(2_000, 200 * times),
				slotsRefreshTimeout: config.connectTimeoutMs ?? 2_000,
				dnsLookup: (address, callback) => callback(null, address),
			};
			return new Cluster(config.nodes, clusterOptions);
		}
		default:
			throw new Error(`Unknown Redis mode "${String(config.mode)}": use single, sentinel or cluster`);
	}
}

/** Waits until the client is ready, at most `timeoutMs`. */
export function waitReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
	if (redis.status === 'ready') return Promise.resolve(true);
	return new Promise((resolve) => {
		const done = (ok: boolean) => {
			clearTimeout(timer);
			redis.off('ready', onReady);
			resolve(ok);
		};
		const onReady = () => done(true);
		const timer = setTimeout(() => done(false), timeoutMs);
		redis.on('ready', onReady);
	});
}

/** Errors that mean "Redis is not answering now" rather than "this command is wrong". */
export function isUnavailableError(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	if (error.name === 'ReplyError') return /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|BUSY)\b/.test(error.message);
	return true;
}
