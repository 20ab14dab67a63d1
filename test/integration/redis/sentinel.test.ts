/**
 * Redis Sentinel, for real: a master, its replica and three sentinels (test/integration/redis/
 * servers.ts); two worker processes each run a batch over three simulated servers (max 1 each),
 * reaching Redis through the sentinels as the credential's Sentinel mode configures it. The master
 * is SIGKILLed mid-batch and the sentinels promote the replica. Proves: every scene completes and
 * starts exactly once in the fleet; each worker logs the switch to memory once and the return to
 * Redis once; leases lost with the old master are taken again; and from a renewal period after
 * both workers are back on Redis, every scene running on a server counts in Redis again (leases
 * taken in memory meanwhile included) and no prompt is added to a server at its max (while Redis
 * was away each worker placed on its own memory, which may overfill).
 */
import { redisFromCredential } from '../../../nodes/ComfyUiCluster/helpers/engine';
import { renewalPeriodMs } from '../../../src/cluster/leases';
import { clusterHash, parseServerList } from '../../../src/cluster/serverSpec';
import { RedisHealthStore } from '../../../src/cluster/store/RedisHealthStore';
import { additionsSince, CHECKPOINTS, waitFor } from '../batch/helpers';
import { startWorker, type Worker } from '../batch/workers';
import { expectEverySceneOnce, overfillsSince, seedsOf } from './checks';
import { sleep, startSentinelGroup, until, useTopology } from './servers';

// About 30 s on an idle 2-core machine; the margin is for ts-node compiling the workers under load.
jest.setTimeout(120_000);

const LEASE_TTL_MS = 3_000;
const SCENES_PER_WORKER = 20;
const MAXES = [1, 1, 1];

const environment = useTopology();

const notes = (worker: Worker, pattern: RegExp) => worker.notes().filter((n) => pattern.test(n.text));

it('a master SIGKILLed mid-batch: the sentinels promote the replica, every scene runs once, max holds again once the workers are back on Redis', async () => {
	const topology = environment.topology();
	const group = await startSentinelGroup(topology);
	// Scenes of about a second: the batch outlasts the failover and the workers' return to Redis.
	const fleet = await environment.fleet(MAXES.map(() => ({ msPerStep: 50, models: CHECKPOINTS })));
	const servers = fleet.urls.map((url, i) => `${url} max=${MAXES[i]}`).join('\n');
	const redis = redisFromCredential({ mode: 'sentinel', sentinels: group.sentinels.map((s) => `${s.host}:${s.port}`).join(','), sentinelName: group.name });
	const keyPrefix = 'sentinel-state';
	const shared = { servers, redis, keyPrefix, count: SCENES_PER_WORKER, steps: 20, leaseTtlMs: LEASE_TTL_MS, waitForGo: true };
	const workers = [1000, 2000].map((base) => startWorker({ ...shared, base }));
	await waitFor(() => workers.every((w) => w.ready()), 90_000, 50);
	for (const worker of workers) worker.go();

	const started = () => fleet.servers.reduce((n, s) => n + s.records.started.length, 0);
	const finished = () => fleet.servers.reduce((n, s) => n + s.records.finished.length, 0);
	await waitFor(() => started() >= 4, 20_000, 20);
	await group.master.kill();
	const killedAt = Date.now();
	const finishedAtKill = finished();
	await until('the sentinels promote the replica', async () => (await group.masterPort()) === group.replica.port, 20_000);
	const promotedAt = Date.now();

	// From the new master, every 100 ms: per server, prompts the server holds beyond the leases Redis
	// counts there. A lease is taken before its prompt goes out and given back after the prompt ended,
	// so once every running scene's lease is in Redis again this is above 0 only when a prompt went
	// out between Redis's answer and the look at the server.
	const specs = parseServerList(servers);
	const store = new RedisHealthStore(topology.client(group.replica), { clusterHash: clusterHash(specs), prefix: keyPrefix });
	const samples: Array<{ at: number; uncounted: number[] }> = [];
	let sampling = true;
	const sampler = (async () => {
		while (sampling) {
			const status = await store.snapshot(specs).catch(() => undefined);
			if (status) samples.push({ at: Date.now(), uncounted: fleet.servers.map((sim, i) => sim.activePromptIds().length - status[i].inFlight) });
			await sleep(100);
		}
	})();
	const reports = await Promise.all(workers.map((w) => w.report)).finally(() => (sampling = false));
	await sampler;
	expectEverySceneOnce(fleet, reports, [...seedsOf(1000, SCENES_PER_WORKER), ...seedsOf(2000, SCENES_PER_WORKER)]);
	// The kill came with most of the batch still to run.
	expect(finishedAtKill).toBeLessThan(SCENES_PER_WORKER);

	// Each worker: one warning when Redis went away, one note when it answered again (on the new master).
	for (const worker of workers) {
		expect(worker.warnings().filter((w) => /Redis is unreachable/.test(w))).toHaveLength(1);
		expect(notes(worker, /^Redis answers again/)).toHaveLength(1);
	}
	const backAt = Math.max(...workers.map((w) => notes(w, /^Redis answers again/)[0].at));
	// The sentinels need a second to call the master down and a few more to promote the replica; the
	// workers look at Redis again 5 s after they left it (FallbackHealthStore's retryMs).
	expect(promotedAt - killedAt).toBeLessThan(10_000);
	expect(backAt).toBeGreaterThan(promotedAt - 1_000);
	expect(backAt - killedAt).toBeLessThan(15_000);
	// Leases the workers held across the outage had expired in Redis by then: taken again, one line each.
	const lost = workers.flatMap((w) => w.warnings().filter((m) => /^The lease of scene \d+ on http:\/\/\S+ was lost/.test(m)));
	expect(lost.length).toBeGreaterThanOrEqual(1);
	for (const worker of workers) expect(new Set(worker.warnings()).size).toBe(worker.warnings().length);

	// Within a renewal period of the return, every lease of a running scene is in Redis again (and a
	// second more for the workers' next look): from then on no server gets a prompt above its max...
	const settled = backAt + renewalPeriodMs(LEASE_TTL_MS) + 1_000;
	expect(overfillsSince(fleet, MAXES, settled)).toEqual(Object.fromEntries(fleet.servers.map((s) => [s.name, []])));
	// ...while scenes were still being placed after that.
	expect(fleet.servers.flatMap((s) => additionsSince(s, settled)).length).toBeGreaterThanOrEqual(3);
	// ...and every scene running on a server counts in Redis again: no server holds a prompt beyond
	// its leases in two samples in a row.
	const after = samples.filter((sample) => sample.at >= settled);
	expect(after.length).toBeGreaterThanOrEqual(10);
	const uncounted = after.filter((sample, i) => i > 0 && sample.uncounted.some((n, server) => n > 0 && after[i - 1].uncounted[server] > 0));
	expect(uncounted).toEqual([]);

	// The new master holds the cluster's state: every lease handed back, speeds learnt on every server.
	const status = await store.snapshot(specs);
	expect(status.map((s) => s.inFlight)).toEqual([0, 0, 0]);
	for (const s of status) expect(Object.values(s.ewma).some((e) => e.samples > 0)).toBe(true);
});
