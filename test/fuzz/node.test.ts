/**
 * Random bad parameters through the ComfyUI Cluster node in n8n's own engine: the run never
 * crashes; it ends in a NodeOperationError with a message, or (continueOnFail) in error items with
 * a message, paired to their input items.
 */
import fc from 'fast-check';
import type { INodeParameters } from 'n8n-workflow';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import type { Fleet } from '../sim';
import { clusterCredential, fixture, nodeOf, runJson, setItems, setParameters, startTestFleet } from '../workflow/comfyui';
import { params, timeBoxed } from './expect';

jest.setTimeout(60_000);

const GRAPH = String(nodeOf(fixture('generate'), 'Generate').parameters.workflow);
const RUNS = Number(process.env.FUZZ_NODE_RUNS ?? 25);

let fleet: Fleet;
beforeAll(async () => {
	fleet = await startTestFleet(2);
});
afterAll(async () => {
	await closeAllRuntimes();
	await fleet.stop();
});

const text = fc.string({ maxLength: 12 });
const loose = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('', ' ', '-1', '1e9', 'NaN', '={{ $json.nothing }}'));

const workflow = fc.oneof(
	fc.constant(GRAPH),
	fc.nat().map((n) => GRAPH.slice(0, n % GRAPH.length)),
	fc.constantFrom('', '{}', '[]', 'null', '{"nodes": [], "links": []}', '{"3": {"class_type": "KSampler"}}', '={{ $json.workflow }}'),
	fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
);

const override = fc.record({
	node: fc.oneof(fc.constantFrom('6', 'Sampler', 'Positive Prompt', '999', '', ' '), text),
	input: fc.oneof(fc.constantFrom('text', 'seed', 'steps', 'cfg', 'ckpt_name', 'images', ''), text),
	value: loose,
});

const image = fc.record(
	{
		source: fc.oneof(fc.constantFrom('binary', 'url'), text),
		node: fc.oneof(fc.constantFrom('Load Image', '9', ''), text),
		input: fc.oneof(fc.constant('image'), text),
		binaryProperty: fc.oneof(fc.constantFrom('data', 'photo', '', ' ', '../x', 'a,b', '__proto__', 'constructor'), text),
		url: fc.constantFrom('http://127.0.0.1:1/x.png', 'not a url', 'ftp://example/x.png', '', 'http://user:pw@127.0.0.1:1/x.png'),
	},
	{ requiredKeys: [] },
);

const options = fc.record(
	{
		concurrency: loose,
		freeMemoryAfter: loose,
		inactivityTimeout: loose,
		maxAttempts: loose,
		outputKinds: fc.oneof(fc.array(fc.constantFrom('image', 'video', 'gif', '')), loose),
		outputMode: fc.oneof(fc.constantFrom('binary', 'references'), loose),
		priority: loose,
		queueWaitTimeout: loose,
		seedMode: fc.oneof(fc.constantFrom('keep', 'random'), loose),
		strategy: fc.oneof(fc.constantFrom('leastLoaded', 'fastest', 'weighted', 'roundRobin'), loose),
		totalTimeout: loose,
		unknownOption: loose,
	},
	{ requiredKeys: [] },
);

const parameters = fc.record(
	{
		workflow,
		overrides: fc.array(override, { maxLength: 3 }).map((list) => ({ override: list })),
		placeholders: fc.array(fc.record({ name: fc.oneof(text, fc.constant('')), value: loose }), { maxLength: 2 }).map((list) => ({ placeholder: list })),
		inputImages: fc.array(image, { maxLength: 2 }).map((list) => ({ image: list })),
		options,
	},
	{ requiredKeys: ['workflow'] },
);

const servers = fc.oneof(
	fc.constant('fleet'),
	fc.constant('fleet'),
	fc.constantFrom('', 'gpu one:8188', 'http://127.0.0.1:1', '[{"url": 5}]', 'http://a:8188 max=0', 'ftp://x'),
);

describe('the node with random bad parameters', () => {
	it('ends every run in a NodeOperationError or error items, each with a message', async () => {
		const seen = { failedRuns: 0, errorItems: 0, okItems: 0 };
		await fc.assert(
			fc.asyncProperty(parameters, servers, fc.boolean(), async (parameters, serverList, continueOnFail) => {
				let wf = setParameters(fixture('generate'), 'Generate', parameters as unknown as INodeParameters);
				wf = setItems(wf, 'Scenes', [{ json: { prompt: 'a fox', seed: 1 } }, { json: { prompt: 'a cat', seed: 2 } }]);
				const node = nodeOf(wf, 'Generate');
				if (continueOnFail) node.onError = 'continueRegularOutput';
				else delete node.onError;
				const cluster = clusterCredential(serverList === 'fleet' ? fleet.urls : [serverList]);
				const result = await timeBoxed(runJson(wf, { cluster }, { timeoutMs: 20_000 }), 25_000, 'the workflow run');

				expect(['success', 'error']).toContain(result.status);
				const error = result.nodeError('Generate');
				if (result.status === 'error') {
					seen.failedRuns++;
					expect(error).toBeDefined();
					expect(error!.name).toBe('NodeOperationError');
					expect(error!.message.trim().length).toBeGreaterThan(0);
					expect(error!.message).not.toContain('[object Object]');
					return;
				}
				const out = result.output('Generate');
				expect(out.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
				for (const item of out) {
					if (item.json.error === undefined) {
						seen.okItems++;
						continue;
					}
					seen.errorItems++;
					expect(continueOnFail).toBe(true);
					expect(typeof item.json.error).toBe('string');
					expect(String(item.json.error).trim().length).toBeGreaterThan(0);
					expect(String(item.json.error)).not.toContain('[object Object]');
				}
			}),
			params(RUNS),
		);
		// The runs covered all three endings.
		expect(seen.failedRuns).toBeGreaterThan(0);
		expect(seen.errorItems).toBeGreaterThan(0);
		expect(seen.okItems).toBeGreaterThan(0);
	});
});
