/**
 * The Generate operation in n8n's engine against a simulated fleet: fan-out, item order, image bytes,
 * telemetry, overrides, input images, UI-format workflows, continueOnFail, cancellation, bad input.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { INodeExecutionData, NodeOperationError } from 'n8n-workflow';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import { encodePng, type Fleet } from '../sim';
import {
	activeAnywhere,
	clusterCredential,
	deleteKeys,
	fixture,
	isPng,
	keysUnder,
	nodeOf,
	receivedPrompts,
	redisCredential,
	runJson,
	setItems,
	setParameters,
	startFileServer,
	startTestFleet,
	useRedis,
	waitFor,
	type FileServer,
} from './comfyui';
import { loggedLines } from './harness';

const GRAPH = String(nodeOf(fixture('generate'), 'Generate').parameters.workflow);

function scenes(n: number, base = 100) {
	return Array.from({ length: n }, (_, i) => ({ json: { prompt: `scene ${i}: a red fox in the snow`, seed: base + i } }));
}

function bytesOf(item: INodeExecutionData, property: string): Buffer {
	return Buffer.from(item.binary![property].data, 'base64');
}

let fleet: Fleet;
let files: FileServer | undefined;
const prefixes: string[] = [];

beforeAll(async () => {
	fleet = await startTestFleet(3);
});
afterEach(async () => {
	await closeAllRuntimes();
	await files?.close();
	files = undefined;
});
afterAll(async () => {
	await closeAllRuntimes();
	await fleet.stop();
	for (const prefix of prefixes) await deleteKeys(prefix);
});

function credential(extra = {}) {
	const cluster = clusterCredential(fleet.urls, extra);
	prefixes.push(String(cluster.statePrefix));
	return cluster;
}

function promptOf(promptId: unknown) {
	const found = receivedPrompts(fleet.servers).find((p) => p.promptId === promptId);
	if (!found) throw new Error(`no server received prompt ${String(promptId)}`);
	return found;
}

describe('Generate', () => {
	it('fans 8 scenes out over 3 servers and returns them in item order with PNG bytes and telemetry', async () => {
		const before = loggedLines().length;
		const result = await runJson(setItems(fixture('generate'), 'Scenes', scenes(8)), { cluster: credential() });

		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out).toHaveLength(8);
		out.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json).toMatchObject({ store: 'memory', cached: false });
			expect(fleet.urls).toContain(item.json.server);
			for (const field of ['queueWaitMs', 'executionMs', 'totalMs']) expect(typeof item.json[field]).toBe('number');
			// One success, where the item says; before it at most moves (a scene still waiting may move to a server that went idle).
			const attempts = item.json.attempts as Array<{ outcome: string }>;
			expect(attempts.at(-1)).toEqual(expect.objectContaining({ server: item.json.server, promptId: item.json.promptId, outcome: 'success' }));
			expect(attempts.slice(0, -1).every((a) => a.outcome === 'moved')).toBe(true);
			// Item order: the prompt behind output i carries item i's override values (by id "6" and by title "Sampler").
			const received = promptOf(item.json.promptId);
			expect(received.url).toBe(item.json.server);
			const prompt = received.prompt as Record<string, { inputs: Record<string, unknown> }>;
			expect(prompt['6'].inputs.text).toBe(`scene ${i}: a red fox in the snow`);
			expect(prompt['3'].inputs.seed).toBe(100 + i);
			expect(prompt['7'].inputs.text).toBe('blurry, low quality, watermark');
			// One binary property per output file, named by kind and position.
			expect(Object.keys(item.binary ?? {})).toEqual(['image_0']);
			const binary = item.binary!.image_0;
			expect(binary.mimeType).toBe('image/png');
			expect(binary.fileName).toMatch(/^n8n_\d{5}_\.png$/);
			expect(binary.fileExtension).toBe('png');
			const bytes = bytesOf(item, 'image_0');
			expect(isPng(bytes)).toBe(true);
			expect(item.json.outputs).toEqual([
				expect.objectContaining({ nodeId: '9', kind: 'image', filename: binary.fileName, mimeType: 'image/png', property: 'image_0', size: bytes.length }),
			]);
		});
		expect(new Set(out.map((i) => i.json.server)).size).toBe(3);
		expect(new Set(out.map((i) => i.json.promptId)).size).toBe(8);

		// Progress reaches n8n's logger: a start and a finish line per scene, with the server.
		const lines = loggedLines().slice(before).map((l) => l.message);
		for (let i = 0; i < 8; i++) {
			expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Generate: scene ${i} started on http://127\\.0\\.0\\.1:\\d+`)));
			expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Generate: scene ${i} finished on http://127\\.0\\.0\\.1:\\d+ \\(\\d/8\\)`)));
		}
		expect(lines.some((l) => / \d+ %$/.test(l))).toBe(true);
	});

	it('keeps the cluster state in Redis when the Redis credential is set', async () => {
		const cluster = credential();
		const result = await runJson(useRedis(setItems(fixture('generate'), 'Scenes', scenes(4, 500))), { cluster, redis: redisCredential() });
		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out.map((i) => i.json.store)).toEqual(['redis', 'redis', 'redis', 'redis']);
		out.forEach((item) => expect(isPng(bytesOf(item, 'image_0'))).toBe(true));
		expect((await keysUnder(`${String(cluster.statePrefix)}:`)).length).toBeGreaterThan(0);
	});

	it('accepts a UI-format workflow ("Save" in ComfyUI) and converts it with the server catalogue', async () => {
		const ui = JSON.parse(readFileSync(join(__dirname, '../fixtures/workflows/txt2img.ui.json'), 'utf8'));
		const items = [0, 1, 2].map((i) => ({ json: { workflow: ui, seed: 7000 + i } }));
		const result = await runJson(setItems(fixture('ui-format'), 'Scenes', items), { cluster: credential() });

		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out).toHaveLength(3);
		out.forEach((item, i) => {
			expect(isPng(bytesOf(item, 'image_0'))).toBe(true);
			const prompt = promptOf(item.json.promptId).prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
			const sampler = Object.values(prompt).find((n) => n.class_type === 'KSampler')!;
			expect(sampler.inputs).toMatchObject({ seed: 7000 + i, steps: 3 });
			expect(prompt['5'].inputs).toMatchObject({ width: 64, height: 64 });
			expect(prompt['4'].inputs.ckpt_name).toBe('v1-5-pruned-emaonly.safetensors');
		});
	});

	it('uploads a binary input image once per server and sets it on the LoadImage node by title', async () => {
		const photo = encodePng({ width: 64, height: 64, color: 0xc87828 });
		const uploadsBefore = fleet.servers.map((s) => s.records.uploads.length);
		const items = Array.from({ length: 6 }, (_, i) => ({
			json: { seed: 900 + i },
			binary: { photo: { base64: photo.toString('base64'), fileName: 'portrait.png', mimeType: 'image/png' } },
		}));
		const result = await runJson(setItems(fixture('img2img'), 'Scenes', items), { cluster: credential() });

		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out).toHaveLength(6);
		const usedServers = new Set(out.map((i) => i.json.server));
		fleet.servers.forEach((sim, k) => {
			const uploads = sim.records.uploads.slice(uploadsBefore[k]);
			// once on every server that ran a scene; one whose waiting scene moved elsewhere may hold it too, never twice
			expect(uploads.length).toBe(usedServers.has(sim.url) ? 1 : Math.min(uploads.length, 1));
		});
		out.forEach((item) => {
			const prompt = promptOf(item.json.promptId).prompt as Record<string, { inputs: Record<string, unknown> }>;
			const sim = fleet.servers.find((s) => s.url === item.json.server)!;
			expect(sim.records.uploads).toContain(prompt['10'].inputs.image);
			expect(isPng(bytesOf(item, 'image_0'))).toBe(true);
		});
	});

	it('fetches an input image URL once per execution (following a redirect) and uploads it once per server', async () => {
		files = await startFileServer({
			'/old/cat.png': { redirect: '/inputs/cat.png' },
			'/inputs/cat.png': { body: encodePng({ width: 32, height: 32, color: 0x0ac85a }), type: 'image/png' },
		});
		const uploadsBefore = fleet.servers.map((s) => s.records.uploads.length);
		const wf = setParameters(fixture('img2img'), 'Generate', {
			inputImages: { image: [{ source: 'url', node: '10', input: 'image', url: `${files.url}/old/cat.png` }] },
		});
		const result = await runJson(setItems(wf, 'Scenes', scenes(8, 300)), { cluster: credential() });

		expect(result.status).toBe('success');
		expect(result.output('Generate')).toHaveLength(8);
		expect(files.requests.get('/old/cat.png')).toBe(1);
		expect(files.requests.get('/inputs/cat.png')).toBe(1);
		const usedServers = new Set(result.output('Generate').map((i) => i.json.server));
		expect(usedServers.size).toBeGreaterThan(1);
		fleet.servers.forEach((sim, k) => {
			const uploads = sim.records.uploads.slice(uploadsBefore[k]);
			expect(uploads.length).toBe(usedServers.has(sim.url) ? 1 : Math.min(uploads.length, 1));
		});
	});

	describe('bad scenes', () => {
		function mixedItems() {
			return [
				{ json: { workflow: GRAPH, textNode: '6', prompt: 'good 0', seed: 1 } },
				{ json: { workflow: GRAPH, textNode: 'Positive Prompt', prompt: 'good 1', seed: 2 } },
				{ json: { workflow: GRAPH, textNode: 'Prompt That Does Not Exist', prompt: 'bad override', seed: 3 } },
				{ json: { workflow: GRAPH, textNode: '6', prompt: 'good 3', seed: 4 } },
				{ json: { workflow: '{"3": {"inputs": {"seed": 1,', textNode: '6', prompt: 'broken json', seed: 5 } },
			];
		}

		it('with continueOnFail yields an error item for each bad scene and outputs for the others', async () => {
			const result = await runJson(setItems(fixture('continue-on-fail'), 'Scenes', mixedItems()), { cluster: credential() });

			expect(result.status).toBe('success');
			const out = result.output('Generate');
			expect(out.map((i) => i.pairedItem)).toEqual([0, 1, 2, 3, 4].map((item) => ({ item })));
			expect(out.map((i) => Boolean(i.json.error))).toEqual([false, false, true, false, true]);
			expect(String(out[2].json.error)).toMatch(/^Item 2, Overrides: .*Prompt That Does Not Exist/);
			expect(String(out[4].json.error)).toMatch(/^Item 4, Workflow \(JSON\): /);
			// The error item's shape: error, description (the fix), then the node's context.
			expect(out[2].json).toEqual({ error: expect.any(String), description: expect.stringMatching(/node \(ID or title\)/), scene: 2 });
			expect(Object.keys(out[2].json)).toEqual(['error', 'description', 'scene']);
			for (const k of [0, 1, 3]) {
				expect(isPng(bytesOf(out[k], 'image_0'))).toBe(true);
				const prompt = promptOf(out[k].json.promptId).prompt as Record<string, { inputs: Record<string, unknown> }>;
				expect(prompt['6'].inputs.text).toBe(`good ${k}`);
			}
			// Nothing was submitted for the bad scenes.
			const texts = receivedPrompts(fleet.servers).map((p) => (p.prompt as Record<string, { inputs: Record<string, unknown> }>)['6']?.inputs.text);
			expect(texts).not.toContain('bad override');
			expect(texts).not.toContain('broken json');
		});

		it('without continueOnFail fails the run with a NodeOperationError naming the item and the field, before submitting', async () => {
			const wf = setItems(fixture('continue-on-fail'), 'Scenes', mixedItems());
			delete nodeOf(wf, 'Generate').onError;
			const promptsBefore = receivedPrompts(fleet.servers).length;
			const result = await runJson(wf, { cluster: credential() });

			expect(result.status).toBe('error');
			// The engine keeps a node's error in the run data as a plain (serialised) object.
			const error = result.nodeError('Generate') as NodeOperationError;
			expect(error.name).toBe('NodeOperationError');
			expect(error.context.itemIndex).toBe(2);
			expect(error.message).toMatch(/^Item 2, Overrides: /);
			expect(error.message).toContain('Prompt That Does Not Exist');
			expect(error.description).toMatch(/node \(ID or title\)/);
			expect(receivedPrompts(fleet.servers).length).toBe(promptsBefore);
		});

		it('without continueOnFail a scene that fails on its server fails the run naming it, and the other scenes are removed from the servers', async () => {
			// Scene 1 carries an extra ImageInvert node, which every server fails to execute.
			const graph = JSON.parse(GRAPH);
			graph['20'] = { inputs: { image: ['8', 0] }, class_type: 'ImageInvert', _meta: { title: 'Invert' } };
			graph['9'].inputs.images = ['20', 0];
			const items = Array.from({ length: 7 }, (_, i) => ({
				json: { workflow: i === 1 ? JSON.stringify(graph) : GRAPH, textNode: '6', prompt: `fail-fast ${i}`, seed: 50_000 + i },
			}));
			const wf = setItems(fixture('continue-on-fail'), 'Scenes', items);
			delete nodeOf(wf, 'Generate').onError;
			for (const sim of fleet.servers) {
				sim.setExecutionError({ nodeClass: 'ImageInvert', message: 'Simulated failure in ImageInvert', exceptionType: 'ValueError' });
				sim.setSpeed(0.1);
			}
			try {
				const result = await runJson(wf, { cluster: credential() });
				expect(result.status).toBe('error');
				const error = result.nodeError('Generate') as NodeOperationError;
				expect(error.name).toBe('NodeOperationError');
				expect(error.context.itemIndex).toBe(1);
				expect(error.message).toContain('Simulated failure in ImageInvert');
				const ours = new Set(
					receivedPrompts(fleet.servers)
						.filter((p) => String((p.prompt as Record<string, { inputs: Record<string, unknown> }>)['6']?.inputs.text).startsWith('fail-fast'))
						.map((p) => p.promptId),
				);
				expect(ours.size).toBeGreaterThan(1);
				await waitFor(() => activeAnywhere(fleet.servers).every((id) => !ours.has(id)), 5000);
			} finally {
				for (const sim of fleet.servers) {
					sim.setExecutionError(null);
					sim.setSpeed(1);
				}
			}
		});

		it('names a missing binary property with the item, the field and the fix', async () => {
			const result = await runJson(setItems(fixture('img2img'), 'Scenes', [{ json: { seed: 1 } }]), { cluster: credential() });
			expect(result.status).toBe('error');
			// The engine keeps a node's error in the run data as a plain (serialised) object.
			const error = result.nodeError('Generate') as NodeOperationError;
			expect(error.name).toBe('NodeOperationError');
			expect(error.message).toMatch(/^Item 0, Input Images: the item has no binary property "photo"/);
			expect(error.description).toMatch(/binary property/);
		});

		it('does not take a property every object inherits for a binary property of the item', async () => {
			const photo = encodePng({ width: 8, height: 8, color: 0x102030 });
			const items = [{ json: { seed: 2 }, binary: { photo: { base64: photo.toString('base64'), fileName: 'p.png', mimeType: 'image/png' } } }];
			for (const property of ['constructor', 'toString', '__proto__']) {
				const wf = setParameters(fixture('img2img'), 'Generate', {
					inputImages: { image: [{ source: 'binary', node: 'Load Image', input: 'image', binaryProperty: property }] },
				});
				const result = await runJson(setItems(wf, 'Scenes', items), { cluster: credential() });
				expect(result.status).toBe('error');
				expect(result.nodeError('Generate')?.message).toBe(`Item 0, Input Images: the item has no binary property "${property}" (it has: photo)`);
			}
		});

		it('names an input URL that answers 404 with the item and the field, and does not retry it', async () => {
			files = await startFileServer({});
			const wf = setParameters(fixture('img2img'), 'Generate', {
				inputImages: { image: [{ source: 'url', node: 'Load Image', input: 'image', url: `${files.url}/missing.png` }] },
			});
			const result = await runJson(setItems(wf, 'Scenes', scenes(2)), { cluster: credential() });
			expect(result.status).toBe('error');
			// The engine keeps a node's error in the run data as a plain (serialised) object.
			const error = result.nodeError('Generate') as NodeOperationError;
			expect(error.message).toMatch(/^Item 0, Input Images: .*missing\.png.*HTTP 404/);
			expect(error.description).toMatch(/reachable URL/);
			expect(files.requests.get('/missing.png')).toBe(1);
		});

		it('refuses an operation the node does not know, naming it, before reading the credentials', async () => {
			const wf = setParameters(fixture('generate'), 'Generate', { operation: 'render' });
			const result = await runJson(setItems(wf, 'Scenes', scenes(1)), { cluster: credential({ servers: '' }) });
			expect(result.status).toBe('error');
			const error = result.nodeError('Generate') as NodeOperationError;
			expect(error.name).toBe('NodeOperationError');
			expect(error.message).toBe('The operation "render" is not supported');
			expect(error.description).toMatch(/generate, submit, collect, cancel, clusterStatus, freeMemory/);
		});

		it.each([
			['an empty server list', ''],
			['a server address that is not a URL', 'gpu one:8188'],
		])('rejects %s in the credential, naming the field and the fix', async (_name, servers) => {
			const cluster = credential({ servers });
			const result = await runJson(setItems(fixture('generate'), 'Scenes', scenes(1)), { cluster });
			expect(result.status).toBe('error');
			// The engine keeps a node's error in the run data as a plain (serialised) object.
			const error = result.nodeError('Generate') as NodeOperationError;
			expect(error.name).toBe('NodeOperationError');
			expect(error.message).toMatch(/^ComfyUI Cluster credential, Servers: /);
			expect(error.description).toMatch(/one URL per line/);
		});
	});

	it('cancelling the execution mid-run ends it as canceled and leaves no prompt of ours on any server', async () => {
		for (const sim of fleet.servers) sim.setSpeed(0.05);
		try {
			const startedBefore = fleet.servers.reduce((n, s) => n + s.records.started.length, 0);
			const result = await runJson(setItems(fixture('generate'), 'Scenes', scenes(9, 4000)), { cluster: credential() }, {
				onStart: (cancel) => {
					void waitFor(() => fleet.servers.reduce((n, s) => n + s.records.started.length, 0) >= startedBefore + 2, 10_000).then(cancel, cancel);
				},
			});
			expect(result.status).toBe('canceled');
			const ours = new Set(
				receivedPrompts(fleet.servers)
					.filter((p) => Number((p.prompt as Record<string, { inputs: Record<string, unknown> }>)['3']?.inputs.seed) >= 4000)
					.map((p) => p.promptId),
			);
			expect(ours.size).toBeGreaterThan(0);
			await waitFor(() => activeAnywhere(fleet.servers).every((id) => !ours.has(id)), 5000);
			expect(activeAnywhere(fleet.servers).filter((id) => ours.has(id))).toEqual([]);
		} finally {
			for (const sim of fleet.servers) sim.setSpeed(1);
		}
	});
});
