/**
 * Every Redis key of one cluster, built here and nowhere else. All carry the hash tag
 * `{<clusterHash>}` so each script's keys share one slot on Redis Cluster.
 */

export const DEFAULT_KEY_PREFIX = 'comfyui-cluster';

export interface ClusterKeys {
	/** ZSET: member `<serverId>|<leaseId>`, score = expiry (ms). */
	leases: string;
	/** HASH: serverId → encoded breaker state. */
	breaker: string;
	/** HASH: serverId → `<queueRemaining>,<seenAt>[,<external>]`. */
	queue: string;
	/** HASH: `<serverId>|<workflowKey>` → `<ewmaSeconds>,<samples>`. */
	ewma: string;
	/** HASH: serverId → `<vramFree>,<vramTotal>,<ramFree>,<ramTotal>,<seenAt>`. */
	stats: string;
	/** HASH: `cursor` → round-robin cursor; `w:<serverId>` → smooth weighted round robin current weight. */
	rr: string;
	/** HASH: serverId → `<at>|<message>`. */
	errors: string;
	/** HASH: `<serverId>|<promptId>` → abandoned at (ms): prompts to remove when the server answers. */
	tombstones: string;
	/** Pattern matching every key of this cluster (for tests and cleanup). */
	pattern: string;
}

export function clusterKeys(clusterHash: string, prefix: string = DEFAULT_KEY_PREFIX): ClusterKeys {
	if (/[{}]/.test(prefix)) throw new Error('The Redis key prefix must not contain { or }: the cluster hash tag is added for you');
	if (!/^[0-9a-zA-Z_-]+$/.test(clusterHash)) throw new Error('The cluster hash must be letters, digits, _ or -');
	const base = `${prefix.replace(/:+$/, '')}:{${clusterHash}}:`;
	return {
		leases: `${base}leases`,
		breaker: `${base}breaker`,
		queue: `${base}queue`,
		ewma: `${base}ewma`,
		stats: `${base}stats`,
		rr: `${base}rr`,
		errors: `${base}errors`,
		tombstones: `${base}tombstones`,
		pattern: `${base}*`,
	};
}
