import { ComfyUiClient } from '../../src/comfyui/client';
import { startFleet } from '../../test/sim';
import { MODELS, scene, ZERO_CLASS_COSTS } from './common';

async function main() {
	const fleet = await startFleet([{ speed: 1, msPerStep: Number(process.env.MS ?? 0), classCostMs: ZERO_CLASS_COSTS, models: MODELS }]);
	const sim = fleet.servers[0];
	const client = new ComfyUiClient({ url: sim.url });
	for (let i = 0; i < 30; i++) {
		const { promptId } = await client.submit(scene(i, 77 + i, 1));
		await client.watch(promptId);
	}
	const starts = new Map<string, number>();
	const durations: number[] = [];
	// started records have no time in-process: use finished of previous vs this? measure via wall: submit→finished
	console.log('finished count', sim.records.finished.length);
	const t = Date.now();
	for (let i = 0; i < 30; i++) {
		const s = Date.now();
		const { promptId } = await client.submit(scene(i, 1077 + i, 1));
		await client.watch(promptId);
		durations.push(Date.now() - s);
	}
	void starts;
	durations.sort((a, b) => a - b);
	console.log('submit→done ms: median', durations[15], 'min', durations[0], 'max', durations[29], 'total', Date.now() - t);
	await client.close();
	await fleet.stop();
}
void main();
