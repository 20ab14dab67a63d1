/**
 * One cluster runtime per configuration per process: the ComfyUI clients (one connection pool and
 * websocket per server) and the HealthStore are created once and reused by every execution, the way
 * n8n's own nodes pool their connections. Keyed by a hash of the configuration, so changing the
 * credential gives a new runtime.
 */
import { createHash, randomUUID } from 'crypto';
import { authSecrets, ComfyUiClient } from '../comfyui/client';
import { redact, redactDeep } from '../util/redact';
import type { ClusterRuntime, EngineLogger } from './types';
import { Janitor } from './janitor';
import { Liveness } from './liveness';
import { Prober } from './probes';
import { clusterHash, parseServerList, type ServerAuth, type ServerSpec } from './serverSpec';
import { FallbackHealthStore } from './store/FallbackHealthStore';
import type { HealthStore, HealthStoreOptionsInput } from './store/HealthStore';
import { MemoryHealthStore } from './store/MemoryHealthStore';
import { RedisHealthStore } from './store/RedisHealthStore';
import { createRedis, waitReady, type RedisConfig } from './store/redisConnection';

export interface ClusterConfig {
	/** The credential's server list text (or JSON array). */
	servers: string;
	defaultAuth?: ServerAuth;
	keyPrefix?: string;
	/** Shared state in Redis; without it, in this process's memory. */
	redis?: RedisConfig;
	store?: HealthStoreOptionsInput;
	requestTimeoutMs?: number;
}

export interface Runtime extends ClusterRuntime {
	readonly storeKind: 'memory' | 'redis';
	readonly hash: string;
	/** Client ids of this cluster's prompts start with it. */
	readonly clientPrefix: string;
	/** Which store answers now ('memory' while Redis is unreachable). */
	activeStore(): 'memory' | 'redis';
	close(): Promise<void>;
}

const runtimes = new Map<string, Promise<Runtime>>();

/** The runtime for this configuration, created on first use. Throws ServerSpecError on a bad list. */
export function getRuntime(config: ClusterConfig, logger?: EngineLogger): Promise<Runtime> {
	const key = createHash('sha256').update(JSON.stringify(config)).digest('hex');
	let runtime = runtimes.get(key);
	if (!runtime) {
		runtime = createRuntime(config, logger);
		runtimes.set(key, runtime);
		runtime.catch(() => runtimes.delete(key));
	}
	return runtime;
}

/** Closes every runtime of this process (tests, shutdown). */
export async function closeAllRuntimes(): Promise<void> {
	const all = [...runtimes.values()];
	runtimes.clear();
	await Promise.all(all.map(async (r) => (await r.catch(() => undefined))?.close()));
}

/** Every secret of a configuration: each server's authentication (and the default one) and the Redis password. */
export function secretsOf(config: Pick<ClusterConfig, 'defaultAuth' | 'redis'>, servers: readonly ServerSpec[]): string[] {
	const auths = [config.defaultAuth, ...servers.map((s) => s.auth)].filter((a): a is ServerAuth => a !== undefined);
	const secrets = [...auths.flatMap(authSecrets), config.redis?.password ?? ''];
	return [...new Set(secrets.filter(Boolean))];
}

/** A logger that passes nothing secret on, whatever the engine or a library hands it. */
export function redactingLogger(logger: EngineLogger, secrets: readonly string[]): EngineLogger {
	const clean = (message: string, meta?: Record<string, unknown>): [string, Record<string, unknown> | undefined] => [redact(message, secrets), meta && redactDeep(meta, secrets)];
	return {
		debug: (message, meta) => logger.debug(...clean(message, meta)),
		info: (message, meta) => logger.info(...clean(message, meta)),
		warn: (message, meta) => logger.warn(...clean(message, meta)),
	};
}

/** How long a new runtime waits for its first Redis connection before it starts on memory. */
const REDIS_CONNECT_WAIT_MS = 2_000;
/** Tells this process's memory-kept state apart from every other process's. */
const PROCESS_ID = randomUUID();

/**
 * Every prompt is submitted with a client id that starts with this prefix: one per cluster state
 * (the Redis database and key prefix, or this process when the state is in memory), so a probe tells
 * the prompts of this cluster's executions — counted through their leases — from everybody else's.
 */
export function clientPrefixOf(config: Pick<ClusterConfig, 'redis' | 'keyPrefix'>, hash: string): string {
	const scope = config.redis ? JSON.stringify({ redis: config.redis, prefix: config.keyPrefix ?? '' }) : PROCESS_ID;
	return `n8n-cc-${createHash('sha256').update(`${hash}|${scope}`).digest('hex').slice(0, 12)}-`;
}

async function createRuntime(config: ClusterConfig, given?: EngineLogger): Promise<Runtime> {
	const servers = parseServerList(config.servers, { defaultAuth: config.defaultAuth });
	const hash = clusterHash(servers);
	const clientPrefix = clientPrefixOf(config, hash);
	const secrets = secretsOf(config, servers);
	const logger = given && redactingLogger(given, secrets);
	const clients = new Map(
		servers.map((server) => [
			server.id,
			new ComfyUiClient({ url: server.url, auth: server.auth, logger, requestTimeoutMs: config.requestTimeoutMs, clientId: `${clientPrefix}${randomUUID()}` }),
		]),
	);
	let store: HealthStore;
	let fallback: FallbackHealthStore | undefined;
	if (config.redis) {
		const redis = createRedis(config.redis);
		// The first calls of a batch run in parallel: without this wait, all but one would find the
		// connection still opening and drop the store to memory for its retry period, so leases taken
		// then would not count against other workers' `max`.
		await waitReady(redis, REDIS_CONNECT_WAIT_MS);
		const redisStore = new RedisHealthStore(redis, { ...config.store, clusterHash: hash, prefix: config.keyPrefix, ownsClient: true });
		fallback = new FallbackHealthStore(redisStore, { logger: logger && { warn: (m) => logger.warn(m), info: (m) => logger.info(m) } });
		store = fallback;
	} else {
		store = new MemoryHealthStore(config.store);
	}
	const clean = (text: string) => redact(text, secrets);
	const clientFor = (serverId: string): ComfyUiClient => {
		const client = clients.get(serverId);
		if (!client) throw new Error(`Unknown server id ${serverId}`);
		return client;
	};
	const liveness = new Liveness();
	const prober = new Prober({ store, clientFor, liveness, clientPrefix, clean });
	const janitor = new Janitor({ store, clientFor, logger, clean });
	return {
		servers,
		store,
		logger,
		hash,
		clientPrefix,
		liveness,
		prober,
		janitor,
		storeKind: config.redis ? 'redis' : 'memory',
		secrets,
		activeStore: () => (fallback ? fallback.active : 'memory'),
		clientFor,
		async close() {
			janitor.close();
			await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)));
			await store.close().catch(() => undefined);
		},
	};
}
