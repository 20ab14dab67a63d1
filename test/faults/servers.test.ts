/**
 * Fault matrix, ComfyUI servers: crash, restart, hang, slow, 5xx, websocket drop, ambiguous submit,
 * every server down — each through Items → ComfyUI Cluster → Cloud Image Storage in n8n's engine,
 * with the cluster state in the test Redis and the outputs uploaded to local S3.
 */
import {
	attemptsOf,
	expectAllPromises,
	expectEachStartedAtMostOnce,
	expectNodeErrorNamesItem,
	expectNothingLeft,
	expectUploads,
	scenes,
	sim,
	useMatrix,
	when,
} from './matrix';

const matrix = useMatrix();

describe('fault matrix: ComfyUI servers', () => {
	it('server crash mid-scene: the scene finishes on another server', async () => {
		const fleet = await matrix.fleet([sim(), sim(), sim()]);
		const [victim] = fleet.servers;
		const cell = await matrix.generate({
			fleet,
			items: scenes(6, 1000, { steps: 30 }),
			onStart: () => when(() => victim.records.started.length > 0, () => victim.crash()),
		});
		const { ok } = await expectAllPromises(matrix, cell, fleet, { lostOn: [victim], dead: [victim] });
		expect(ok).toHaveLength(6);
		const moved = cell.generated.filter((item) => attemptsOf(item).some((a) => a.server === victim.url && a.outcome === 'transient'));
		expect(moved.length).toBeGreaterThan(0);
		for (const item of cell.generated) expect(item.json.server).not.toBe(victim.url);
	});

	it('server restart (queue and history lost): the lost scene runs again elsewhere', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const [victim] = fleet.servers;
		let lostId = '';
		const cell = await matrix.generate({
			fleet,
			cluster: matrix.clusterCredential(fleet.urls.map((u) => `${u} max=1`)),
			items: scenes(4, 2000, { steps: 40 }),
			onStart: () =>
				when(
					() => victim.records.started.length > 0,
					() => {
						lostId = victim.records.started[0];
						return victim.restart(50);
					},
				),
		});
		const { ok } = await expectAllPromises(matrix, cell, fleet, { lostOn: [victim] });
		expect(ok).toHaveLength(4);
		const retried = cell.generated.find((item) => attemptsOf(item).some((a) => a.promptId === lostId));
		expect(retried && attemptsOf(retried).map((a) => a.outcome)).toEqual(['transient', 'success']);
		expect(retried?.json.server).toBe(fleet.urls[1]);
	});

	it('hung server: the scene is interrupted there after the inactivity timeout and runs elsewhere', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const [hung] = fleet.servers;
		let hungId = '';
		const cell = await matrix.generate({
			fleet,
			cluster: matrix.clusterCredential(fleet.urls.map((u) => `${u} max=1`)),
			items: scenes(4, 3000, { steps: 20 }),
			options: { inactivityTimeout: 1 },
			onStart: () =>
				when(
					() => hung.records.started.length > 0,
					() => {
						hungId = hung.records.started[0];
						hung.setHang(true);
					},
				),
		});
		// The server stays hung until someone looks at it; by then our interrupt is waiting for it.
		expect(hung.records.interrupted).toContain(hungId);
		hung.setHang(false);
		const { ok } = await expectAllPromises(matrix, cell, fleet, { lostOn: [hung] });
		expect(ok).toHaveLength(4);
		const moved = cell.generated.find((item) => attemptsOf(item).some((a) => a.promptId === hungId));
		expect(moved && attemptsOf(moved)[0].reason).toMatch(/progress|inactiv/i);
		expect(moved?.json.server).toBe(fleet.urls[1]);
	});

	it('slow server: every scene completes, none twice, waiting scenes move to idle servers', async () => {
		const fleet = await matrix.fleet([sim({ speed: 0.05 }), sim(), sim()]);
		const cell = await matrix.generate({ fleet, items: scenes(9, 4000) });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(9);
		expectEachStartedAtMostOnce(cell, fleet);
	});

	it('5xx on every route of one server: its scenes go to the others, nothing reaches it', async () => {
		const fleet = await matrix.fleet([sim({ faults: { httpErrors: { routes: '*', status: 500, rate: 1 } } }), sim(), sim()]);
		const cell = await matrix.generate({ fleet, items: scenes(6, 5000) });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(6);
		expectEachStartedAtMostOnce(cell, fleet);
		expect(fleet.servers[0].records.prompts).toEqual([]);
	});

	it('5xx on half of the submits everywhere: retried, every scene once', async () => {
		const fleet = await matrix.fleet([0, 1, 2].map((seed) => sim({ seed, faults: { httpErrors: { routes: ['/prompt'], status: 503, rate: 0.5 } } })));
		const cell = await matrix.generate({ fleet, items: scenes(6, 5500), options: { maxAttempts: 10 } });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(6);
		expectEachStartedAtMostOnce(cell, fleet);
	});

	it('websocket drop mid-run: scenes complete through polling, none runs twice (continueOnFail off)', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const cell = await matrix.generate({
			fleet,
			continueOnFail: false,
			items: scenes(4, 6000, { steps: 30 }),
			onStart: () =>
				when(
					() => fleet.servers.every((s) => s.records.started.length > 0),
					() => fleet.servers.forEach((s) => s.dropWebSockets()),
				),
		});
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(4);
		expectEachStartedAtMostOnce(cell, fleet);
		expect(fleet.servers.every((s) => s.records.wsClients.length >= 2)).toBe(true);
	});

	it('ambiguous submit (accepted, answer lost): the prompt is found, never submitted again (continueOnFail off)', async () => {
		const fleet = await matrix.fleet([sim(), sim(), sim()]);
		for (const s of fleet.servers) s.setAmbiguousSubmit(2);
		const cell = await matrix.generate({ fleet, continueOnFail: false, items: scenes(9, 7000) });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(9);
		expectEachStartedAtMostOnce(cell, fleet);
		const submitted = fleet.servers.flatMap((s) => s.records.prompts.map((p) => p.promptId));
		expect(submitted).toHaveLength(9);
		expect(new Set(submitted).size).toBe(9);
	});

	it('every server down, continueOnFail on: one clear error item per scene, nothing uploaded', async () => {
		const fleet = await matrix.fleet([sim(), sim(), sim()]);
		for (const s of fleet.servers) s.crash();
		const cell = await matrix.generate({ fleet, items: scenes(3, 8000), options: { maxAttempts: 2 } });
		const { failed } = await expectAllPromises(matrix, cell, fleet, { dead: fleet.servers });
		expect(failed).toEqual([0, 1, 2]);
		for (const item of cell.generated) {
			expect(String(item.json.error)).toMatch(/refused the connection/);
			// It names each server it tried (which ones depends on where the scenes were placed).
			const tried = (item.json.attempts as Array<{ server: string }>).map((a) => a.server);
			expect(tried).toHaveLength(2);
			for (const url of tried) expect(fleet.urls).toContain(url);
			for (const url of tried) expect(String(item.json.error)).toContain(url);
		}
		expect(fleet.servers.flatMap((s) => s.records.prompts)).toEqual([]);
	});

	it('every server down, continueOnFail off: the node error names the item', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		for (const s of fleet.servers) s.crash();
		const cell = await matrix.generate({ fleet, continueOnFail: false, items: scenes(3, 8500), options: { maxAttempts: 2 } });
		expectNodeErrorNamesItem(cell);
		expect(cell.result.nodeError('Generate')?.message).toMatch(/refused the connection/);
		await expectNothingLeft(fleet, fleet.servers);
		await expectUploads(matrix, cell, []);
	});
});
