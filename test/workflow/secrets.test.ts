/**
 * Servers behind bearer authentication: the node authenticates, and the secrets never reach a log
 * line, an error or an output item, whatever goes wrong.
 */
import type { NodeOperationError } from 'n8n-workflow';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import { startFleet, type Fleet } from '../sim';
import { CHECKPOINT, clusterCredential, fixture, nodeOf, runJson, setItems, setParameters, startFileServer, type FileServer, type WorkflowJson } from './comfyui';
import { loggedLines } from './harness';
import type { RunResult } from './harness';

const TOKEN = 'tok-7Qm2vXz9-credential-secret';
const LINE_TOKEN = 'tok-Lp4s8Kd1-server-line-secret';
/** A signed input URL's signature: the author typed it in a parameter, so only our own messages must hide it. */
const SIGNATURE = 'sig-Vb3n6Hq0-url-signature';

let fleet: Fleet;
let cluster: ReturnType<typeof clusterCredential>;
let files: FileServer | undefined;

beforeAll(async () => {
	const spec = { msPerStep: 5, models: { checkpoints: [CHECKPOINT] } };
	fleet = await startFleet([
		{ ...spec, requireAuth: { header: 'Authorization', value: `Bearer ${TOKEN}` } },
		{ ...spec, requireAuth: { header: 'Authorization', value: `Bearer ${TOKEN}` } },
		{ ...spec, requireAuth: { header: 'Authorization', value: `Bearer ${LINE_TOKEN}` } },
	]);
	// Two servers use the credential's token, the third its own from its line of the server list.
	cluster = clusterCredential([fleet.urls[0], fleet.urls[1], `${fleet.urls[2]} auth=bearer:${LINE_TOKEN}`], { authentication: 'bearer', token: TOKEN });
});
afterAll(async () => {
	await files?.close();
	await closeAllRuntimes();
	await fleet.stop();
});

const scenes = (n: number) => Array.from({ length: n }, (_, i) => ({ json: { prompt: `secret scene ${i}`, seed: 80_000 + i } }));

function expectNoSecret(result: RunResult): void {
	const everything = JSON.stringify(result.run);
	expect(everything).not.toContain(TOKEN);
	expect(everything).not.toContain(LINE_TOKEN);
}

function generate(items: unknown[], continueOnFail: boolean): WorkflowJson {
	const wf = setItems(fixture('generate'), 'Scenes', items);
	if (continueOnFail) nodeOf(wf, 'Generate').onError = 'continueRegularOutput';
	return wf;
}

describe('secrets of servers behind authentication', () => {
	const before = loggedLines().length;

	it('authenticates with the credential token and with a token from the server line', async () => {
		const result = await runJson(generate(scenes(6), false), { cluster });
		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out).toHaveLength(6);
		expect(new Set(out.map((i) => i.json.server))).toEqual(new Set(fleet.urls));
		expectNoSecret(result);
	});

	it('keeps secrets out of scene errors, with and without continueOnFail', async () => {
		for (const sim of fleet.servers) sim.setExecutionError({ nodeClass: 'VAEDecode', message: 'Expected tensor of shape [1, 4, 8, 8]', exceptionType: 'RuntimeError' });
		try {
			const continued = await runJson(generate(scenes(3), true), { cluster });
			expect(continued.status).toBe('success');
			const out = continued.output('Generate');
			expect(out.map((i) => typeof i.json.error)).toEqual(['string', 'string', 'string']);
			expect(String(out[0].json.error)).toContain('Expected tensor of shape [1, 4, 8, 8]');
			// The error item's shape: error, description, then the node's context.
			expect(Object.keys(out[0].json)).toEqual(['error', 'description', 'scene', 'attempts', 'store']);
			expect(out[0].json).toMatchObject({ description: expect.stringMatching(/a node raised an error on the server/), scene: 0, store: 'memory' });
			expectNoSecret(continued);

			const failed = await runJson(generate(scenes(3), false), { cluster });
			expect(failed.status).toBe('error');
			expect(failed.nodeError('Generate')?.message).toContain('Expected tensor of shape [1, 4, 8, 8]');
			expectNoSecret(failed);
		} finally {
			for (const sim of fleet.servers) sim.setExecutionError(null);
		}
	});

	it('keeps secrets out of errors about unreachable servers and failed input fetches', async () => {
		fleet.servers[2].crash();
		const continued = await runJson(generate(scenes(4), true), { cluster });
		expect(continued.status).toBe('success');
		expectNoSecret(continued);

		const status = await runJson(fixture('status'), { cluster });
		expect(status.status).toBe('success');
		const down = status.output('Status').find((r) => r.json.server === fleet.urls[2]);
		expect(down?.json.reachable).toBe(false);
		expectNoSecret(status);

		files = await startFileServer({});
		const wf = setParameters(fixture('img2img'), 'Generate', {
			inputImages: { image: [{ source: 'url', node: '10', input: 'image', url: `${files.url}/in.png?X-Amz-Signature=${SIGNATURE}` }] },
		});
		const fetchFailed = await runJson(setItems(wf, 'Scenes', scenes(1)), { cluster });
		expect(fetchFailed.status).toBe('error');
		const error = fetchFailed.nodeError('Generate') as NodeOperationError;
		expect(error.message).toMatch(/^Item 0, Input Images: Fetching input image .*in\.png.* failed with HTTP 404/);
		expect(`${error.message} ${error.description}`).not.toContain(SIGNATURE);
		expectNoSecret(fetchFailed);
	});

	it('no log line carries a secret, and progress was logged', () => {
		const lines = loggedLines().slice(before);
		expect(lines.some((l) => /^Generate: scene \d+ finished on /.test(l.message))).toBe(true);
		for (const line of lines) {
			if (line.message.startsWith('Generate:')) expect(line.message).not.toContain(SIGNATURE);
			const text = `${line.message} ${JSON.stringify(line.meta ?? null)}`;
			expect(text).not.toContain(TOKEN);
			expect(text).not.toContain(LINE_TOKEN);
		}
	});
});
