/**
 * With every server (or the storage endpoint) down the node's headline says what failed and where (n8n would otherwise show its
 * generic "The service refused the connection - perhaps it is offline"); the attempts stay in the details.
 */
import { NodeOperationError, type INode } from 'n8n-workflow';
import { closeAllRuntimes, parseServerList, SceneFailedError, type AttemptRecord } from '../../src/cluster';
import { TransientServerError } from '../../src/comfyui';
import { toNodeError } from '../../nodes/CloudImageStorage/helpers/errors';
import { sceneError } from '../../nodes/ComfyUiCluster/helpers/errors';
import { StorageError } from '../../src/storage';
import { clusterCredential, fixture, runJson, setItems, startTestFleet } from './comfyui';

const scenes = (n: number) => Array.from({ length: n }, (_, i) => ({ json: { prompt: `scene ${i}`, seed: i } }));

/** The URLs of `count` servers that refuse connections: a fleet started, then stopped. */
async function downServers(count: number): Promise<string[]> {
	const fleet = await startTestFleet(count);
	const urls = [...fleet.urls];
	await fleet.stop();
	return urls;
}

const hostPort = (url: string) => url.replace(/^http:\/\//, '');

afterEach(() => closeAllRuntimes());

describe('every server down', () => {
	it('Generate fails with "Scene n failed: All 3 ComfyUI servers refused the connection: host:port, …" and the attempts in the description', async () => {
		const urls = await downServers(3);
		const result = await runJson(setItems(fixture('generate'), 'Scenes', scenes(2)), { cluster: clusterCredential(urls) });
		expect(result.status).toBe('error');
		const error = result.nodeError('Generate') as NodeOperationError;
		expect(error.message).toMatch(/^Scene [01] failed: All 3 ComfyUI servers refused the connection: /);
		expect(error.message.replace(/^Scene \d failed: /, '')).toBe(`All 3 ComfyUI servers refused the connection: ${urls.map(hostPort).join(', ')}`);
		expect(error.description).toMatch(/^Start ComfyUI on them, or fix the addresses in the ComfyUI Servers credential/);
		expect(error.description).toMatch(/Scene \d failed: .* Tried: attempt 1 on http:\/\/127\.0\.0\.1:\d+/);
	});

	it('one server: "Scene 0 failed: The ComfyUI server host:port refused the connection", never "All 1 servers"', async () => {
		const [url] = await downServers(1);
		const result = await runJson(setItems(fixture('generate'), 'Scenes', scenes(1)), { cluster: clusterCredential([url]) });
		const error = result.nodeError('Generate') as NodeOperationError;
		expect(error.message).toBe(`Scene 0 failed: The ComfyUI server ${hostPort(url)} refused the connection`);
		expect(error.description).toMatch(/^Start ComfyUI on it, /);
		expect(error.message).not.toMatch(/All 1/);
	});

	it('keeps the headline when the engine\'s reason carries ECONNREFUSED, which n8n would replace', () => {
		const servers = parseServerList('http://10.0.0.11:8188\nhttp://10.0.0.12:8188');
		const attempts: AttemptRecord[] = servers.map((s, i) => ({ serverId: s.id, server: s.url, outcome: 'transient', reason: `connect ECONNREFUSED ${hostPort(s.url)}`, startedAt: i, endedAt: i }));
		const cause = new TransientServerError('connect ECONNREFUSED 10.0.0.12:8188', 'refused', servers[1].url);
		const node = { name: 'Generate', type: 'n8n-nodes-comfyui-cluster.comfyUiCluster', typeVersion: 1, position: [0, 0], parameters: {} } as unknown as INode;
		const ctx = { getNode: () => node } as never;

		const error = sceneError(ctx, new SceneFailedError(0, cause, attempts), 0, [], servers);
		expect(error.message).toBe('Scene 0 failed: All 2 ComfyUI servers refused the connection: 10.0.0.11:8188, 10.0.0.12:8188');
		expect(error.messages).not.toContain(error.message);

		// A third server that was not tried (Max Attempts, tags) is not counted as refusing.
		const three = parseServerList('http://10.0.0.11:8188\nhttp://10.0.0.12:8188\nhttp://10.0.0.13:8188');
		const partly = sceneError(ctx, new SceneFailedError(0, cause, attempts.map((a, i) => ({ ...a, serverId: three[i].id }))), 0, [], three);
		expect(partly.message).toBe('Scene 0 failed: 2 of 3 ComfyUI servers refused the connection: 10.0.0.11:8188, 10.0.0.12:8188 (the others were not tried)');

		// A failure that is not a connection failure keeps the scene's own message, n8n's rewriting undone as well.
		const other = sceneError(ctx, new Error('Scene 0 failed: read ECONNREFUSED while uploading'), 0, [], servers);
		expect(other.message).toBe('Scene 0 failed: read ECONNREFUSED while uploading');
		expect(new NodeOperationError(node, 'read ECONNREFUSED').message).toBe('The service refused the connection - perhaps it is offline');
	});
});

describe('storage endpoint down', () => {
	it('Cloud Image Storage keeps the engine\'s message naming the endpoint and the code', () => {
		const node = { name: 'Store', type: 'n8n-nodes-comfyui-cluster.cloudImageStorage', typeVersion: 1, position: [0, 0], parameters: {} } as unknown as INode;
		const ctx = { getNode: () => node } as never;
		const refused = new StorageError('Could not reach http://127.0.0.1:9000: connect ECONNREFUSED 127.0.0.1:9000', { provider: 's3', code: 'ECONNREFUSED', retryable: true, key: 'a.png' });
		expect(toNodeError(ctx, refused, 2).message).toBe('Item 2, key "a.png": Could not reach http://127.0.0.1:9000: connect ECONNREFUSED 127.0.0.1:9000 [ECONNREFUSED]');
		const answered = new StorageError('Service unavailable behind ETIMEDOUT proxy', { provider: 's3', code: 'SlowDown', httpStatus: 503 });
		expect(toNodeError(ctx, answered, 0).message).toBe('Item 0: Service unavailable behind ETIMEDOUT proxy [SlowDown, HTTP 503]');
	});
});
