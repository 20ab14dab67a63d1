/**
 * Cluster Status after faults, and Free Memory on all or chosen servers, in n8n's engine.
 */
import type { NodeOperationError } from 'n8n-workflow';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import type { Fleet } from '../sim';
import { clusterCredential, deleteKeys, fixture, redisCredential, runJson, setItems, setParameters, startTestFleet, useRedis } from './comfyui';

let fleet: Fleet;
const prefixes: string[] = [];

beforeEach(async () => {
	fleet = await startTestFleet(3);
});
afterEach(async () => {
	await closeAllRuntimes();
	await fleet.stop();
});
afterAll(async () => {
	for (const prefix of prefixes) await deleteKeys(`${prefix}:`);
});

function credential() {
	const cluster = clusterCredential(fleet.urls);
	prefixes.push(String(cluster.statePrefix));
	return cluster;
}

const scenes = (n: number) => Array.from({ length: n }, (_, i) => ({ json: { prompt: `status scene ${i}`, seed: 60_000 + i } }));

describe.each([
	['memory', false],
	['redis', true],
])('Cluster Status (%s store)', (store, withRedis) => {
	it('after a crash shows that server unreachable with its breaker open, and the others healthy', async () => {
		const cluster = credential();
		const creds = { cluster, redis: withRedis ? redisCredential() : undefined };
		const crashed = fleet.servers[1];
		crashed.crash();

		const generate = await runJson(useRedis(setItems(fixture('generate'), 'Scenes', scenes(6)), withRedis), creds);
		expect(generate.status).toBe('success');
		const out = generate.output('Generate');
		expect(out).toHaveLength(6);
		expect(out.every((i) => i.json.server !== crashed.url)).toBe(true);

		const status = await runJson(useRedis(fixture('status'), withRedis), creds);
		expect(status.status).toBe('success');
		const rows = status.output('Status');
		expect(rows.map((r) => r.json.server)).toEqual(fleet.urls);
		for (const row of rows) {
			expect(row.json.store).toBe(store);
			if (row.json.server === crashed.url) {
				expect(row.json).toMatchObject({ reachable: false, reachability: 'down', breaker: 'open', queueRemaining: null, queueExternal: null });
				expect(typeof row.json.error).toBe('string');
				expect(typeof row.json.lastError).toBe('string');
				expect(Date.parse(String(row.json.breakerOpenUntil))).toBeGreaterThan(Date.now());
			} else {
				expect(row.json).toMatchObject({ reachable: true, reachability: 'up', breaker: 'closed', error: null, queueRemaining: 0, queueExternal: 0, inFlight: 0, abandonedPrompts: 0 });
				// Every scene taught its server's speed, apart from the per-workflow averages.
				expect(row.json.secondsPerWorkUnit).toEqual(expect.any(Number));
				expect(Object.keys(row.json.ewmaSeconds as object)).not.toContain('#work');
				expect(row.json.vramFree).toEqual(expect.any(Number));
				expect(row.json.ramFree).toEqual(expect.any(Number));
				expect(Object.keys(row.json.ewmaSeconds as object).length).toBeGreaterThan(0);
			}
		}
	});
});

describe('Cluster Status with one server listed twice', () => {
	it('warns on both rows when 127.0.0.1:PORT and localhost:PORT answer as the same server, on no other', async () => {
		const [a, b, c] = fleet.urls;
		const twice = a.replace('127.0.0.1', 'localhost');
		const cluster = clusterCredential([a, b, c, twice]);
		prefixes.push(String(cluster.statePrefix));
		const status = await runJson(fixture('status'), { cluster });
		expect(status.status).toBe('success');
		const rows = status.output('Status').map((r) => r.json);
		expect(rows.map((r) => r.server)).toEqual([a, b, c, twice]);
		const warning = `${a} and ${twice} are the same server (same address, devices and versions): list it once, or it takes 2 × its max of prompts`;
		expect(rows.map((r) => r.warning)).toEqual([warning, null, null, warning]);
	});
});

describe('Free Memory', () => {
	it('frees every server when no server is named, and only the named one otherwise', async () => {
		const cluster = credential();
		const all = await runJson(fixture('free-memory'), { cluster });
		expect(all.status).toBe('success');
		expect(all.output('Free Memory').map((i) => i.json)).toEqual(fleet.urls.map((url) => expect.objectContaining({ server: url, freed: true })));
		expect(fleet.servers.map((s) => s.records.frees)).toEqual([1, 1, 1]);

		const one = await runJson(setParameters(fixture('free-memory'), 'Free Memory', { servers: `${fleet.urls[2]}/` }), { cluster });
		expect(one.status).toBe('success');
		expect(one.output('Free Memory').map((i) => i.json)).toEqual([expect.objectContaining({ server: fleet.urls[2], freed: true })]);
		expect(fleet.servers.map((s) => s.records.frees)).toEqual([1, 1, 2]);
	});

	it('reports a server that is down as not freed, and rejects a server that is not in the credential', async () => {
		const cluster = credential();
		fleet.servers[0].crash();
		const all = await runJson(fixture('free-memory'), { cluster });
		expect(all.status).toBe('success');
		const rows = all.output('Free Memory').map((i) => i.json);
		expect(rows[0]).toMatchObject({ server: fleet.urls[0], freed: false, error: expect.any(String) });
		expect(rows.slice(1).every((r) => r.freed === true)).toBe(true);

		const unknown = await runJson(setParameters(fixture('free-memory'), 'Free Memory', { servers: 'http://gpu-9:8188' }), { cluster });
		expect(unknown.status).toBe('error');
		const error = unknown.nodeError('Free Memory') as NodeOperationError;
		expect(error.message).toMatch(/^Servers: http:\/\/gpu-9:8188 not in the credential's server list/);
		expect(error.description).toContain(fleet.urls[1]);
	});
});
