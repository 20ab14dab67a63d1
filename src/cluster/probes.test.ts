import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { ComfyUiClient } from '../comfyui/client';
import { Liveness } from './liveness';
import { Prober } from './probes';
import { MemoryHealthStore } from './store/MemoryHealthStore';

/** A real HTTP server answering like ComfyUI's GET /queue (one prompt of ours, one of someone else), a silent one, and a port nobody listens on. */
describe('Prober', () => {
	let server: Server;
	let base: string;
	let probes = 0;
	beforeAll(async () => {
		server = createServer((req, res) => {
			probes++;
			// never answers: only the probe's timeout ends the request
			if (req.url?.startsWith('/slow/')) return;
			res.setHeader('content-type', 'application/json');
			res.end(
				JSON.stringify({
					queue_running: [[1, 'ours', {}, { client_id: 'n8n-cc-test-1' }, []]],
					queue_pending: [[2, 'theirs', {}, { client_id: 'browser-tab' }, []]],
				}),
			);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(async () => {
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	});

	it('counts external entries, marks refused servers down and silent ones silent, and records it all', async () => {
		const store = new MemoryHealthStore({ breaker: { threshold: 3 } });
		const urls: Record<string, string> = { ok: base, slow: `${base}/slow`, refused: 'http://127.0.0.1:1' };
		const clients = new Map(Object.entries(urls).map(([id, url]) => [id, new ComfyUiClient({ url, useWebSocket: false })]));
		const liveness = new Liveness();
		const prober = new Prober({ store, liveness, clientPrefix: 'n8n-cc-test-', clientFor: (id) => clients.get(id)!, timeoutMs: 2_000 });
		// A timeout the answering server meets even on a loaded machine; the silent one never can.
		const servers = Object.entries(urls).map(([id, url]) => ({ id, weight: 1, max: 2, url }));
		try {
			const results = await prober.probeStale(servers, 3_000);
			expect(results.map((r) => r.ok)).toEqual([true, false, false]);
			expect(prober.last('ok')).toMatchObject({ ok: true, total: 2, external: 1 });
			expect(liveness.reachable('ok')).toBe(true);
			expect(liveness.get('slow')?.state).toBe('silent');
			expect(liveness.get('refused')?.state).toBe('down');
			const status = await store.snapshot(servers);
			expect(status[0]).toMatchObject({ queueRemaining: 2, queueExternal: 1, breaker: { phase: 'closed' } });
			// One silent probe counts one failure; a refusal opens the breaker at once for every worker.
			expect(status[1].breaker).toMatchObject({ phase: 'closed', failures: 1 });
			expect(status[2].breaker.phase).toBe('open');
			expect(status[2].lastError?.message).toMatch(/^probe failed/);
			const before = probes;
			expect(await prober.probeStale(servers, 60_000)).toEqual([]);
			expect(probes).toBe(before);
		} finally {
			await Promise.all([...clients.values()].map((c) => c.close()));
		}
	});

	it('shares one probe among callers that ask at the same time', async () => {
		const store = new MemoryHealthStore();
		const client = new ComfyUiClient({ url: base, useWebSocket: false });
		const prober = new Prober({ store, liveness: new Liveness(), clientPrefix: 'x-', clientFor: () => client });
		try {
			const before = probes;
			const [a, b] = await Promise.all([prober.probe('ok'), prober.probe('ok')]);
			expect(a).toBe(b);
			expect(probes).toBe(before + 1);
		} finally {
			await client.close();
		}
	});

	it('a probe that timed out while this process was held up is no evidence against the server', async () => {
		const store = new MemoryHealthStore({ breaker: { threshold: 1 } });
		const client = new ComfyUiClient({ url: `${base}/slow`, useWebSocket: false });
		const liveness = new Liveness();
		const prober = new Prober({ store, liveness, clientPrefix: 'n8n-cc-test-', clientFor: () => client, timeoutMs: 300 });
		const servers = [{ id: 'slow', weight: 1, max: 2, url: `${base}/slow` }];
		try {
			// Held up: a synchronous task blocks the event loop past the probe's timeout.
			const held = prober.probe('slow');
			const until = Date.now() + 600;
			while (Date.now() < until);
			expect(await held).toMatchObject({ ok: false, error: expect.stringMatching(/^probe inconclusive: this process was held up/) });
			expect(liveness.reachable('slow')).toBe(true);
			expect((await store.snapshot(servers))[0].breaker.phase).toBe('closed');
			// Not held up: the same silence is the server's (probeStale waits until the store has it).
			expect(await prober.probeStale(servers, 0)).toMatchObject([{ ok: false }]);
			expect(liveness.get('slow')?.state).toBe('silent');
			expect((await store.snapshot(servers))[0].breaker.phase).toBe('open');
		} finally {
			await client.close();
		}
	});
});
