import { runBatch } from '../../src/cluster/batch';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { buildScene } from '../../src/cluster/sceneBuilder';
import { startProcessFleet } from '../../test/sim';
import { MODELS, MS_PER_STEP, scene, ZERO_CLASS_COSTS } from './common';

async function main() {
	for (let run = 0; run < Number(process.env.RUNS ?? 3); run++) {
		const speeds = [3, 2, 2, 1, 1, 1];
		const fleet = await startProcessFleet(speeds.map((speed) => ({ speed, msPerStep: MS_PER_STEP, classCostMs: ZERO_CLASS_COSTS, models: MODELS })));
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), redis: { mode: 'single', host: '127.0.0.1', port: 6379, db: 13 }, keyPrefix: `p3f-${Date.now()}` });
		await Promise.all(runtime.servers.map((s) => runtime.clientFor(s.id).objectInfo()));
		const scenes = Array.from({ length: 60 }, (_, i) => buildScene({ index: i, workflow: scene(i, 1000 * run + i + 7000, 1), download: false }));
		const frozen = fleet.servers[1];
		let thawedAt = 0;
		const t0 = Date.now();
		const freezing = new Promise<void>((resolve) => setTimeout(async () => { await frozen.freeze(); await new Promise((r) => setTimeout(r, 20000)); await frozen.thaw(); thawedAt = Date.now(); resolve(); }, 1800));
		const log: string[] = [];
		const outcomes = await runBatch(runtime, scenes, { strategy: 'leastLoaded', onEvent: (e) => { if ((e.type === 'moved' || e.type === 'retry') ) log.push(`${Date.now() - t0} ${JSON.stringify(e)}`); } });
		const seconds = (Date.now() - t0) / 1000;
		const kept = outcomes.flatMap((o) => (o.ok ? [o.result.promptId] : []));
		const abandoned = runtime.janitor.waiting(runtime.servers[1].id);
		await freezing;
		await new Promise((r) => setTimeout(r, 3000));
		await frozen.getRecords();
		const late = frozen.records.finished.filter((f) => f.at >= thawedAt && (f.status === 'success' || f.outputs > 0) && !kept.includes(f.promptId));
		console.log(`run ${run}: ${seconds}s failed=${outcomes.filter((o) => !o.ok).length} abandoned=${abandoned.length} late=${late.length} left=${runtime.janitor.waiting(runtime.servers[1].id).length}`);
		if (late.length) {
			console.log(log.join('\n'));
			for (const f of late) {
				const p = frozen.records.prompts.find((x) => x.promptId === f.promptId);
				console.log(`LATE ${f.promptId} status=${f.status} outputs=${f.outputs} finished=+${f.at - thawedAt} received=${p ? p.receivedAt - thawedAt : '?'} abandonedListed=${abandoned.includes(f.promptId)}`);
			}
			console.log('finished after thaw', JSON.stringify(frozen.records.finished.filter((f) => f.at >= thawedAt - 100).map((f) => [f.promptId.slice(0, 8), f.status, f.outputs, f.at - thawedAt])));
			console.log('prompts', JSON.stringify(frozen.records.prompts.map((p) => [p.promptId.slice(0, 8), p.receivedAt - thawedAt])));
			console.log('deleted', JSON.stringify(frozen.records.deleted.map((d) => d.slice(0, 8))), 'interrupted', JSON.stringify(frozen.records.interrupted.map((d) => String(d).slice(0, 8))));
		}
		await closeAllRuntimes();
		await fleet.stop();
	}
	process.exit(0);
}
void main();
