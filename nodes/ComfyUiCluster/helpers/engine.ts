/**
 * The cluster runtime (the engine: cached per process) from the node's credentials, its secrets, and
 * the bridge to n8n's logger.
 */
import type { ICredentialDataDecryptedObject, IExecuteFunctions, Logger } from 'n8n-workflow';
import { getRuntime, redactingLogger, secretsOf, type ClusterConfig, type Runtime } from '../../../src/cluster';
import type { EngineLogger } from '../../../src/cluster';
import { parseServerList, type ServerAuth, type ServerSpec } from '../../../src/cluster';
import type { RedisConfig } from '../../../src/cluster';

export function authFromCredential(credential: ICredentialDataDecryptedObject): ServerAuth {
	switch (credential.authentication) {
		case 'bearer':
			return { type: 'bearer', token: String(credential.token ?? '') };
		case 'basic':
			return { type: 'basic', user: String(credential.user ?? ''), password: String(credential.password ?? '') };
		case 'header':
			return { type: 'header', name: String(credential.headerName ?? ''), value: String(credential.headerValue ?? '') };
		default:
			return { type: 'none' };
	}
}

function hostPorts(text: unknown, defaultPort: number): Array<{ host: string; port: number }> {
	return String(text ?? '')
		.split(/[,\s]+/)
		.filter(Boolean)
		.map((entry) => {
			const [host, port] = entry.split(':');
			return { host, port: Number(port) || defaultPort };
		});
}

export function redisFromCredential(credential: ICredentialDataDecryptedObject): RedisConfig {
	// A credential saved before the mode field existed (or set through the API) may have none.
	const mode: RedisConfig['mode'] = credential.mode === 'sentinel' || credential.mode === 'cluster' ? credential.mode : 'single';
	const tls = credential.ssl ? (credential.disableTlsVerification ? { rejectUnauthorized: false } : true) : undefined;
	return {
		mode,
		host: String(credential.host ?? 'localhost'),
		port: Number(credential.port ?? 6379),
		db: Number(credential.database ?? 0),
		username: String(credential.user ?? '') || undefined,
		password: String(credential.password ?? '') || undefined,
		tls,
		sentinels: mode === 'sentinel' ? hostPorts(credential.sentinels, 26379) : undefined,
		name: mode === 'sentinel' ? String(credential.sentinelName ?? 'mymaster') : undefined,
		nodes: mode === 'cluster' ? hostPorts(credential.clusterNodes, 6379) : undefined,
	};
}

/** The list as text; an expression may hand over the JSON array itself rather than its text. */
function serverListText(value: unknown): string {
	if (value === undefined || value === null) return '';
	return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function clusterConfig(cluster: ICredentialDataDecryptedObject, redis?: ICredentialDataDecryptedObject): ClusterConfig {
	return {
		servers: serverListText(cluster.servers),
		defaultAuth: authFromCredential(cluster),
		keyPrefix: String(cluster.statePrefix ?? '') || undefined,
		redis: redis ? redisFromCredential(redis) : undefined,
	};
}

export function engineLogger(logger: Logger): EngineLogger {
	return {
		debug: (message, meta) => logger.debug(message, meta),
		info: (message, meta) => logger.info(message, meta),
		warn: (message, meta) => logger.warn(message, meta),
	};
}

/** The Redis credential is optional: without it the cluster state lives in this process's memory. */
async function optionalRedis(ctx: IExecuteFunctions): Promise<ICredentialDataDecryptedObject | undefined> {
	const node = ctx.getNode();
	if (!node.credentials?.comfyUiClusterRedisApi) return undefined;
	return ctx.getCredentials<ICredentialDataDecryptedObject>('comfyUiClusterRedisApi');
}

/** The cluster configuration of the node's credentials. */
export async function clusterConfigOf(ctx: IExecuteFunctions): Promise<ClusterConfig> {
	return clusterConfig(await ctx.getCredentials<ICredentialDataDecryptedObject>('comfyUiClusterApi'), await optionalRedis(ctx));
}

/**
 * Every secret of a configuration (server authentications, Redis password), to take out of whatever
 * leaves the node; without the servers' own when the list does not parse.
 */
export function configSecrets(config: ClusterConfig): string[] {
	let servers: ServerSpec[] = [];
	try {
		servers = parseServerList(config.servers, { defaultAuth: config.defaultAuth });
	} catch {
		// The list's error names no secret; the credential's own still count.
	}
	return secretsOf(config, servers);
}

/** The runtime of a configuration: one per process and configuration, shared by every execution. */
export function runtimeFor(ctx: IExecuteFunctions, config: ClusterConfig): Promise<Runtime> {
	return getRuntime(config, engineLogger(ctx.logger));
}

/** n8n's logger for the node's own lines, with the runtime's secrets taken out. */
export function nodeLogger(ctx: IExecuteFunctions, runtime: Runtime): EngineLogger {
	return redactingLogger(engineLogger(ctx.logger), runtime.secrets ?? []);
}
