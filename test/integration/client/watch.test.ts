/** Following prompts to their end against the simulator: websocket, polling, drops, restarts, deadlines. */
import { ComfyUiSimulator } from '../../sim';
import { probeCatalogue } from '../../sim/catalogue';
import { ComfyUiClient, type ProgressEvent } from '../../../src/comfyui/client';
import { CancelledError, ExecutionError, TransientServerError } from '../../../src/comfyui/errors';
import { freshColor, probeGraph, until } from './graphs';

const MS_PER_STEP = 15;

describe('ComfyUiClient.watch', () => {
	let sim: ComfyUiSimulator;
	const clients: ComfyUiClient[] = [];
	const client = (options: Partial<ConstructorParameters<typeof ComfyUiClient>[0]> = {}) => {
		const c = new ComfyUiClient({ url: sim.url, requestTimeoutMs: 3000, ...options });
		clients.push(c);
		return c;
	};

	beforeEach(async () => {
		sim = await ComfyUiSimulator.start({ msPerStep: MS_PER_STEP, catalogue: probeCatalogue() });
	});
	afterEach(async () => {
		await Promise.all(clients.splice(0).map((c) => c.close()));
		await sim.stop();
	});

	it('follows the full websocket sequence with progress and returns the saved files', async () => {
		const c = client();
		const events: ProgressEvent[] = [];
		const { promptId, number, nodeErrors } = await c.submit(probeGraph(5, freshColor()));
		expect(promptId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(typeof number).toBe('number');
		expect(nodeErrors).toEqual({});
		expect(c.webSocketOpen).toBe(true);
		const result = await c.watch(promptId, { onProgress: (e) => events.push(e), totalMs: 10_000 });
		expect(result.status).toBe('success');
		expect(result.cached).toBe(false);
		expect(result.outputs).toHaveLength(1);
		expect(result.outputs[0]).toMatchObject({ nodeId: '3', kind: 'image', mimeType: 'image/png', type: 'output' });
		expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.executionMs);
		// Progress came from the socket: per-step values of the probe node, with a percentage.
		const steps = events.filter((e) => e.node === '2' && e.max === 5);
		expect(steps.map((e) => e.value)).toEqual(expect.arrayContaining([1, 5]));
		expect(steps.find((e) => e.value === 5)?.percent).toBe(100);
		expect(events.every((e) => e.promptId === promptId)).toBe(true);
		expect(events.some((e) => e.phase === 'running')).toBe(true);
	});

	it('completes by polling alone when the websocket is not used', async () => {
		const c = client({ useWebSocket: false });
		const { promptId } = await c.submit(probeGraph(3, freshColor()));
		expect(c.webSocketOpen).toBe(false);
		const result = await c.watch(promptId, { pollMinMs: 50, pollMaxMs: 200, totalMs: 10_000 });
		expect(result.outputs.map((o) => o.kind)).toEqual(['image']);
	});

	it('still completes when the websocket drops mid-job', async () => {
		const c = client();
		let dropped = false;
		const { promptId } = await c.submit(probeGraph(40, freshColor()));
		const result = await c.watch(promptId, {
			pollMinMs: 100,
			pollMaxMs: 300,
			totalMs: 15_000,
			onProgress: (e) => {
				if (!dropped && e.value !== undefined && e.value >= 3) {
					dropped = true;
					sim.dropWebSockets();
				}
			},
		});
		expect(dropped).toBe(true);
		expect(result.status).toBe('success');
		// The socket came back on its own.
		await until(() => c.webSocketOpen, 5000, 'websocket reconnect');
	});

	it('reports a prompt lost when the server restarts mid-job', async () => {
		const c = client();
		const { promptId } = await c.submit(probeGraph(200, freshColor()));
		let restarted: Promise<void> | undefined;
		const watching = c.watch(promptId, {
			pollMinMs: 50,
			pollMaxMs: 200,
			totalMs: 15_000,
			onProgress: (e) => {
				if (!restarted && e.phase === 'running') restarted = sim.restart(200);
			},
		});
		await expect(watching).rejects.toMatchObject({ name: 'TransientServerError', reason: 'lost' });
		await restarted;
	});

	it('fires the inactivity deadline on a hung server, then cancel removes the prompt', async () => {
		const c = client();
		const { promptId } = await c.submit(probeGraph(100, freshColor()));
		const watching = c.watch(promptId, {
			inactivityMs: 400,
			pollMinMs: 50,
			pollMaxMs: 100,
			totalMs: 15_000,
			onProgress: (e) => {
				if (e.value === 2) sim.setHang(true);
			},
		});
		const error = await watching.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransientServerError);
		expect((error as TransientServerError).reason).toBe('inactivity-timeout');
		expect((error as Error).message).toContain(promptId);
		expect(sim.activePromptIds()).toContain(promptId);
		expect(await c.cancel(promptId)).toBe('interrupted');
		expect(sim.records.interrupted).toContain(promptId);
		// A stuck node sees the interrupt flag only once it gets going again, as in ComfyUI.
		sim.setHang(false);
		await until(() => !sim.activePromptIds().includes(promptId), 5000, 'prompt to leave the server');
	});

	it('fires the queue-wait deadline while another prompt runs, then cancel deletes the waiting one', async () => {
		const c = client();
		const first = await c.submit(probeGraph(100, freshColor()));
		const second = await c.submit(probeGraph(2, freshColor()));
		await expect(c.watch(second.promptId, { queueWaitMs: 300, pollMinMs: 50, pollMaxMs: 100 })).rejects.toMatchObject({
			reason: 'queue-wait-timeout',
		});
		expect(await c.lookup(second.promptId)).toBe('pending');
		expect(await c.cancel(second.promptId)).toBe('deleted');
		expect(sim.records.deleted).toContain(second.promptId);
		expect(await c.lookup(second.promptId)).toBe('unknown');
		expect(await c.cancel(first.promptId)).toBe('interrupted');
		expect(await c.cancel('00000000-0000-4000-8000-000000000000')).toBe('not-found');
	});

	it('cancels several prompts at once: the pending ones leave the queue before the running one is interrupted', async () => {
		const c = client();
		const running = await c.submit(probeGraph(100, freshColor()));
		const pending = [await c.submit(probeGraph(2, freshColor())), await c.submit(probeGraph(2, freshColor()))];
		await until(() => sim.records.started.includes(running.promptId), 5000, 'the first prompt to start');
		const outcomes = await c.cancelMany([running.promptId, ...pending.map((p) => p.promptId), 'not-a-prompt-of-this-server']);
		expect([...outcomes]).toEqual([
			[running.promptId, 'interrupted'],
			[pending[0].promptId, 'deleted'],
			[pending[1].promptId, 'deleted'],
			['not-a-prompt-of-this-server', 'not-found'],
		]);
		await until(() => sim.activePromptIds().length === 0, 5000, 'the queue to empty');
		// none of the waiting ones ever started
		for (const p of pending) expect(sim.records.started).not.toContain(p.promptId);
	});

	it('throws ExecutionError with node id, class and exception message when a node raises', async () => {
		const c = client();
		sim.setExecutionError({ nodeClass: 'ProbeProgress', message: 'CUDA out of memory (simulated)' });
		const { promptId } = await c.submit(probeGraph(3, freshColor()));
		const error = await c.watch(promptId, { totalMs: 10_000 }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ExecutionError);
		const details = (error as ExecutionError).details;
		expect(details).toMatchObject({ promptId, nodeId: '2', nodeType: 'ProbeProgress', interrupted: false });
		expect(details.exceptionMessage).toContain('CUDA out of memory (simulated)');
		expect(details.exceptionType).toBeTruthy();
		expect((error as Error).message).toContain('ProbeProgress');
	});

	it('throws ExecutionError marked interrupted when the running prompt is interrupted', async () => {
		const c = client();
		const { promptId } = await c.submit(probeGraph(200, freshColor()));
		let cancelling: Promise<unknown> | undefined;
		const error = await c
			.watch(promptId, {
				totalMs: 10_000,
				onProgress: (e) => {
					if (!cancelling && e.value !== undefined) cancelling = c.cancel(promptId);
				},
			})
			.catch((e: unknown) => e);
		expect(await cancelling).toBe('interrupted');
		expect(error).toBeInstanceOf(ExecutionError);
		expect((error as ExecutionError).details).toMatchObject({ promptId, interrupted: true, nodeId: '2' });
	});

	it('returns the files of a cached resubmission that wrote nothing new', async () => {
		const c = client();
		const graph = probeGraph(2, freshColor());
		const first = await c.watch((await c.submit(graph)).promptId, { totalMs: 10_000 });
		const second = await c.watch((await c.submit(graph)).promptId, { totalMs: 10_000 });
		expect(first.cached).toBe(false);
		expect(second.cached).toBe(true);
		expect(second.outputs.map((o) => o.filename)).toEqual(first.outputs.map((o) => o.filename));
		expect(second.outputs).toHaveLength(1);
	});

	it('stops with CancelledError when the caller aborts, leaving the prompt on the server', async () => {
		const c = client();
		const { promptId } = await c.submit(probeGraph(100, freshColor()));
		const controller = new AbortController();
		const watching = c.watch(promptId, { signal: controller.signal });
		setTimeout(() => controller.abort(), 100);
		await expect(watching).rejects.toBeInstanceOf(CancelledError);
		expect(sim.activePromptIds()).toContain(promptId);
	});

	it('fires the total deadline', async () => {
		const c = client();
		const { promptId } = await c.submit(probeGraph(200, freshColor()));
		await expect(c.watch(promptId, { totalMs: 300 })).rejects.toMatchObject({ reason: 'total-timeout' });
	});
});
