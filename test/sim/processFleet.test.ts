/**
 * Simulated servers in child processes: the recorded protocol through our own client, and the OS
 * faults for real — SIGSTOP (connections accepted, nothing answers), SIGCONT, SIGKILL (connections
 * refused), a respawn on the same port, and no child process left behind.
 */
import { spawn } from 'child_process';
import { existsSync } from 'fs';
import { request } from 'http';
import { connect } from 'net';
import { ComfyUiClient } from '../../src/comfyui/client';
import { until } from '../contract/replay';
import { freshColor, probeGraph } from '../integration/client/graphs';
import { probeCatalogue } from './catalogue';
import { compiledSimulator } from './compiled';
import { startProcessFleet, type ProcessFleet, type SimulatorProcess } from './processFleet';
import { figures, loaderGap, MiB, NO_CLASS_COSTS, run, txt2img, Watcher } from './testing/gpu';

// The first start after a change of test/sim builds it (seconds; more on a loaded machine).
jest.setTimeout(120_000);

let fleet: ProcessFleet | undefined;
const clients: ComfyUiClient[] = [];

afterEach(async () => {
	await Promise.all(clients.splice(0).map((c) => c.close()));
	await fleet?.stop();
	fleet = undefined;
});

function clientOf(server: SimulatorProcess): ComfyUiClient {
	const client = new ComfyUiClient({ url: server.url, requestTimeoutMs: 10_000 });
	clients.push(client);
	return client;
}

/** What a raw TCP connect to the port gives: 'connected' or the error code. */
function tcpConnect(port: number): Promise<string> {
	return new Promise((resolve) => {
		const socket = connect(port, '127.0.0.1');
		socket.once('connect', () => {
			socket.destroy();
			resolve('connected');
		});
		socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
	});
}

/** GET that waits at most `ms` for the status line: 'no answer' when none came. */
function getWithin(url: string, ms: number): Promise<number | 'no answer'> {
	return new Promise((resolve, reject) => {
		const req = request(url, (res) => {
			res.resume();
			resolve(res.statusCode ?? 0);
		});
		req.setTimeout(ms, () => {
			req.destroy();
			resolve('no answer');
		});
		req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
		req.end();
	});
}

function gone(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return false;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'ESRCH';
	}
}

const PROBE = { catalogue: probeCatalogue(), msPerStep: 20 };

