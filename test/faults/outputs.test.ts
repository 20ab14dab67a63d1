/**
 * Fault matrix, answers bounded in bytes and time: outputs over Max Output Size (declared or not), a
 * download that drips, headers that never come, a JSON answer over the ceiling; and large outputs
 * streamed into n8n's binary data in filesystem mode, their temporary files removed however the run ends.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MAX_ANSWER_BYTES } from '../../src/comfyui/client/http';
import { KEEP_IN_MEMORY_BYTES } from '../../src/cluster/outputs';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../../src/cluster/sceneBuilder';
import { spooledFiles } from '../../src/util/spool';
import { maxOutputSizeOption } from '../../nodes/ComfyUiCluster/actions/common.descriptions';
import type { ViewFault } from '../sim/server';
import { binaryBytes, useFilesystemBinaryData } from '../workflow/harness';
import {
	attemptsOf,
	expectAllPromises,
	expectNodeErrorNamesItem,
	expectNothingLeft,
	expectUploads,
	graph,
	scenes,
	sim,
	useMatrix,
	waitFor,
	when,
	type Scene,
} from './matrix';

const MB = 1024 * 1024;
const matrix = useMatrix();

/** The scene writes its output as `<prefix>_00001_.png`, which a /view fault rule can match. */
function writing(prefix: string, scene: Scene): Scene {
	return { ...scene, workflow: graph().replace('"filename_prefix":"matrix"', `"filename_prefix":"${prefix}"`) };
}

function faulty(rules: ViewFault[]) {
	return sim({ faults: { view: rules } });
}

