/**
 * Redis Cluster, for real: three masters made one cluster by `redis-cli --cluster create`
 * (test/integration/redis/servers.ts); two worker processes each run a batch over three simulated
 * servers (max 1 each), reaching Redis as the credential's Cluster mode configures it. Proves: every
 * key of one ComfyUI cluster hashes to one slot (the `{clusterHash}` tag), and holds there on one
 * node; while the batch runs, that slot and its keys move from master to master four times
 * (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE, as a reshard does), and the workers follow
 * without dropping to memory or failing a state update; every scene completes and starts exactly
 * once, and no server ever holds more than its max.
 */
import { redisFromCredential } from '../../../nodes/ComfyUiCluster/helpers/engine';
import { clusterHash, parseServerList } from '../../../src/cluster/serverSpec';
import { clusterKeys, KEY_ORDER } from '../../../src/cluster/store/keys';
import { additionsSince, CHECKPOINTS, waitFor } from '../batch/helpers';
import { startWorker } from '../batch/workers';
import { expectEverySceneOnce, seedsOf } from './checks';
import { sleep, startRedisCluster, useTopology } from './servers';

// Well under a minute on an idle 2-core machine; the margin is for ts-node compiling workers under load.
jest.setTimeout(120_000);

const SCENES_PER_WORKER = 16;
const MAXES = [1, 1, 1];

const environment = useTopology();

it("keeps a ComfyUI cluster's keys in one slot, and a batch of two workers runs through four migrations of that slot", async () => {
	const topology = environment.topology();
	const cluster = await startRedisCluster(topology);
	const fleet = await environment.fleet(MAXES.map(() => ({ msPerStep: 40, models: CHECKPOINTS })));
	const servers = fleet.urls.map((url, i) => `${url} max=${MAXES[i]}`).join('\n');
	const keyPrefix = 'cluster-state';
	const keys = clusterKeys(clusterHash(parseServerList(servers)), keyPrefix);
	const look = topology.client(cluster.nodes[0]);
	const slots = new Set(await Promise.all(KEY_ORDER.map((name) => look.call('CLUSTER', 'KEYSLOT', keys[name]) as Promise<number>)));
	expect(slots.size).toBe(1);
	const [slot] = slots;
	const first = await cluster.ownerOf(slot);
	const [second, third] = cluster.nodes.filter((n) => n !== first);

	const redis = redisFromCredential({ mode: 'cluster', clusterNodes: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(', ') });
	const shared = { servers, redis, keyPrefix, count: SCENES_PER_WORKER, steps: 12, leaseTtlMs: 3_000, waitForGo: true };
	const workers = [1000, 2000].map((base) => startWorker({ ...shared, base }));
	await waitFor(() => workers.every((w) => w.ready()), 90_000, 50);
	for (const worker of workers) worker.go();

	const finished = () => fleet.servers.reduce((n, s) => n + s.records.finished.length, 0);
	await waitFor(() => finished() >= 3, 20_000, 20);
	const finishedAtFirstMove = finished();
	// Round the three masters and on to the second once more, 300 ms apart.
	const moves: number[] = [];
	for (const to of [second, third, first, second]) {
		moves.push((await cluster.migrate(slot, to)).keys);
		await sleep(300);
	}
	const movedAt = Date.now();
	// The state was there to move, every time, and the batch went on after.
	for (const keys of moves) expect(keys).toBeGreaterThanOrEqual(3);
	expect(finishedAtFirstMove).toBeLessThan(SCENES_PER_WORKER);

	const reports = await Promise.all(workers.map((w) => w.report));
	expectEverySceneOnce(fleet, reports, [...seedsOf(1000, SCENES_PER_WORKER), ...seedsOf(2000, SCENES_PER_WORKER)]);
	expect(fleet.servers.flatMap((s) => additionsSince(s, movedAt)).length).toBeGreaterThanOrEqual(2);
	fleet.servers.forEach((sim, i) => expect({ server: sim.name, peak: sim.records.peakActive }).toEqual({ server: sim.name, peak: MAXES[i] }));
	// Redirections (MOVED, ASK, TRYAGAIN) and scripts the new owner had not loaded yet cost no warning:
	// no switch to memory, no failed update of the cluster state.
	for (const worker of workers) expect(worker.warnings()).toEqual([]);

	// Every key of the cluster is on the slot's owner now, in that slot; no node holds another.
	const found = await Promise.all(
		cluster.nodes.map(async (node) => {
			const client = topology.client(node);
			const names: string[] = [];
			let cursor = '0';
			do {
				const [next, batch] = await client.scan(cursor, 'MATCH', keys.pattern, 'COUNT', 1000);
				cursor = next;
				names.push(...batch);
			} while (cursor !== '0');
			return { port: node.port, names };
		}),
	);
	const owner = found.find((f) => f.port === second.port)!.names;
	expect(found.filter((f) => f.port !== second.port).flatMap((f) => f.names)).toEqual([]);
	expect(owner.length).toBeGreaterThanOrEqual(3);
	for (const name of owner) expect(Object.values(keys)).toContain(name);
	expect(await topology.client(second).call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(owner.length);
	expect((await cluster.ownerOf(slot)).port).toBe(second.port);
});
