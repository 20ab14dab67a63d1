/**
 * Submit now, collect later: submitted scenes run on the fleet without the submitting execution;
 * a later call collects their outputs, or cancels them and leaves nothing queued.
 */
import { cancelScenes, collectScenes, submitScenes } from '../../../src/cluster/handles';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { startFleet, type Fleet } from '../../sim';
import { activeAnywhere, CHECKPOINTS, cleanKeys, REDIS, scenes, uniquePrefix, waitFor } from './helpers';

jest.setTimeout(20_000);

let fleet: Fleet | undefined;
let prefix = '';

afterEach(async () => {
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
	if (prefix) await cleanKeys(prefix);
});

const timeouts = { queueWaitMs: 10_000, inactivityMs: 5_000, totalMs: 15_000 };

describe('scene handles', () => {
	it('submits scenes over the fleet and collects their images later', async () => {
		fleet = await startFleet([2, 1].map((speed) => ({ speed, msPerStep: 5, models: CHECKPOINTS })));
		prefix = uniquePrefix('handles');
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), redis: REDIS, keyPrefix: prefix });
		const submitted = await submitScenes(runtime, scenes(5, { steps: 10 }));
		expect(submitted.every((s) => s.ok)).toBe(true);
		const handles = submitted.flatMap((s) => (s.ok ? [s.handle] : []));
		expect(new Set(handles.map((h) => h.serverId)).size).toBe(2);
		expect(handles.map((h) => h.index)).toEqual([0, 1, 2, 3, 4]);
		const collected = await collectScenes(runtime, handles, { timeouts, download: true, outputKinds: ['image'] });
		expect(collected.map((c) => c.ok)).toEqual(Array(5).fill(true));
		for (const c of collected) if (c.ok) expect(c.result.outputs[0].data!.subarray(1, 4).toString()).toBe('PNG');
		expect(activeAnywhere(fleet.servers)).toEqual([]);
	});

	it('cancels submitted scenes, pending and running, on every server', async () => {
		fleet = await startFleet([1, 1].map((speed) => ({ speed, msPerStep: 50, models: CHECKPOINTS })));
		prefix = uniquePrefix('handles-cancel');
		const runtime = await getRuntime({ servers: fleet.urls.join('\n'), redis: REDIS, keyPrefix: prefix });
		const submitted = await submitScenes(runtime, scenes(6, { steps: 100 }));
		const handles = submitted.flatMap((s) => (s.ok ? [s.handle] : []));
		expect(handles).toHaveLength(6);
		await waitFor(() => fleet!.servers.every((s) => s.records.started.length > 0));
		const results = await cancelScenes(runtime, handles);
		expect(results.every((r) => r.outcome === 'interrupted' || r.outcome === 'deleted')).toBe(true);
		expect(results.filter((r) => r.outcome === 'interrupted').length).toBeGreaterThanOrEqual(2);
		await waitFor(() => activeAnywhere(fleet!.servers).length === 0, 5000);
		const collected = await collectScenes(runtime, handles.slice(0, 1), { timeouts, download: false, outputKinds: ['image'] });
		expect(collected[0].ok).toBe(false);
	});
});
