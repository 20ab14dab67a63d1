/** The credential tests n8n runs from the credential dialog: every server probed, Redis pinged. */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { startFleet, type Fleet } from '../sim';
import { TEST_REDIS } from '../setup/redis';

const { credentialTest } = new ComfyUiCluster().methods;
// n8n calls them with the credential being tested; they use nothing of `this`.
const testServers = (data: ICredentialDataDecryptedObject) =>
	credentialTest.comfyUiClusterConnectionTest.call({} as never, { id: '1', name: 'cluster', type: 'comfyUiClusterApi', data });
const testRedis = (data: ICredentialDataDecryptedObject) =>
	credentialTest.comfyUiClusterRedisTest.call({} as never, { id: '2', name: 'redis', type: 'comfyUiClusterRedisApi', data });

describe('ComfyUI Cluster credential tests', () => {
	let fleet: Fleet;
	beforeAll(async () => {
		fleet = await startFleet([{ requireAuth: { header: 'authorization', value: 'Bearer tok-3141592' } }, {}]);
	});
	afterAll(() => fleet.stop());

	it('says which servers answered and which did not, and why, without the token', async () => {
		const down = 'http://127.0.0.1:9';
		const result = await testServers({ servers: `${fleet.urls[0]} auth=bearer:tok-3141592\n${fleet.urls[1]}\n${down}`, authentication: 'none' });
		expect(result.status).toBe('OK');
		expect(result.message).toContain('2 of 3 servers answered');
		expect(result.message).toContain(`${fleet.urls[0]} answered`);
		expect(result.message).toMatch(new RegExp(`${down} did not answer: .*refused`));
		expect(result.message).not.toContain('tok-3141592');
	});

	it('fails when no server answers (wrong token) and when the list is bad', async () => {
		const wrong = await testServers({ servers: fleet.urls[0], authentication: 'bearer', token: 'wrong-token-2718' });
		expect(wrong.status).toBe('Error');
		expect(wrong.message).toContain('No server answered');
		expect(wrong.message).not.toContain('wrong-token-2718');
		const bad = await testServers({ servers: '', authentication: 'none' });
		expect(bad).toEqual({ status: 'Error', message: expect.stringContaining('Servers: The server list is empty') });
	});

	it('reports servers that echo the credentials in an error body without any form of them', async () => {
		const value = 'hdr-"echo"\\8Lq3';
		const password = 'pw-echoed-4Rt7';
		const basic = (user: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
		const users = ['ops', 'user', 'admin'];
		const echoing = await startFleet([
			{ requireAuth: { header: 'x-api-key', value }, faults: { httpErrors: { routes: ['/system_stats'], status: 403, rate: 1, echoAuth: true } } },
			...users.map((user) => ({ requireAuth: { header: 'authorization', value: basic(user) }, faults: { httpErrors: { routes: ['/system_stats'], status: 403, rate: 1, echoAuth: true } } })),
		]);
		try {
			const lines = [`${echoing.urls[0]} auth=header:X-Api-Key:${value}`, ...users.map((user, i) => `${echoing.urls[i + 1]} auth=basic:${user}:${password}`)];
			const result = await testServers({ servers: lines.join('\n'), authentication: 'none' });
			expect(result.status).toBe('Error');
			expect(result.message).toMatch(/did not answer: .*HTTP 403 \(403: Simulated error; x-api-key: \*\*\*; headers \{"x-api-key":"\*\*\*"\}; trace \*\*\*/);
			const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), password, ...users.map((user) => Buffer.from(`${user}:${password}`).toString('base64'))];
			for (const form of forms) expect(result.message).not.toContain(form);
			expect(result.message).not.toMatch(/Basic [A-Za-z0-9+/]/);
		} finally {
			await echoing.stop();
		}
	});

	it('warns when two entries are one server (127.0.0.1 and localhost), not when two servers look alike', async () => {
		const [secured, open] = fleet.urls;
		const twice = open.replace('127.0.0.1', 'localhost');
		const result = await testServers({ servers: `${secured} auth=bearer:tok-3141592\n${open}\n${twice}`, authentication: 'none' });
		expect(result.status).toBe('OK');
		expect(result.message).toContain('All 3 servers answered');
		expect(result.message).toContain(` Warning: ${open} and ${twice} are the same server (same address, devices and versions): list it once, or it takes 2 × its max of prompts.`);
		expect(result.message.match(/Warning/g)).toHaveLength(1);
		// Two servers of one machine with the same devices and versions, on their own ports: no warning.
		const apart = await testServers({ servers: `${secured} auth=bearer:tok-3141592\n${open}`, authentication: 'none' });
		expect(apart.message).not.toContain('Warning');
	});

	it('pings Redis, and reports a Redis that does not answer', async () => {
		expect(await testRedis({ mode: 'single', host: TEST_REDIS.host, port: TEST_REDIS.port, database: TEST_REDIS.db })).toEqual({ status: 'OK', message: 'Redis answered PONG' });
		const down = await testRedis({ mode: 'single', host: '127.0.0.1', port: 9, database: 0, password: 'pw-1618033' });
		expect(down.status).toBe('Error');
		expect(down.message).toMatch(/^Redis did not answer/);
		expect(down.message).not.toContain('pw-1618033');
	});
});
