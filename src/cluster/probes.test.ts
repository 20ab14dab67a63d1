import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { refreshStale } from './probes';
import { MemoryHealthStore } from './store/MemoryHealthStore';

/** A real HTTP server answering like ComfyUI's GET /prompt, and a port nobody listens on. */
describe('refreshStale', () => {
	let server: Server;
	let base: string;
	let probes = 0;
	beforeAll(async () => {
		server = createServer((req, res) => {
			probes++;
			// never answers: only the probe's timeout ends the request
			if (req.url === '/slow/prompt') return;
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify({ exec_info: { queue_remaining: 4 } }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(async () => {
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	});

	const probe = async (s: { url?: string }, signal: AbortSignal) => {
		const res = await fetch(`${s.url}/prompt`, { signal });
		const body = (await res.json()) as { exec_info: { queue_remaining: number } };
		return { queueRemaining: body.exec_info.queue_remaining };
	};

	it('probes only stale servers, records queue lengths and failures', async () => {
		const store = new MemoryHealthStore({ breaker: { threshold: 1 } });
		const servers = [
			{ id: 'ok', weight: 1, max: 2, url: base },
			{ id: 'slow', weight: 1, max: 2, url: `${base}/slow` },
			{ id: 'refused', weight: 1, max: 2, url: 'http://127.0.0.1:1' },
		];
		// A timeout the answering server meets even on a loaded machine; the silent one never can.
		const results = await refreshStale(store, servers, probe, { timeoutMs: 2_000 });
		expect(results.map((r) => [r.serverId, r.ok])).toEqual([['ok', true], ['slow', false], ['refused', false]]);
		const status = await store.snapshot(servers);
		expect(status[0]).toMatchObject({ queueRemaining: 4, breaker: { phase: 'closed' } });
		expect(status[1].breaker.phase).toBe('open');
		expect(status[2].breaker.phase).toBe('open');
		expect(status[2].lastError?.message).toMatch(/^probe failed/);
		const before = probes;
		expect(await refreshStale(store, servers, probe, { maxAgeMs: 60_000 })).toEqual([]);
		expect(probes).toBe(before);
	});
});