describe('a process fleet', () => {
	it('serves the recorded protocol to our client; the parent keeps the records as they happen', async () => {
		fleet = await startProcessFleet([PROBE, PROBE]);
		expect(new Set(fleet.urls).size).toBe(2);
		for (const server of fleet.servers) {
			const client = clientOf(server);
			const { promptId } = await client.submit(probeGraph(3, freshColor()));
			const result = await client.watch(promptId, { totalMs: 30_000 });
			expect(result.outputs.map((o) => [o.kind, o.mimeType])).toEqual([['image', 'image/png']]);
			expect((await client.downloadBuffer(result.outputs[0])).subarray(1, 4).toString()).toBe('PNG');

			const own = await server.getRecords();
			expect(own.prompts.map((p) => p.promptId)).toEqual([promptId]);
			expect(own.finished).toEqual([{ promptId, status: 'success', at: expect.any(Number), outputs: 1 }]);
			// the copy kept here is the child's, record for record
			expect(server.records).toEqual(own);
			const at = (field: string) => server.timeline.find((e) => e.field === field && JSON.stringify(e.value).includes(promptId))!.at;
			expect(at('prompts')).toBeLessThanOrEqual(at('started'));
			expect(at('started')).toBeLessThanOrEqual(at('finished'));
		}
	});

	it('freeze: the kernel accepts connections, nothing answers; thaw: prompts queued before finish after it', async () => {
		fleet = await startProcessFleet([PROBE]);
		const [server] = fleet.servers;
		const client = clientOf(server);
		// 100 steps of 20 ms: the first runs 2 s, the second waits behind it
		const first = await client.submit(probeGraph(100, freshColor()));
		const second = await client.submit(probeGraph(2, freshColor()));
		await until(() => server.records.started.includes(first.promptId), 30_000, 'the first prompt to start');
		await server.freeze();
		expect(server.records.finished).toEqual([]);

		expect(await tcpConnect(server.port)).toBe('connected');
		expect(await getWithin(`${server.url}/queue`, 1000)).toBe('no answer');
		await expect(server.getRecords()).rejects.toThrow(/frozen/);

		await server.thaw();
		const thawedAt = server.faults.find((f) => f.kind === 'thaw')!.at;
		for (const { promptId } of [first, second]) expect((await client.watch(promptId, { totalMs: 60_000 })).status).toBe('success');
		await server.getRecords();
		const finished = server.records.finished.map((f) => ({ promptId: f.promptId, status: f.status, afterThaw: f.at >= thawedAt }));
		expect(finished).toEqual([first, second].map(({ promptId }) => ({ promptId, status: 'success', afterThaw: true })));
	});

	it('kill: connections are refused and the records made before stay; respawn: same port, empty queue, serving again', async () => {
		fleet = await startProcessFleet([PROBE]);
		const [server] = fleet.servers;
		const client = clientOf(server);
		const lost = await client.submit(probeGraph(100, freshColor()));
		await until(() => server.records.started.includes(lost.promptId), 30_000, 'the prompt to start');
		const { port, pid } = server;
		await server.kill();

		expect(gone(pid!)).toBe(true);
		expect(await tcpConnect(port)).toBe('ECONNREFUSED');
		await expect(client.queueInfo()).rejects.toMatchObject({ name: 'TransientServerError', reason: 'refused' });
		await expect(server.getRecords()).rejects.toThrow(/not running/);
		expect(server.records.prompts.map((p) => p.promptId)).toEqual([lost.promptId]);
		expect(server.records.finished).toEqual([]);

		await server.respawn();
		expect(server.port).toBe(port);
		expect(server.pid).not.toBe(pid);
		expect(await client.queue()).toEqual({ running: [], pending: [] });
		expect(await client.lookup(lost.promptId)).toBe('unknown');
		const fresh = await client.submit(probeGraph(2, freshColor()));
		expect((await client.watch(fresh.promptId, { totalMs: 30_000 })).status).toBe('success');
		// records span the server's lives, as they do across restart()
		await server.getRecords();
		expect(server.records.prompts.map((p) => p.promptId)).toEqual([lost.promptId, fresh.promptId]);
		expect(server.faults.map((f) => f.kind)).toEqual(['kill', 'respawn']);
	});

	it('GPU options reach the child; out of RAM it dies as the OOM killer ends a process', async () => {
		const models = { checkpoints: ['a.safetensors', 'b.safetensors'] };
		const memory = { live: true, ramTotal: 200 * MiB, ramFree: 200 * MiB };
		fleet = await startProcessFleet([{ msPerStep: 1, classCostMs: NO_CLASS_COSTS, modelLoadMs: 200, cacheLru: 50, modelMB: { 'a.safetensors': 100 }, models, memory }]);
		const [server] = fleet.servers;
		expect(loaderGap(await run(server.url, txt2img('a.safetensors', 1)))).toBeGreaterThanOrEqual(195);
		await run(server.url, txt2img('b.safetensors', 1));
		expect((await run(server.url, txt2img('a.safetensors', 2))).cached).toEqual(['4', '6', '5']);
		await server.getRecords();
		expect(server.records.loads.map((l) => [l.files, l.ms])).toEqual([[['a.safetensors'], 200], [['b.safetensors'], 200]]);
		expect((await figures(server.url)).ramTotal).toBe(200 * MiB);

		// videos of 144 MiB each that the LRU cache keeps: the second one does not fit
		const { port, pid } = server;
		const watcher = await Watcher.open(server.url);
		// An image of 300 steps runs first: the three videos are all queued before the second can kill the server.
		await watcher.submit(server.url, txt2img('a.safetensors', 3, { steps: 300 }));
		const videos = [];
		for (let seed = 11; seed <= 13; seed++) videos.push(await watcher.submit(server.url, txt2img('a.safetensors', seed, { frames: 64, size: 256 })));
		await until(() => server.pid === undefined, 30_000, 'the server to die');
		watcher.close();
		expect(gone(pid!)).toBe(true);
		expect(await tcpConnect(port)).toBe('ECONNREFUSED');
		expect(server.records.outOfMemory.map((o) => o.promptId)).toEqual([videos[1]]);
		await server.respawn();
		expect(await clientOf(server).queue()).toEqual({ running: [], pending: [] });
		expect((await figures(server.url)).ramFree).toBe(200 * MiB);
	});

	it('stop ends every child, running, frozen or killed, and removes their data folders', async () => {
		fleet = await startProcessFleet([{}, {}, {}]);
		const pids = fleet.servers.map((s) => s.pid!);
		const folders = fleet.servers.map((s) => s.directory);
		expect(folders.every((f) => existsSync(f))).toBe(true);
		await fleet.servers[1].freeze();
		await fleet.servers[2].kill();
		await fleet.stop();
		fleet = undefined;
		expect(pids.map(gone)).toEqual([true, true, true]);
		expect(folders.map((f) => existsSync(f))).toEqual([false, false, false]);
	});

	it.each(['ends without stop()', 'is ended by SIGTERM'])('no child outlives a process that %s, frozen ones included', async (how) => {
		const { dir, nodeModules } = await compiledSimulator();
		const script = `
			const { startProcessFleet } = require(${JSON.stringify(`${dir}/processFleet.js`)});
			startProcessFleet([{}, {}]).then(async (fleet) => {
				await fleet.servers[0].freeze();
				process.stdout.write(JSON.stringify({ pids: fleet.servers.map((s) => s.pid), folders: fleet.servers.map((s) => s.directory) }) + '\\n');
				if (process.argv[1] === 'wait') setInterval(() => undefined, 1000);
			});`;
		const parent = spawn(process.execPath, ['-e', script, how.includes('SIGTERM') ? 'wait' : 'end'], { env: { ...process.env, NODE_PATH: nodeModules }, stdio: ['ignore', 'pipe', 'inherit'] });
		const exited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
		let out = '';
		parent.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
		await until(() => out.includes('\n') || parent.exitCode !== null, 60_000, 'the fleet to start');
		const { pids, folders } = JSON.parse(out) as { pids: number[]; folders: string[] };
		if (how.includes('SIGTERM')) parent.kill('SIGTERM');
		await exited;
		// killed at once; the orphans are reaped by init a moment later
		await until(() => pids.every(gone), 10_000, 'the children to be gone');
		expect(folders.map((f) => existsSync(f))).toEqual([false, false]);
	});
});
