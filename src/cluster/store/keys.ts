/**
 * Every Redis key of one cluster, and the one order in which every Lua script takes the keys it
 * needs (`KEY_ORDER`). All keys carry the hash tag `{<clusterHash>}` so each script's keys share one
 * slot on Redis Cluster.
 */

export const DEFAULT_KEY_PREFIX = 'comfyui-cluster';

/** The state keys in the order every script takes them: a script takes the subset it needs, in this order. */
export const KEY_ORDER = ['leases', 'breaker', 'queue', 'ewma', 'stats', 'rr', 'errors', 'tombstones', 'models'] as const;

export type StateKey = (typeof KEY_ORDER)[number];

export interface ClusterKeys extends Record<StateKey, string> {
	/** ZSET: member `<serverId>|<leaseId>`, score = expiry (ms). */
	leases: string;
	/** HASH: serverId → encoded breaker state. */
	breaker: string;
	/** HASH: serverId → `<queueRemaining>,<seenAt>[,<external>]`. */
	queue: string;
	/** HASH: `<serverId>|<workflowKey>` → `<ewmaSeconds>,<samples>` (also `#work` per unit, `#load:<model>` per model load). */
	ewma: string;
	/** HASH: serverId → `<vramFree>,<vramTotal>,<ramFree>,<ramTotal>,<seenAt>`. */
	stats: string;
	/** HASH: `cursor` → round-robin cursor; `w:<serverId>` → smooth weighted round robin current weight. */
	rr: string;
	/** HASH: serverId → `<at>|<message>`. */
	errors: string;
	/** HASH: `<serverId>|<promptId>` → abandoned at (ms): prompts to remove when the server answers. */
	tombstones: string;
	/** HASH: serverId → `<at>|<JSON list of model keys>`: the models its last prompt of ours loaded (resident now). */
	models: string;
	/** Pattern matching every key of this cluster (for tests and cleanup). */
	pattern: string;
}

export function clusterKeys(clusterHash: string, prefix: string = DEFAULT_KEY_PREFIX): ClusterKeys {
	if (/[{}]/.test(prefix)) throw new Error('The Redis key prefix must not contain { or }: the cluster hash tag is added for you');
	if (!/^[0-9a-zA-Z_-]+$/.test(clusterHash)) throw new Error('The cluster hash must be letters, digits, _ or -');
	const base = `${prefix.replace(/:+$/, '')}:{${clusterHash}}:`;
	const keys = { pattern: `${base}*` } as ClusterKeys;
	for (const name of KEY_ORDER) keys[name] = `${base}${name}`;
	return keys;
}

/** Throws unless `names` follow KEY_ORDER, each at most once. */
export function checkKeyOrder(names: readonly StateKey[]): void {
	const positions = names.map((name) => KEY_ORDER.indexOf(name));
	positions.forEach((position, i) => {
		if (position < 0 || (i > 0 && position <= positions[i - 1])) throw new Error(`Script keys must follow ${KEY_ORDER.join(', ')}: got ${names.join(', ')}`);
	});
}

/** The keys a script takes (`names`, in KEY_ORDER) of this cluster. */
export function keysInOrder(keys: ClusterKeys, names: readonly StateKey[]): string[] {
	checkKeyOrder(names);
	return names.map((name) => keys[name]);
}
