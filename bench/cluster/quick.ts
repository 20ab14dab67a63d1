// scratch: P2d defaults vs greedy, in-process fleet
import { ComfyUiClient } from '../../src/comfyui/client';
import { runBatch } from '../../src/cluster/batch';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import { startFleet } from '../../test/sim';
import { MODELS, MS_PER_STEP, scene, ZERO_CLASS_COSTS } from './common';

async function main() {
	const speeds = (process.env.SPEEDS ?? '3,2,1').split(',').map(Number);
	const n = Number(process.env.N ?? 24);
	const fleet = await startFleet(speeds.map((speed) => ({ speed, msPerStep: MS_PER_STEP, classCostMs: ZERO_CLASS_COSTS, models: MODELS })));
	const lb = n / speeds.reduce((a, b) => a + b, 0);
	for (let run = 0; run < Number(process.env.RUNS ?? 2); run++) {
		// greedy
		const clients = fleet.urls.map((url) => new ComfyUiClient({ url }));
		const queue = Array.from({ length: n }, (_, i) => scene(i, 1000 * run + i + 100000, 1));
		let t = Date.now();
		await Promise.all(clients.map(async (c) => { for (let g = queue.shift(); g; g = queue.shift()) { const { promptId } = await c.submit(g); await c.watch(promptId); } }));
		const greedy = (Date.now() - t) / 1000;
		await Promise.all(clients.map((c) => c.close()));
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), redis: { mode: 'single', host: '127.0.0.1', port: 6379, db: 13 }, keyPrefix: `quick-${Date.now()}` });
		await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo()));
		const scenes = Array.from({ length: n }, (_, i) => buildScene({ index: i, workflow: scene(i, 5000 * run + i + 200000, 1), download: false }));
		const per = new Map<string, number>();
		t = Date.now();
		const firsts: number[] = [];
		const lastFinish = new Map<string, number>();
		const running = new Map<string, number>();
		const busy = new Map<string, number>();
		await runBatch(runtime, scenes, { strategy: 'leastLoaded', onEvent: (e) => {
			if (e.type === 'start') firsts.push(Date.now() - t);
			if (e.type === 'progress' && e.phase === 'running' && !running.has(`${e.index}`)) running.set(`${e.index}`, Date.now());
			if (e.type === 'finish' && e.server) { per.set(e.server, (per.get(e.server) ?? 0) + 1); lastFinish.set(e.server, Date.now() - t); const st = running.get(`${e.index}`); if (st) busy.set(e.server, (busy.get(e.server) ?? 0) + Date.now() - st); }
		} });
		console.log('first start', firsts[0], 'last finishes', fleet.urls.map((u) => lastFinish.get(u)).join('/'), 'busy', fleet.urls.map((u) => busy.get(u)).join('/'));
		const ours = (Date.now() - t) / 1000;
		await closeAllRuntimes();
		console.log(`run ${run}: greedy ${(greedy / lb).toFixed(3)} × LB, ours ${(ours / lb).toFixed(3)} × LB; per server ${fleet.urls.map((u) => per.get(u) ?? 0).join('/')}`);
	}
	await fleet.stop();
	process.exit(0);
}
void main();
