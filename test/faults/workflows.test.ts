/**
 * Fault matrix, workflows the servers cannot run: invalid workflow (ComfyUI answers 400 with
 * node_errors), a node class or model missing on some servers, or on all of them.
 */
import { CHECKPOINT, OTHER_CHECKPOINT, expectAllPromises, expectEachStartedAtMostOnce, expectNodeErrorNamesItem, expectNothingLeft, expectUploads, graph, scenes, sim, useMatrix } from './matrix';

const matrix = useMatrix();

/** A graph ComfyUI rejects at validation: cfg above the input's maximum (100). */
function invalidGraph(): string {
	const g = JSON.parse(graph()) as Record<string, { inputs: Record<string, unknown> }>;
	g['3'].inputs.cfg = 1000;
	return JSON.stringify(g);
}

describe('fault matrix: workflows', () => {
	it('invalid workflow, continueOnFail on: ComfyUI\'s message on the bad items, the others succeed, nothing retried', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const items = scenes(5, 10_000).map((s, i) => (i % 2 === 1 ? { ...s, workflow: invalidGraph() } : s));
		const cell = await matrix.generate({ fleet, items });
		const { ok, failed } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toEqual([0, 2, 4]);
		expect(failed).toEqual([1, 3]);
		for (const i of failed) {
			const error = String(cell.generated[i].json.error);
			expect(error).toMatch(/^Scene \d failed: ComfyUI at \S+ rejected the workflow: .*node 3 \(KSampler\) input "cfg": Value 1000 bigger than max of 100/);
			// The history names the attempt without repeating the message.
			expect(error.match(/bigger than max/g)).toHaveLength(1);
			expect((cell.generated[i].json.attempts as unknown[]).length).toBeLessThanOrEqual(1);
		}
		expectEachStartedAtMostOnce(cell, fleet);
	});

	it('invalid workflow, continueOnFail off: the node error names the item and nothing is left queued', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const items = scenes(4, 11_000, { steps: 30 }).map((s, i) => (i === 2 ? { ...s, workflow: invalidGraph() } : s));
		const cell = await matrix.generate({ fleet, items, continueOnFail: false });
		expect(expectNodeErrorNamesItem(cell)).toBe(2);
		expect(cell.result.nodeError('Generate')?.message).toMatch(/cfg/);
		await expectNothingLeft(fleet);
		await expectUploads(matrix, cell, []);
		expectEachStartedAtMostOnce(cell, fleet);
	});

	it('node class missing on some servers: scenes run only where it exists', async () => {
		const fleet = await matrix.fleet([sim({ lacks: ['ImageInvert'] }), sim({ lacks: ['ImageInvert'] }), sim()]);
		const cell = await matrix.generate({ fleet, items: scenes(4, 12_000, { workflow: graph({ invert: true }) }) });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(4);
		for (const item of cell.generated) expect(item.json.server).toBe(fleet.urls[2]);
		expect(fleet.servers[0].records.prompts).toEqual([]);
		expect(fleet.servers[1].records.prompts).toEqual([]);
		expectEachStartedAtMostOnce(cell, fleet);
	});

	it('model missing on some servers: scenes run only where the checkpoint is', async () => {
		const both = { checkpoints: [CHECKPOINT, OTHER_CHECKPOINT] };
		const fleet = await matrix.fleet([sim(), sim({ models: both })]);
		const items = [...scenes(3, 13_000, { workflow: graph({ ckpt: OTHER_CHECKPOINT }) }), ...scenes(3, 13_100)];
		const cell = await matrix.generate({ fleet, items });
		const { ok } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toHaveLength(6);
		for (const item of cell.generated.slice(0, 3)) expect(item.json.server).toBe(fleet.urls[1]);
		expect(fleet.servers[0].records.prompts.some((p) => JSON.stringify(p.prompt).includes(OTHER_CHECKPOINT))).toBe(false);
		expectEachStartedAtMostOnce(cell, fleet);
	});

	it('node class missing on every server: a clear error naming it and each server, nothing submitted', async () => {
		const fleet = await matrix.fleet([sim({ lacks: ['ImageInvert'] }), sim({ lacks: ['ImageInvert'] })]);
		const items = [...scenes(2, 14_000, { workflow: graph({ invert: true }) }), ...scenes(1, 14_100)];
		const cell = await matrix.generate({ fleet, items });
		const { ok, failed } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toEqual([2]);
		expect(failed).toEqual([0, 1]);
		for (const i of failed) {
			const error = String(cell.generated[i].json.error);
			expect(error).toMatch(/ImageInvert/);
			for (const url of fleet.urls) expect(error).toContain(`${url} is missing node classes ImageInvert`);
		}
		expect(fleet.servers.flatMap((s) => s.records.prompts)).toHaveLength(1);
	});

	it('node classes named like properties every object inherits (constructor, toString, __proto__, hasOwnProperty): missing on every server, nothing submitted', async () => {
		const inherited = ['constructor', 'toString', '__proto__', 'hasOwnProperty'];
		const withClass = (classType: string) => {
			const g = JSON.parse(graph()) as Record<string, unknown>;
			g['10'] = { class_type: classType, inputs: { image: ['8', 0] } };
			return JSON.stringify(g);
		};
		const fleet = await matrix.fleet([sim(), sim()]);
		const items = [...inherited.map((c, i) => ({ ...scenes(1, 16_000 + i)[0], workflow: withClass(c) })), ...scenes(1, 16_100)];
		const cell = await matrix.generate({ fleet, items });
		const { ok, failed } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toEqual([4]);
		expect(failed).toEqual([0, 1, 2, 3]);
		inherited.forEach((classType, i) => {
			const error = String(cell.generated[i].json.error);
			expect(error).toMatch(/^Scene \d failed: No server can run this workflow: /);
			for (const url of fleet.urls) expect(error).toContain(`${url} is missing node classes ${classType}`);
		});
		expect(fleet.servers.flatMap((s) => s.records.prompts)).toHaveLength(1);
	});

	it('model missing on every server, continueOnFail off: the node error names the item and the model', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const items = [...scenes(1, 15_000), ...scenes(1, 15_100, { workflow: graph({ ckpt: OTHER_CHECKPOINT }) })];
		const cell = await matrix.generate({ fleet, items, continueOnFail: false });
		expect(expectNodeErrorNamesItem(cell)).toBe(1);
		expect(cell.result.nodeError('Generate')?.message).toContain(OTHER_CHECKPOINT);
		await expectNothingLeft(fleet);
		expectEachStartedAtMostOnce(cell, fleet);
	});
});