describe('fault matrix: answers bounded in bytes and time', () => {
	it('Max Output Size defaults to the engine\'s 2048 MB', () => {
		expect(Number(maxOutputSizeOption.default) * MB).toBe(DEFAULT_MAX_OUTPUT_BYTES);
	});

	it.each([
		['declared in Content-Length', false],
		['sent without a size', true],
	])('output over Max Output Size (%s): that item fails naming file, server and limit, not retried elsewhere; the others succeed', async (_, undeclared) => {
		const rule = { match: 'huge', size: 3 * MB, undeclared };
		const fleet = await matrix.fleet([faulty([rule]), faulty([rule])]);
		const base = undeclared ? 9100 : 9000;
		const items = scenes(3, base);
		items[1] = writing('huge', items[1]);
		const cell = await matrix.generate({ fleet, items, options: { maxOutputSize: 1 } });
		const { ok, failed } = await expectAllPromises(matrix, cell, fleet);
		expect(ok).toEqual([0, 2]);
		expect(failed).toEqual([1]);
		const attempts = attemptsOf(cell.generated[1]);
		expect(attempts.map((a) => a.outcome)).toEqual(['execution']);
		const error = String(cell.generated[1].json.error);
		expect(error).toMatch(/The output file "huge_\d+_\.png"/);
		expect(error).toContain(`on ${attempts[0].server}`);
		expect(error).toContain('Max Output Size of 1 MB');
		if (!undeclared) expect(error).toContain('is 3 MB, larger than');
	});

	it('a download dripping one byte every 4 s with Total Timeout 5 s: the attempt fails at the deadline', async () => {
		const fleet = await matrix.fleet([faulty([{ dripMs: 4000 }])]);
		const started = Date.now();
		const cell = await matrix.generate({ fleet, items: scenes(1, 9200), options: { totalTimeout: 5, maxAttempts: 1 } });
		const elapsed = Date.now() - started;
		const { failed } = await expectAllPromises(matrix, cell, fleet);
		expect(failed).toEqual([0]);
		const [attempt] = attemptsOf(cell.generated[0]);
		expect(attempt.outcome).toBe('transient');
		expect(String(cell.generated[0].json.error)).toContain("did not finish before the attempt's time limit (Total Timeout) ran out");
		// The PNG has hundreds of bytes: at one byte in 4 s only the deadline ends it within minutes.
		expect(elapsed).toBeLessThan(25_000);
	});

	it('headers that never come, with Total Timeout 5 s: the attempt fails at the deadline, not after 5 × the request timeout', async () => {
		const fleet = await matrix.fleet([faulty([{ hangHeaders: true }])]);
		const started = Date.now();
		const cell = await matrix.generate({ fleet, items: scenes(1, 9300), options: { totalTimeout: 5, maxAttempts: 1 } });
		const elapsed = Date.now() - started;
		const { failed } = await expectAllPromises(matrix, cell, fleet);
		expect(failed).toEqual([0]);
		expect(String(cell.generated[0].json.error)).toContain('(Total Timeout) ran out');
		expect(elapsed).toBeLessThan(25_000);
	});

	it('a /history answer over 64 MB: a transient failure naming route and server; the scene runs on another server', async () => {
		const fleet = await matrix.fleet([sim({ faults: { hugeJson: { routes: ['/history/*'], bytes: MAX_ANSWER_BYTES + 1024 } } }), sim()]);
		const [huge, healthy] = fleet.servers;
		const cell = await matrix.generate({
			fleet,
			cluster: matrix.clusterCredential(fleet.urls.map((u) => `${u} max=1`)),
			items: scenes(2, 9400),
		});
		const { ok } = await expectAllPromises(matrix, cell, fleet, { lostOn: [huge] });
		expect(ok).toEqual([0, 1]);
		for (const item of cell.generated) expect(item.json.server).toBe(healthy.url);
		const failedThere = cell.generated.flatMap((item) => attemptsOf(item)).filter((a) => a.server === huge.url);
		// Both servers are free at the start: one of the two scenes is placed on each.
		expect(failedThere.length).toBeGreaterThan(0);
		for (const attempt of failedThere) {
			expect(attempt.outcome).toBe('transient');
			expect(attempt.reason).toContain(`ComfyUI at ${huge.url} answered GET /history/`);
			expect(attempt.reason).toContain('with more than 64 MB');
		}
	});

	describe('large outputs in n8n\'s filesystem binary mode', () => {
		let storage: string;
		let restore: () => void;
		beforeAll(async () => {
			storage = mkdtempSync(join(tmpdir(), 'n8n-binary-'));
			restore = await useFilesystemBinaryData(storage);
		});
		afterAll(() => {
			restore();
			rmSync(storage, { recursive: true, force: true });
		});

		it('an output larger than the memory threshold reaches n8n\'s binary data whole and leaves no temporary file', async () => {
			// Above the memory threshold, below the upload's multipart threshold (one PUT per object, as the matrix counts).
			const size = KEEP_IN_MEMORY_BYTES + MB;
			const fleet = await matrix.fleet([faulty([{ match: 'big', size }])]);
			const items = [writing('big', scenes(1, 9500)[0]), scenes(1, 9501)[0]];
			const cell = await matrix.generate({ fleet, items, continueOnFail: false });
			const { ok } = await expectAllPromises(matrix, cell, fleet);
			expect(ok).toEqual([0, 1]);
			const big = cell.generated[0].binary!.image_0;
			expect(big.id).toMatch(/^filesystem/);
			expect(big.bytes).toBe(size);
			const bytes = await binaryBytes(big);
			expect(bytes.length).toBe(size);
			expect(bytes.subarray(1, 4).toString()).toBe('PNG');
			expect((cell.generated[0].json.outputs as Array<{ size: number }>)[0].size).toBe(size);
			expect(spooledFiles()).toEqual([]);
		});

		it('a run that fails (continueOnFail off) leaves no temporary file of the scenes that succeeded or were stopped', async () => {
			const rules = [{ match: 'huge', size: 40 * MB }, { match: 'big', size: KEEP_IN_MEMORY_BYTES + 4 * MB }];
			const fleet = await matrix.fleet([faulty(rules), faulty(rules)]);
			const items = [writing('big', scenes(1, 9600)[0]), writing('huge', scenes(1, 9601)[0])];
			const cell = await matrix.generate({ fleet, items, continueOnFail: false, options: { maxOutputSize: 30 } });
			expect(expectNodeErrorNamesItem(cell)).toBe(1);
			expect(cell.result.nodeError('Generate')?.message).toContain('Max Output Size of 30 MB');
			await expectNothingLeft(fleet);
			await expectUploads(matrix, cell, []);
			expect(spooledFiles()).toEqual([]);
		});

		it('an execution cancelled while a large output downloads removes the temporary file', async () => {
			const fleet = await matrix.fleet([faulty([{ match: 'big', size: 600 * MB }])]);
			const cell = await matrix.generate({
				fleet,
				items: [writing('big', scenes(1, 9700)[0])],
				onStart: (cancel) => when(() => spooledFiles().length > 0, cancel),
			});
			expect(cell.result.status).toBe('canceled');
			await waitFor(() => spooledFiles().length === 0, 10_000).catch(() => undefined);
			expect(spooledFiles()).toEqual([]);
			await expectNothingLeft(fleet);
		});
	});
});
