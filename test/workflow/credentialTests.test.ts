/** The credential tests n8n runs from the credential dialog: every server probed, Redis pinged. */
import { testRedis, testServers } from '../../nodes/ComfyUiCluster/credentialTests';
import { startFleet, type Fleet } from '../sim';

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

	it('pings Redis, and reports a Redis that does not answer', async () => {
		expect(await testRedis({ mode: 'single', host: '127.0.0.1', port: 6379, database: 13 })).toEqual({ status: 'OK', message: 'Redis answered PONG' });
		const down = await testRedis({ mode: 'single', host: '127.0.0.1', port: 9, database: 0, password: 'pw-1618033' });
		expect(down.status).toBe('Error');
		expect(down.message).toMatch(/^Redis did not answer/);
		expect(down.message).not.toContain('pw-1618033');
	});
});
