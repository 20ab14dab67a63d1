import { fetch } from 'undici';
import WebSocket from 'ws';
import { ComfyUiSimulator } from '../sim';
import { Recorder, send, until } from './replay';

/** Every fault switch, observed from a plain HTTP client and a plain websocket client. */

const workflow = (steps: number, color = 1) => ({
	'1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color } },
	'2': { class_type: 'ImageScaleBy', inputs: { image: ['1', 0], upscale_method: 'bilinear', scale_by: 1 } },
	'3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'fault' } },
	...(steps > 0
		? {
				'4': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
				'5': { class_type: 'KSampler', inputs: { seed: color, steps, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['6', 0], positive: ['7', 0], negative: ['7', 0], latent_image: ['4', 0] } },
				'6': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'model.safetensors' } },
				'7': { class_type: 'CLIPTextEncode', inputs: { text: 'x', clip: ['6', 1] } },
				'8': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['6', 2] } },
				'9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'gen' } },
			}
		: {}),
});

async function submit(sim: ComfyUiSimulator, body: Record<string, unknown>): Promise<string> {
	const r = await send(sim.url, 'POST', '/prompt', { json: body });
	expect(r.status).toBe(200);
	return (r.json as { prompt_id: string }).prompt_id;
}

async function history(sim: ComfyUiSimulator, id: string): Promise<Record<string, { status: { status_str: string; messages: Array<[string, Record<string, unknown>]> }; outputs: Record<string, unknown> }>> {
	return (await send(sim.url, 'GET', `/history/${id}`)).json as never;
}

async function finished(sim: ComfyUiSimulator, id: string): Promise<void> {
	await until(() => sim.records.finished.some((f) => f.promptId === id), 10_000, `prompt ${id}`);
}

