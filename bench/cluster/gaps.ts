import { runBatch } from '../../src/cluster/batch';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import { startProcessFleet } from '../../test/sim';
import { MODELS, MS_PER_STEP, scene, ZERO_CLASS_COSTS } from './common';

async function main() {
	const speeds = (process.env.SPEEDS ?? '3,2,2,1,1,1').split(',').map(Number);
	const n = Number(process.env.N ?? 60);
	const fleet = await startProcessFleet(speeds.map((speed) => ({ speed, msPerStep: MS_PER_STEP, classCostMs: ZERO_CLASS_COSTS, models: MODELS })));
	for (let run = 0; run < Number(process.env.RUNS ?? 2); run++) {
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), redis: { mode: 'single', host: '127.0.0.1', port: 6379, db: 13 }, keyPrefix: `g-${Date.now()}` });
		await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo()));
		const scenes = Array.from({ length: n }, (_, i) => buildScene({ index: i, workflow: scene(i, 5000 * run + i + 300000, Number(process.env.COST ?? 1)), download: false }));
		let t = Date.now();
		if (process.env.GREEDY) {
			const { ComfyUiClient } = await import('../../src/comfyui/client');
			const clients = fleet.urls.map((url) => new ComfyUiClient({ url }));
			const queue = scenes.map((s) => s.graph);
			t = Date.now();
			await Promise.all(clients.map(async (c) => { for (let g = queue.shift(); g; g = queue.shift()) { const { promptId } = await c.submit(g); await c.watch(promptId); } }));
			await Promise.all(clients.map((c) => c.close()));
		} else await runBatch(runtime, scenes, { strategy: 'leastLoaded' });
		const total = Date.now() - t;
		await Promise.all(fleet.servers.map((s) => s.getRecords()));
		console.log(`run ${run}: ${total} ms`);
		for (const [i, s] of fleet.servers.entries()) {
			const starts = s.timeline.filter((e) => e.field === 'started' && e.at >= t).map((e) => e.at - t);
			const ends = s.timeline.filter((e) => e.field === 'finished' && e.at >= t).map((e) => e.at - t);
			let gaps = 0;
			for (let k = 1; k < starts.length; k++) gaps += Math.max(0, starts[k] - ends[k - 1]);
			const busy = ends.reduce((sum, e, k) => sum + (e - starts[k]), 0);
			console.log(`  s${i} speed ${speeds[i]}: n=${starts.length} first ${starts[0]} last end ${ends.at(-1)} busy ${busy} (${(busy / starts.length).toFixed(0)}/scene, ideal ${(1000 / speeds[i]).toFixed(0)}) gaps ${gaps}`);
		}
		await closeAllRuntimes();
	}
	await fleet.stop();
	process.exit(0);
}
void main();
