/**
 * Real Redis topologies for the tests of this folder, on loopback ports, in a temporary directory
 * each: a master with a replica watched by three sentinels (short timings: a SIGKILLed master is
 * replaced in a few seconds), a Redis Cluster of three masters, and a CA with a server certificate
 * made by openssl for TLS. `Topology` keeps every process and directory it made and removes them
 * all in `stop()`, whatever state the test left them in.
 */
import { execFile } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import Redis, { type RedisOptions } from 'ioredis';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { freePort, spawnRedis, THROWAWAY_REDIS_HOST, type RedisProcess } from '../../setup/redis';
import { startFleet, type Fleet, type SimulatorOptions } from '../../sim';
import { killWorkers } from '../batch/workers';

const run = promisify(execFile);
const HOST = THROWAWAY_REDIS_HOST;
/** No persistence: these servers live for one test. */
const EPHEMERAL = ['--bind', HOST, '--save', '', '--appendonly', 'no'];

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			if (await check()) return;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
		await sleep(100);
	}
}

/** The processes, clients and temporary directory of one test. */
export class Topology {
	readonly dir = mkdtempSync(join(tmpdir(), 'comfyui-redis-topology-'));
	private readonly processes: RedisProcess[] = [];
	private readonly clients: Redis[] = [];

	async redis(args: string[], port: number, client?: RedisOptions): Promise<RedisProcess> {
		const server = await spawnRedis({ args, port, cwd: this.dir, client });
		this.processes.push(server);
		return server;
	}

	/** A client of one server for the test's own looks and commands (closed in stop()). */
	client(server: { port: number }, options: RedisOptions = {}): Redis {
		const client = new Redis({ host: HOST, port: server.port, maxRetriesPerRequest: 1, ...options });
		client.on('error', () => undefined);
		this.clients.push(client);
		return client;
	}

	file(name: string, text: string): string {
		const path = join(this.dir, name);
		writeFileSync(path, text);
		return path;
	}

	async stop(): Promise<void> {
		for (const client of this.clients.splice(0)) client.disconnect();
		await Promise.all(this.processes.splice(0).map((p) => p.kill()));
		rmSync(this.dir, { recursive: true, force: true });
	}
}

/**
 * The Topology and the simulator fleet of each test of a file, stopped after it with every worker
 * process, whatever its outcome.
 */
export function useTopology(): { topology(): Topology; fleet(specs: SimulatorOptions[]): Promise<Fleet> } {
	let topology: Topology | undefined;
	let fleet: Fleet | undefined;
	afterEach(async () => {
		killWorkers();
		await fleet?.stop();
		fleet = undefined;
		await topology?.stop();
		topology = undefined;
	});
	return {
		topology: () => (topology ??= new Topology()),
		fleet: async (specs) => (fleet = await startFleet(specs)),
	};
}