describe('simulator fault switches', () => {
	let sim: ComfyUiSimulator;
	afterEach(async () => {
		await sim?.stop();
	});

	const start = async (extra: Parameters<typeof ComfyUiSimulator.start>[0] = {}) => {
		sim = await ComfyUiSimulator.start({ msPerStep: 5, models: { checkpoints: ['model.safetensors'] }, ...extra });
		return sim;
	};

	it('crash drops connections and refuses new ones', async () => {
		await start();
		const ws = await Recorder.open(`${sim.url.replace('http', 'ws')}/ws?clientId=c1`);
		const closed = new Promise<void>((r) => ws.ws.once('close', () => r()));
		await submit(sim, { prompt: workflow(400), client_id: 'c1' });
		await until(() => ws.types().includes('progress'), 5000, 'progress');
		sim.crash();
		await closed;
		await expect(fetch(`${sim.url}/prompt`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
		const refused = await new Promise<string>((r) => {
			const w = new WebSocket(`${sim.url.replace('http', 'ws')}/ws`);
			w.on('open', () => r('open'));
			w.on('error', () => r('error'));
		});
		expect(refused).toBe('error');
	});

	it('restart comes back on the same port with empty queue and history, files kept', async () => {
		await start();
		const id = await submit(sim, { prompt: workflow(0) });
		await finished(sim, id);
		const port = sim.port;
		await sim.restart(20);
		expect(sim.port).toBe(port);
		expect((await send(sim.url, 'GET', '/history')).json).toEqual({});
		expect((await send(sim.url, 'GET', '/queue')).json).toEqual({ queue_running: [], queue_pending: [] });
		expect((await send(sim.url, 'GET', '/view?filename=fault_00001_.png&type=output')).status).toBe(200);
		const again = await submit(sim, { prompt: workflow(0) });
		expect((await send(sim.url, 'POST', '/prompt', { json: { prompt: workflow(0, 2) } })).json).toMatchObject({ number: 1 }); // the counter restarted with the process
		await finished(sim, again);
		// not served from cache after the restart: a new file, numbering continued from disk
		const out = (await history(sim, again))[again].outputs['3'] as { images: Array<{ filename: string }> };
		expect(out.images[0].filename).toBe('fault_00002_.png');
	});

	it('hang accepts prompts and never finishes them until released', async () => {
		await start({ faults: { hang: true } });
		const id = await submit(sim, { prompt: workflow(0) });
		await until(() => sim.records.started.includes(id), 5000, 'start');
		await new Promise((r) => setTimeout(r, 200));
		const q = (await send(sim.url, 'GET', '/queue')).json as { queue_running: unknown[][] };
		expect(q.queue_running.map((i) => i[1])).toEqual([id]);
		expect(await history(sim, id)).toEqual({});
		sim.setHang(false);
		await finished(sim, id);
		expect((await history(sim, id))[id].status.status_str).toBe('success');
	});

	it('setSpeed slows a running job down and speeds it up again', async () => {
		await start({ speed: 0.0001 });
		const ws = await Recorder.open(`${sim.url.replace('http', 'ws')}/ws?clientId=s1`);
		const id = await submit(sim, { prompt: workflow(10), client_id: 's1' });
		await until(() => ws.types().includes('executing'), 5000, 'executing');
		await new Promise((r) => setTimeout(r, 200));
		expect(ws.types()).not.toContain('progress');
		expect(sim.activePromptIds()).toEqual([id]);
		sim.setSpeed(1000);
		await finished(sim, id);
		// the record is made before the last frames reach the socket: count once the end arrived
		await until(() => ws.frames.some((f) => f.type === 'executing' && f.data?.node === null && f.data?.prompt_id === id), 5000, 'end');
		expect(ws.types().filter((t) => t === 'progress')).toHaveLength(10);
		ws.close();
	});

	it('http errors answer 5xx on the chosen routes at the chosen rate', async () => {
		await start({ seed: 42 });
		sim.setHttpErrors({ routes: ['/prompt'], status: 503, rate: 1 });
		expect((await send(sim.url, 'GET', '/api/prompt')).status).toBe(503);
		expect((await send(sim.url, 'GET', '/queue')).status).toBe(200);
		sim.setHttpErrors({ routes: '*', rate: 0.5 });
		const statuses: number[] = [];
		for (let i = 0; i < 40; i++) statuses.push((await send(sim.url, 'GET', '/system_stats')).status);
		expect(statuses).toContain(500);
		expect(statuses).toContain(200);
		sim.setHttpErrors(null);
		expect((await send(sim.url, 'GET', '/prompt')).status).toBe(200);
	});

	it('dropWebSockets closes sockets during a job; reconnecting works and the job still finishes', async () => {
		await start();
		const ws = await Recorder.open(`${sim.url.replace('http', 'ws')}/ws?clientId=d1`);
		const closed = new Promise<number>((r) => ws.ws.once('close', (code) => r(code)));
		const id = await submit(sim, { prompt: workflow(60), client_id: 'd1' });
		await until(() => ws.types().includes('progress'), 5000, 'progress');
		// held while the socket reconnects, so the job cannot end before the new socket is there
		sim.setHang(true);
		sim.dropWebSockets();
		await closed;
		const again = await Recorder.open(`${sim.url.replace('http', 'ws')}/ws?clientId=d1`);
		expect(sim.activePromptIds()).toEqual([id]);
		sim.setHang(false);
		await finished(sim, id);
		await until(() => again.types().includes('execution_success'), 5000, 'success on the new socket');
		expect(again.types()[0]).toBe('status');
		// nothing replayed: the new socket did not see the start
		expect(again.types()).not.toContain('execution_start');
		again.close();
	});

	it('execution error makes the chosen node raise as the real server reports it', async () => {
		await start();
		sim.setExecutionError({ nodeClass: 'ImageScaleBy', message: 'CUDA out of memory', exceptionType: 'torch.OutOfMemoryError' });
		const ws = await Recorder.open(`${sim.url.replace('http', 'ws')}/ws?clientId=e1`);
		const id = await submit(sim, { prompt: workflow(0), client_id: 'e1' });
		await finished(sim, id);
		await until(() => ws.frames.some((f) => f.type === 'executing' && f.data?.node === null), 5000, 'end');
		const err = ws.frames.find((f) => f.type === 'execution_error')!.data!;
		expect(err).toMatchObject({ prompt_id: id, node_id: '2', node_type: 'ImageScaleBy', exception_message: 'CUDA out of memory', exception_type: 'torch.OutOfMemoryError', executed: ['1'] });
		expect(ws.types().slice(-3)).toEqual(['execution_error', 'status', 'executing']);
		const h = (await history(sim, id))[id];
		expect(h.status.status_str).toBe('error');
		expect(h.outputs).toEqual({});
		ws.close();
	});

	it('memory pressure shows in system_stats', async () => {
		await start({ memory: { vramTotal: 8e9, ramTotal: 32e9 } });
		sim.setMemoryPressure({ vramFree: 1000, ramFree: 2000 });
		const stats = (await send(sim.url, 'GET', '/system_stats')).json as { system: { ram_free: number; ram_total: number }; devices: Array<{ vram_free: number; vram_total: number }> };
		expect(stats.devices[0]).toMatchObject({ vram_free: 1000, vram_total: 8e9 });
		expect(stats.system).toMatchObject({ ram_free: 2000, ram_total: 32e9 });
		sim.setMemoryPressure(null);
		const relaxed = (await send(sim.url, 'GET', '/system_stats')).json as { devices: Array<{ vram_free: number }> };
		expect(relaxed.devices[0].vram_free).toBeGreaterThan(1000);
	});

	it('ambiguous submit queues the prompt but the response never arrives', async () => {
		await start();
		sim.setAmbiguousSubmit(1);
		const promptId = '0b8f5e0e-4a4f-4f55-9a3e-3f8e5c1d2a10';
		await expect(send(sim.url, 'POST', '/prompt', { json: { prompt: workflow(0), prompt_id: promptId } })).rejects.toThrow();
		await finished(sim, promptId);
		expect((await history(sim, promptId))[promptId].status.status_str).toBe('success');
		// only the next one was affected
		expect((await send(sim.url, 'POST', '/prompt', { json: { prompt: workflow(0, 9) } })).status).toBe(200);
	});

	it('requireAuth rejects HTTP and websocket without the header', async () => {
		await start({ requireAuth: { header: 'Authorization', value: 'Bearer s3cret' } });
		expect((await send(sim.url, 'GET', '/prompt')).status).toBe(401);
		const ok = await fetch(`${sim.url}/prompt`, { headers: { authorization: 'Bearer s3cret' } });
		expect(ok.status).toBe(200);
		const wsStatus = await new Promise<number>((r) => {
			const w = new WebSocket(`${sim.url.replace('http', 'ws')}/ws`);
			w.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0));
			w.on('open', () => r(101));
		});
		expect(wsStatus).toBe(401);
		const authed = new WebSocket(`${sim.url.replace('http', 'ws')}/ws`, { headers: { Authorization: 'Bearer s3cret' } });
		await new Promise((r, j) => {
			authed.on('open', r);
			authed.on('error', j);
		});
		authed.close();
	});

	it('basePath serves everything under a prefix; a foreign Origin on loopback gets 403', async () => {
		await start({ basePath: '/comfy' });
		expect(sim.url.endsWith('/comfy')).toBe(true);
		expect((await send(sim.url, 'GET', '/api/prompt')).status).toBe(200);
		expect((await fetch(sim.url.replace('/comfy', '') + '/prompt')).status).toBe(404);
		const r = await fetch(`${sim.url}/prompt`, { method: 'POST', headers: { origin: 'http://evil.example' }, body: '{}' });
		expect(r.status).toBe(403);
	});
});
