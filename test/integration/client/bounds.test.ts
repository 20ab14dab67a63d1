/**
 * Every answer of a server is bounded in bytes and time: output downloads by Max Output Size (declared
 * or streamed), a deadline and a transfer-inactivity limit; JSON answers by a size ceiling.
 */
import { ComfyUiSimulator } from '../../sim';
import { probeCatalogue } from '../../sim/catalogue';
import { ComfyUiClient, OutputTooLargeError, type FileRef } from '../../../src/comfyui/client';
import { TransientServerError } from '../../../src/comfyui/errors';
import { MAX_ANSWER_BYTES } from '../../../src/comfyui/client/http';
import { freshColor } from './graphs';

const MB = 1024 * 1024;

describe('ComfyUiClient bounds', () => {
	let sim: ComfyUiSimulator;
	let c: ComfyUiClient;
	let file: FileRef;
	beforeAll(async () => {
		sim = await ComfyUiSimulator.start({ msPerStep: 2, catalogue: probeCatalogue() });
		c = new ComfyUiClient({ url: sim.url, requestTimeoutMs: 3000 });
		const graph = {
			'1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color: freshColor() } },
			'2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'bounds/out' } },
		};
		const result = await c.watch((await c.submit(graph)).promptId, { totalMs: 10_000 });
		file = result.outputs[0];
	});
	afterEach(() => {
		sim.setViewFaults(null);
		sim.setHugeJson(null);
	});
	afterAll(async () => {
		await c.close();
		await sim.stop();
	});

	it('refuses a download whose declared size is over the limit before reading its body, naming the file, the server and the limit', async () => {
		sim.setViewFaults([{ size: 50 * MB }]);
		const error = await c.download(file, { maxBytes: MB }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(OutputTooLargeError);
		expect(error).toMatchObject({ kind: 'execution', declaredBytes: 50 * MB, maxBytes: MB, server: c.server });
		const message = (error as Error).message;
		expect(message).toContain(`"bounds/${file.filename}"`);
		expect(message).toContain(c.server);
		expect(message).toContain('50 MB');
		expect(message).toContain('Max Output Size of 1 MB');
	});

	it('enforces the limit while streaming when the server declares no size', async () => {
		sim.setViewFaults([{ size: 3 * MB, undeclared: true }]);
		const error = await c.downloadBuffer(file, { maxBytes: MB }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(OutputTooLargeError);
		expect((error as Error).message).toContain('larger than the Max Output Size of 1 MB');
		expect((error as OutputTooLargeError).declaredBytes).toBeUndefined();
	});

	it('ends a slow-drip download at its deadline', async () => {
		sim.setViewFaults([{ dripMs: 1000 }]);
		const started = Date.now();
		const error = await c.downloadBuffer(file, { deadline: started + 2000 }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransientServerError);
		expect(error).toMatchObject({ reason: 'total-timeout', server: c.server });
		expect((error as Error).message).toContain(`Downloading "${file.filename}" from ${c.server} did not finish`);
		// The file is hundreds of bytes at one byte a second: only the deadline ends it this soon.
		expect(Date.now() - started).toBeLessThan(20_000);
	}, 30_000);

	it('ends a download that sends no byte for the inactivity limit', async () => {
		sim.setViewFaults([{ dripMs: 1500 }]);
		const error = await c.downloadBuffer(file, { inactivityMs: 300 }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransientServerError);
		expect(error).toMatchObject({ reason: 'timeout' });
		expect((error as Error).message).toContain('stalled: no data for 0.3 s');
	}, 30_000);

	it('bounds a server whose headers never come by the deadline, not the request timeout', async () => {
		sim.setViewFaults([{ hangHeaders: true }]);
		const error = await c.downloadBuffer(file, { deadline: Date.now() + 1000 }).catch((e: unknown) => e);
		expect(error).toMatchObject({ name: 'TransientServerError', reason: 'total-timeout' });
	});

	it('gives up at once when the deadline has passed', async () => {
		await expect(c.downloadBuffer(file, { deadline: Date.now() - 1 })).rejects.toMatchObject({ reason: 'total-timeout' });
	});

	it.each([
		['/history', (client: ComfyUiClient) => client.history('some-prompt')],
		['/queue', (client: ComfyUiClient) => client.queue()],
		['/object_info', (client: ComfyUiClient) => client.objectInfo({ force: true })],
		['/system_stats', (client: ComfyUiClient) => client.systemStats()],
	])('fails a JSON answer of %s larger than the ceiling as a transient server error', async (route, call) => {
		for (const undeclared of [false, true]) {
			sim.setHugeJson({ routes: [route, `${route}/*`], bytes: MAX_ANSWER_BYTES + 1024, undeclared });
			const error = await call(c).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(TransientServerError);
			expect(error).toMatchObject({ reason: 'answer-too-large', server: c.server });
			const message = (error as Error).message;
			expect(message).toContain(`ComfyUI at ${c.server} answered GET ${route}`);
			expect(message).toContain('more than 64 MB');
		}
		sim.setHugeJson(null);
		await call(c);
	});

	it('fails a watch at once when /history answers too much, instead of polling it again as if the server were unreachable', async () => {
		const graph = {
			'1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color: freshColor() } },
			'2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'bounds/watch' } },
		};
		const { promptId } = await c.submit(graph);
		sim.setHugeJson({ routes: ['/history/*'], bytes: MAX_ANSWER_BYTES + 1024 });
		const started = Date.now();
		const error = await c.watch(promptId, { useWebSocket: false, unreachableMs: 30_000, totalMs: 60_000 }).catch((e: unknown) => e);
		expect(error).toMatchObject({ name: 'TransientServerError', reason: 'answer-too-large' });
		expect((error as Error).message).toContain(`answered GET /history/${promptId} with more than 64 MB`);
		// Polling on would have gone on for the 30 s of unreachableMs.
		expect(Date.now() - started).toBeLessThan(20_000);
	}, 60_000);
});