/** Reads one field of an INFO reply. */
export function infoField(info: string, field: string): string | undefined {
	return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export interface SentinelGroup {
	name: string;
	master: RedisProcess;
	replica: RedisProcess;
	sentinels: RedisProcess[];
	/** The master the sentinels name now. */
	masterPort(): Promise<number>;
}

/**
 * A master, its replica (in sync) and three sentinels (quorum 2) that see both and each other: a
 * master that stops answering for a second is down, and the failover may retry after 5 s.
 */
export async function startSentinelGroup(topology: Topology, name = 'comfyui'): Promise<SentinelGroup> {
	const masterPort = await freePort();
	// Diskless sync at once: the default waits 5 s for more replicas.
	const master = await topology.redis(['--port', String(masterPort), ...EPHEMERAL, '--repl-diskless-sync-delay', '0'], masterPort);
	const replicaPort = await freePort();
	const replica = await topology.redis(['--port', String(replicaPort), ...EPHEMERAL, '--replicaof', HOST, String(masterPort), '--repl-diskless-sync-delay', '0'], replicaPort);
	const replicaClient = topology.client(replica);
	await until('the replica is in sync', async () => infoField(await replicaClient.info('replication'), 'master_link_status') === 'up', 10_000);
	const sentinels: RedisProcess[] = [];
	for (let i = 0; i < 3; i++) {
		const port = await freePort();
		const config = topology.file(
			`sentinel-${port}.conf`,
			[
				`port ${port}`,
				`bind ${HOST}`,
				`dir ${topology.dir}`,
				`sentinel monitor ${name} ${HOST} ${masterPort} 2`,
				`sentinel down-after-milliseconds ${name} 1000`,
				`sentinel failover-timeout ${name} 5000`,
				`sentinel parallel-syncs ${name} 1`,
				'',
			].join('\n'),
		);
		sentinels.push(await topology.redis([config, '--sentinel'], port));
	}
	// A failover needs sentinels that know the replica and enough of each other to elect a leader.
	const looks = sentinels.map((s) => topology.client(s));
	await until(
		'the sentinels see the replica and each other',
		async () => {
			const seen = await Promise.all(looks.map(async (c) => [(await c.call('SENTINEL', 'REPLICAS', name)) as unknown[], (await c.call('SENTINEL', 'SENTINELS', name)) as unknown[]]));
			return seen.every(([replicas, others]) => replicas.length === 1 && others.length === 2);
		},
		15_000,
	);
	return {
		name,
		master,
		replica,
		sentinels,
		masterPort: async () => Number(((await looks[0].call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[])[1]),
	};
}

export interface RedisClusterNodes {
	nodes: RedisProcess[];
	/** The node serving a slot now. */
	ownerOf(slot: number): Promise<RedisProcess>;
	/** Moves a slot and its keys to `to`, as a reshard does: IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE. */
	migrate(slot: number, to: RedisProcess): Promise<{ keys: number }>;
}

/** Three masters, no replicas, made one cluster by `redis-cli --cluster create`, each saying cluster_state:ok. */
export async function startRedisCluster(topology: Topology): Promise<RedisClusterNodes> {
	const nodes: RedisProcess[] = [];
	for (let i = 0; i < 3; i++) {
		const port = await freePort();
		nodes.push(
			await topology.redis(
				['--port', String(port), ...EPHEMERAL, '--cluster-enabled', 'yes', '--cluster-config-file', join(topology.dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'],
				port,
			),
		);
	}
	await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
	const clients = nodes.map((n) => topology.client(n));
	await until('every node says cluster_state:ok', async () => (await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>))).every((info) => infoField(info, 'cluster_state') === 'ok'), 15_000);
	const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
	const ownerOf = async (slot: number) => {
		const ranges = (await clients[0].call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
		const range = ranges.find(([from, to]) => slot >= from && slot <= to);
		const node = nodes.find((n) => n.port === Number(range?.[2][1]));
		if (!node) throw new Error(`No node serves slot ${slot}`);
		return node;
	};
	return {
		nodes,
		ownerOf,
		async migrate(slot, to) {
			const from = await ownerOf(slot);
			const [source, target] = [from, to].map((n) => clients[nodes.indexOf(n)]);
			const [sourceId, targetId] = [from, to].map((n) => ids[nodes.indexOf(n)]);
			await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
			await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
			let moved = 0;
			for (;;) {
				const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
				if (keys.length === 0) break;
				await source.call('MIGRATE', HOST, to.port, '', 0, 5000, 'KEYS', ...keys);
				moved += keys.length;
			}
			// The target first, then the source, then the others (as redis-cli does).
			for (const client of [target, source, ...clients.filter((c) => c !== target && c !== source)]) await client.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
			return { keys: moved };
		},
	};
}

export interface Certificates {
	ca: string;
	cert: string;
	key: string;
}

/** A CA and a server certificate it signed for 127.0.0.1 and localhost, valid for a day (openssl, P-256). */
export async function makeCertificates(topology: Topology): Promise<Certificates> {
	const path = (name: string) => join(topology.dir, name);
	const openssl = async (...args: string[]) => {
		try {
			await run('openssl', args, { cwd: topology.dir, timeout: 20_000 });
		} catch (error) {
			throw new Error(`openssl ${args[0]} failed (the TLS tests need openssl): ${(error as Error).message}`);
		}
	};
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
	await openssl('req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '1', '-subj', '/CN=comfyui-cluster test CA');
	await openssl('req', '-new', ...ec, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost');
	topology.file('server.ext', 'subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n');
	await openssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial', '-out', path('server.crt'), '-days', '1', '-extfile', path('server.ext'));
	return { ca: path('ca.crt'), cert: path('server.crt'), key: path('server.key') };
}
