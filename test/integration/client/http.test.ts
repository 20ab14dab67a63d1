/** Requests and their failures against the simulator: errors, auth, base paths, ambiguous submits. */
import { createServer } from 'net';
import { ComfyUiSimulator } from '../../sim';
import { probeCatalogue } from '../../sim/catalogue';
import { AmbiguousSubmitError, ComfyUiClient, type ServerAuth } from '../../../src/comfyui/client';
import { InvalidWorkflowError, TransientServerError } from '../../../src/comfyui/errors';
import { freshColor, probeGraph, quickGraph } from './graphs';

async function freePort(): Promise<number> {
	return new Promise((resolve) => {
		const server = createServer();
		server.listen(0, '127.0.0.1', () => {
			const port = (server.address() as { port: number }).port;
			server.close(() => resolve(port));
		});
	});
}

describe('ComfyUiClient requests', () => {
	const clients: ComfyUiClient[] = [];
	const sims: ComfyUiSimulator[] = [];
	const startSim = async (options: Parameters<typeof ComfyUiSimulator.start>[0] = {}) => {
		const sim = await ComfyUiSimulator.start({ msPerStep: 5, catalogue: probeCatalogue(), ...options });
		sims.push(sim);
		return sim;
	};
	const client = (url: string, auth?: ServerAuth, extra: { requestTimeoutMs?: number } = {}) => {
		const c = new ComfyUiClient({ url, auth, requestTimeoutMs: 3000, ...extra });
		clients.push(c);
		return c;
	};
	afterEach(async () => {
		await Promise.all(clients.splice(0).map((c) => c.close()));
		await Promise.all(sims.splice(0).map((s) => s.stop()));
	});

	it('turns 5xx answers into transient errors with the status', async () => {
		const sim = await startSim();
		const c = client(sim.url);
		sim.setHttpErrors({ routes: ['/prompt'], status: 503, rate: 1 });
		const error = await c.submit(quickGraph(freshColor())).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransientServerError);
		expect(error).toMatchObject({ reason: 'http-5xx', status: 503, server: c.server });
		sim.setHttpErrors({ routes: '*', status: 500, rate: 1 });
		await expect(c.systemStats()).rejects.toMatchObject({ reason: 'http-5xx', status: 500 });
	});

	it('reports a refused connection as transient', async () => {
		const c = client(`http://127.0.0.1:${await freePort()}`);
		await expect(c.queueInfo()).rejects.toMatchObject({ name: 'TransientServerError', reason: 'refused' });
	});

	it('turns a 400 into InvalidWorkflowError listing every node error', async () => {
		const sim = await startSim();
		const c = client(sim.url);
		const graph = {
			'1': { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color: 1 } },
			'2': { class_type: 'ImageScale', inputs: { image: ['1', 0], upscale_method: 'bilinear', width: 999999, height: 10, crop: 'disabled' } },
			'3': { class_type: 'LoadImage', inputs: { image: 'does-not-exist.png' } },
			'4': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
			'5': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'y' } },
		};
		const error = await c.submit(graph).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidWorkflowError);
		const invalid = error as InvalidWorkflowError;
		expect(invalid.errorType).toBe('prompt_outputs_failed_validation');
		const byNode = Object.fromEntries(invalid.nodeErrors.map((e) => [e.nodeId, e]));
		expect(byNode['2']).toMatchObject({ classType: 'ImageScale', inputName: 'width', type: 'value_bigger_than_max' });
		expect(byNode['3']).toMatchObject({ classType: 'LoadImage', inputName: 'image' });
		expect(invalid.message).toContain('node 2 (ImageScale) input "width"');
		expect(invalid.message).toContain('node 3 (LoadImage) input "image"');
	});

	it('turns 400s without node errors into InvalidWorkflowError with ComfyUI message', async () => {
		const sim = await startSim();
		const c = client(sim.url);
		await expect(c.submit({ '1': { class_type: 'NoSuchNode', inputs: {} } })).rejects.toMatchObject({
			name: 'InvalidWorkflowError',
			errorType: 'invalid_prompt',
			message: expect.stringContaining('NoSuchNode'),
		});
		await expect(c.submit({ '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } } })).rejects.toMatchObject({
			name: 'InvalidWorkflowError',
			errorType: 'prompt_no_outputs',
		});
	});

	it('returns partial node errors of a prompt that was still queued', async () => {
		const sim = await startSim();
		const c = client(sim.url);
		const graph = {
			...quickGraph(freshColor()),
			'9': { class_type: 'ImageInvert', inputs: {} },
			'10': { class_type: 'SaveImage', inputs: { images: ['9', 0], filename_prefix: 'z' } },
		};
		const { promptId, nodeErrors } = await c.submit(graph);
		expect(nodeErrors['9']?.class_type).toBe('ImageInvert');
		expect((await c.watch(promptId, { totalMs: 10_000 })).status).toBe('success');
	});

	it.each<[string, ServerAuth, { header: string; value: string }]>([
		['bearer', { type: 'bearer', token: 'tok-123456' }, { header: 'authorization', value: 'Bearer tok-123456' }],
		['basic', { type: 'basic', user: 'ann', password: 'pw-secret' }, { header: 'authorization', value: `Basic ${Buffer.from('ann:pw-secret').toString('base64')}` }],
		['custom header', { type: 'header', name: 'X-Api-Key', value: 'key-98765' }, { header: 'x-api-key', value: 'key-98765' }],
	])('sends %s auth on HTTP and on the websocket', async (_name, auth, requireAuth) => {
		const sim = await startSim({ requireAuth });
		const c = client(sim.url, auth);
		const progress: number[] = [];
		const { promptId } = await c.submit(probeGraph(3, freshColor()));
		expect(c.webSocketOpen).toBe(true);
		const result = await c.watch(promptId, { totalMs: 10_000, onProgress: (e) => e.value !== undefined && progress.push(e.value) });
		expect(result.status).toBe('success');
		expect(progress.length).toBeGreaterThan(0);
		expect((await c.downloadBuffer(result.outputs[0])).subarray(1, 4).toString()).toBe('PNG');

		const anonymous = client(sim.url);
		const error = await anonymous.queueInfo().catch((e: unknown) => e);
		expect(error).toMatchObject({ name: 'TransientServerError', reason: 'unexpected-response' });
		expect([401, 403]).toContain((error as TransientServerError).status);
		const wrong = client(sim.url, auth.type === 'bearer' ? { type: 'bearer', token: 'wrong-token-value' } : auth.type === 'basic' ? { type: 'basic', user: 'ann', password: 'wrong-password' } : { type: 'header', name: 'X-Api-Key', value: 'wrong-key-value' });
		const wrongError = (await wrong.systemStats().catch((e: unknown) => e)) as Error;
		expect(wrongError.message).not.toMatch(/wrong-token-value|wrong-password|wrong-key-value/);
	});

	it('credentials in the address become basic auth and stay out of messages', async () => {
		const sim = await startSim({ requireAuth: { header: 'authorization', value: `Basic ${Buffer.from('bob:hunter22').toString('base64')}` } });
		const url = new URL(sim.url);
		url.username = 'bob';
		url.password = 'hunter22';
		const c = client(url.toString());
		expect(c.server).not.toContain('hunter22');
		expect((await c.queueInfo()).queueRemaining).toBe(0);
	});

	it('works under a base path, with and without /api', async () => {
		const sim = await startSim({ basePath: '/comfy' });
		expect(sim.url).toMatch(/\/comfy\/?$/);
		const base = sim.url.replace(/\/$/, '');
		for (const url of [`${base}/`, `${base}/api`, `${base}/api/`]) {
			const c = client(url);
			const { promptId } = await c.submit(probeGraph(2, freshColor()));
			expect(c.webSocketOpen).toBe(true);
			const result = await c.watch(promptId, { totalMs: 10_000 });
			expect(result.outputs).toHaveLength(1);
			expect((await c.queue()).running).toEqual([]);
		}
	});

	it('reports an ambiguous submit, and lookup finds the prompt', async () => {
		const sim = await startSim();
		const c = client(sim.url);
		sim.setAmbiguousSubmit(1);
		const promptId = '2f1c7a9e-3b7d-4c1e-9a4b-5d6e7f8a9b0c';
		const error = await c.submit(probeGraph(2, freshColor()), { promptId }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(AmbiguousSubmitError);
		expect(error).toMatchObject({ reason: 'ambiguous-submit', promptId });
		expect(['pending', 'running', 'done']).toContain(await c.lookup(promptId));
		expect((await c.watch(promptId, { totalMs: 10_000 })).status).toBe('success');
		expect(await c.lookup(promptId)).toBe('done');
		expect(await c.lookup('11111111-2222-4333-8444-555555555555')).toBe('unknown');
	});

	it('reads queue info, system stats, object info (cached) and asks the server to free memory', async () => {
		const sim = await startSim();
		const c = new ComfyUiClient({ url: sim.url, objectInfoTtlMs: 60_000 });
		clients.push(c);
		expect(await c.queueInfo()).toEqual({ queueRemaining: 0 });
		const stats = await c.systemStats();
		expect(stats.devices.length).toBeGreaterThan(0);
		const info = await c.objectInfo();
		expect(info.KSampler).toBeDefined();
		expect(await c.objectInfo()).toBe(info);
		expect(await c.objectInfo({ force: true })).not.toBe(info);
		await c.free({ unloadModels: true, freeMemory: true });
		expect(sim.records.frees).toBe(1);
	});

	it('honours an aborted signal and the request timeout', async () => {
		const sim = await startSim();
		const c = client(sim.url);
		const controller = new AbortController();
		controller.abort();
		await expect(c.queueInfo({ signal: controller.signal })).rejects.toMatchObject({ name: 'CancelledError' });
		await expect(c.submit(quickGraph(freshColor()), { signal: controller.signal })).rejects.toMatchObject({ name: 'CancelledError' });

		// A server that accepts connections and never answers.
		const silent = createServer(() => undefined);
		await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
		try {
			const port = (silent.address() as { port: number }).port;
			const slow = new ComfyUiClient({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 200, useWebSocket: false });
			clients.push(slow);
			await expect(slow.queueInfo()).rejects.toMatchObject({ name: 'TransientServerError', reason: 'timeout' });
			await expect(slow.submit(quickGraph(1))).rejects.toMatchObject({ name: 'AmbiguousSubmitError', reason: 'ambiguous-submit', networkReason: 'timeout' });
		} finally {
			silent.close();
		}
	});
});
