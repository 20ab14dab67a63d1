/** A server that refuses our credentials is left out for the scene, not retried and not held against its health. */
import { runBatch, type BatchEvent } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { buildScene } from '../../../src/cluster/sceneBuilder';
import { startFleet, type Fleet } from '../../sim';

const graph = (seed: number) => ({
	'1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color: seed } },
	'2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'auth' } },
});

describe('servers that refuse our credentials', () => {
	let fleet: Fleet;
	afterEach(async () => {
		await closeAllRuntimes();
		await fleet?.stop();
	});

	it('runs every scene on the server that accepts them, trying the other at most once per scene', async () => {
		fleet = await startFleet([
			{ requireAuth: { header: 'authorization', value: 'Bearer right-token' } },
			{ requireAuth: { header: 'authorization', value: 'Bearer other-token' } },
		]);
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), defaultAuth: { type: 'bearer', token: 'right-token' } });
		const scenes = Array.from({ length: 6 }, (_, index) => buildScene({ index, workflow: graph(900 + index), maxAttempts: 1 }));
		const outcomes = await runBatch(runtime, scenes, { strategy: 'roundRobin' });
		expect(outcomes.every((o) => o.ok)).toBe(true);
		for (const o of outcomes) {
			if (!o.ok) continue;
			expect(o.result.server).toBe(fleet.urls[0]);
			expect(o.result.attempts.filter((a) => a.outcome === 'transient')).toEqual([]);
		}
		expect(fleet.servers[1].records.prompts).toHaveLength(0);
		const status = await runtime.store.snapshot(runtime.servers);
		expect(status.find((s) => s.id === runtime.servers[1].id)?.breaker.phase).toBe('closed');
	});

	it('fails at once, naming the credentials, when no server accepts them', async () => {
		fleet = await startFleet([{ requireAuth: { header: 'authorization', value: 'Bearer right-token' } }]);
		const runtime = await getRuntime({ servers: fleet.urls[0], defaultAuth: { type: 'bearer', token: 'wrong-token' } });
		const [outcome] = await runBatch(runtime, [buildScene({ index: 0, workflow: graph(1), maxAttempts: 3 })], { strategy: 'leastLoaded' });
		expect(outcome.ok).toBe(false);
		if (outcome.ok) return;
		expect(outcome.error.attempts).toHaveLength(1);
		expect(outcome.error.message).toMatch(/401/);
		expect(outcome.error.message).not.toContain('wrong-token');
	});

	it('reports a failure a server echoed the credentials into without them: events and log lines', async () => {
		const user = 'ops';
		const password = 'echoed-pass-5Gk2';
		const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
		fleet = await startFleet([{ requireAuth: { header: 'authorization', value: basic }, faults: { executionError: { message: 'boom', echoAuth: true } } }]);
		const lines: string[] = [];
		const log = (message: string) => lines.push(message);
		const runtime = await getRuntime({ servers: fleet.urls[0], defaultAuth: { type: 'basic', user, password } }, { debug: log, info: log, warn: log });
		const events: BatchEvent[] = [];
		const [outcome] = await runBatch(runtime, [buildScene({ index: 0, workflow: graph(2), maxAttempts: 1 })], { strategy: 'leastLoaded', onEvent: (e) => events.push(e) });
		expect(outcome.ok).toBe(false);
		const finish = events.find((e) => e.type === 'finish');
		expect(finish).toMatchObject({ type: 'finish', ok: false, message: expect.stringMatching(/boom \(authorization: \*\*\*; .*trace \*\*\*/) });
		for (const text of [JSON.stringify(events), ...lines]) {
			expect(text).not.toContain(password);
			expect(text).not.toContain(Buffer.from(`${user}:${password}`).toString('base64'));
		}
	});
});
