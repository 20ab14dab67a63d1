/**
 * Submit in one execution, Collect (or Cancel) in another, with the cluster state in Redis: the
 * handles are all a later execution needs, even after this process dropped its cluster runtime.
 */
import type { NodeOperationError } from 'n8n-workflow';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import type { Fleet } from '../sim';
import {
	activeAnywhere,
	clusterCredential,
	deleteKeys,
	fixture,
	isPng,
	keysUnder,
	receivedPrompts,
	redisCredential,
	runJson,
	setItems,
	startTestFleet,
	waitFor,
} from './comfyui';

let fleet: Fleet;
let cluster: ReturnType<typeof clusterCredential>;
const redis = redisCredential();

beforeAll(async () => {
	fleet = await startTestFleet(3);
	cluster = clusterCredential(fleet.urls);
});
afterEach(async () => {
	await closeAllRuntimes();
	for (const sim of fleet.servers) sim.setSpeed(1);
});
afterAll(async () => {
	await closeAllRuntimes();
	await fleet.stop();
	await deleteKeys(`${String(cluster.statePrefix)}:`);
	expect(await keysUnder(`${String(cluster.statePrefix)}:`)).toEqual([]);
});

function seeds(n: number, base: number) {
	return Array.from({ length: n }, (_, i) => ({ json: { seed: base + i } }));
}

async function submit(n: number, base: number) {
	const result = await runJson(setItems(fixture('submit-collect'), 'Scenes', seeds(n, base)), { cluster, redis });
	expect(result.status).toBe('success');
	return result.output('Submit');
}

describe('Submit, Collect and Cancel', () => {
	it('submits in one execution and collects the outputs in another', async () => {
		const submitted = await submit(5, 10_000);
		expect(submitted).toHaveLength(5);
		submitted.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			const handle = item.json.handle as Record<string, unknown>;
			expect(handle).toMatchObject({ server: item.json.server, promptId: item.json.promptId, index: i });
			expect(typeof handle.clientId).toBe('string');
			expect(new Date(String(handle.submittedAt)).getTime()).toBeGreaterThan(Date.now() - 60_000);
			const received = receivedPrompts(fleet.servers).find((p) => p.promptId === handle.promptId);
			expect(received?.url).toBe(handle.server);
			expect((received?.prompt as Record<string, { inputs: Record<string, unknown> }>)['3'].inputs.seed).toBe(10_000 + i);
		});
		// Submitting returned at once: the scenes went to more than one server.
		expect(new Set(submitted.map((i) => i.json.server)).size).toBeGreaterThan(1);

		// A later execution (a fresh runtime, as in another worker) collects with the handles alone.
		await closeAllRuntimes();
		const handles = submitted.map((item) => ({ json: { handle: item.json.handle } }));
		const result = await runJson(setItems(fixture('collect'), 'Handles', handles), { cluster, redis });
		expect(result.status).toBe('success');
		const collected = result.output('Collect');
		expect(collected).toHaveLength(5);
		collected.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json).toMatchObject({ promptId: submitted[i].json.promptId, server: submitted[i].json.server, store: 'redis' });
			expect(item.binary?.image_0.mimeType).toBe('image/png');
			expect(isPng(Buffer.from(item.binary!.image_0.data, 'base64'))).toBe(true);
		});
	});

	it('cancel removes queued scenes from their servers and interrupts running ones', async () => {
		for (const sim of fleet.servers) sim.setSpeed(0.02);
		const submitted = await submit(9, 20_000);
		const ids = submitted.map((i) => String(i.json.promptId));
		await waitFor(() => fleet.servers.some((s) => s.activePromptIds().some((id) => ids.includes(id))));

		const handles = submitted.map((item) => ({ json: { handle: item.json.handle } }));
		const result = await runJson(setItems(fixture('cancel'), 'Handles', handles), { cluster, redis });
		expect(result.status).toBe('success');
		const out = result.output('Cancel');
		expect(out).toHaveLength(9);
		out.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json.promptId).toBe(ids[i]);
			expect(item.json.error).toBeUndefined();
			expect(['deleted', 'interrupted']).toContain(item.json.outcome);
		});
		expect(out.filter((i) => i.json.outcome === 'deleted').length).toBeGreaterThan(0);
		const deleted = fleet.servers.flatMap((s) => s.records.deleted);
		expect(ids.filter((id) => deleted.includes(id)).length).toBeGreaterThan(0);
		await waitFor(() => activeAnywhere(fleet.servers).every((id) => !ids.includes(id)), 5000);
		const finished = fleet.servers.flatMap((s) => s.records.finished).filter((f) => ids.includes(f.promptId));
		expect(finished.every((f) => f.status !== 'success')).toBe(true);
	});

	it('rejects a handle that is not one, naming the item and the fix', async () => {
		const result = await runJson(setItems(fixture('collect'), 'Handles', [{ json: { handle: { promptId: 'x' } } }]), { cluster, redis });
		expect(result.status).toBe('error');
		const error = result.nodeError('Collect') as NodeOperationError;
		expect(error.name).toBe('NodeOperationError');
		expect(error.message).toMatch(/^Item 0: Handles: /);
		expect(error.message).toContain('{{ $json.handle }}');
	});
});
