import { ComfyUiClient } from '../../src/comfyui/client';
import { runBatch } from '../../src/cluster/batch';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import { startFleet } from '../../test/sim';
import { MODELS, MS_PER_STEP, scene, ZERO_CLASS_COSTS } from './common';

async function main() {
	const speeds = (process.env.SPEEDS ?? '1,1,1,1,1,1').split(',').map(Number);
	const n = Number(process.env.N ?? 6);
	const cost = Number(process.env.COST ?? 5);
	const fleet = await startFleet(speeds.map((speed) => ({ speed, msPerStep: MS_PER_STEP, classCostMs: ZERO_CLASS_COSTS, models: MODELS })));
	for (let run = 0; run < 2; run++) {
		const clients = fleet.urls.map((url) => new ComfyUiClient({ url }));
		const queue = Array.from({ length: n }, (_, i) => scene(i, 1000 * run + i + 100000, cost));
		let t = Date.now();
		const gfirst: number[] = [];
		await Promise.all(clients.map(async (c) => { for (let g = queue.shift(); g; g = queue.shift()) { const { promptId } = await c.submit(g); gfirst.push(Date.now() - t); await c.watch(promptId); } }));
		const greedy = Date.now() - t;
		await Promise.all(clients.map((c) => c.close()));
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), redis: { mode: 'single', host: '127.0.0.1', port: 6379, db: 13 }, keyPrefix: `t-${Date.now()}` });
		await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo()));
		await runtime.store.snapshot(runtime.servers);
		const scenes = Array.from({ length: n }, (_, i) => buildScene({ index: i, workflow: scene(i, 5000 * run + i + 200000, cost), download: false }));
		const marks: string[] = [];
		t = Date.now();
		await runBatch(runtime, scenes, { strategy: 'leastLoaded', onEvent: (e) => { if (e.type === 'start' || e.type === 'finish' || (e.type === 'progress' && e.phase === 'running')) marks.push(`${e.type}${'index' in e ? e.index : ''}@${Date.now() - t}`); } });
		const ours = Date.now() - t;
		await closeAllRuntimes();
		console.log(`greedy ${greedy} ms (submits ${gfirst.slice(0, 6).join(',')}), ours ${ours} ms`);
		console.log(marks.filter((m) => m.startsWith('start') || m.startsWith('progress')).slice(0, 12).join(' '));
		console.log(marks.filter((m) => m.startsWith('finish')).slice(-6).join(' '));
	}
	await fleet.stop();
	process.exit(0);
}
void main();
