/** The credential tests n8n runs from the credential dialog: every server probed, Redis pinged, the bucket headed. */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { CloudImageStorage } from '../../nodes/CloudImageStorage/CloudImageStorage.node';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { rawS3Client, startFauxqs, type FauxqsHandle } from '../fakes/fauxqs';
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

	it('fails when a server does not answer (n8n shows no message of a passing test), naming it first, then the others that answered', async () => {
		const down = 'http://127.0.0.1:9';
		const result = await testServers({ servers: `${fleet.urls[0]} auth=bearer:tok-3141592\n${fleet.urls[1]}\n${down}`, authentication: 'none' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(new RegExp(`^1 of 3 servers did not answer\\. ${down} did not answer: .*refused.*\\. The other 2 servers answered: ${fleet.urls[0]} \\(ComfyUI [^)]+\\), ${fleet.urls[1]} \\(ComfyUI [^)]+\\)\\.$`));
		expect(result.message).not.toContain('tok-3141592');

		const one = await testServers({ servers: `${fleet.urls[1]}\n${down}\nhttp://127.0.0.1:7`, authentication: 'none' });
		expect(one.status).toBe('Error');
		expect(one.message).toMatch(new RegExp(`^2 of 3 servers did not answer\\. ${down} did not answer: .*; http://127\\.0\\.0\\.1:7 did not answer: .*\\. The other server answered: ${fleet.urls[1]} `));
	});

	it('passes when every server answers', async () => {
		const result = await testServers({ servers: `${fleet.urls[0]} auth=bearer:tok-3141592\n${fleet.urls[1]}`, authentication: 'none' });
		expect(result).toEqual({ status: 'OK', message: expect.stringMatching(new RegExp(`^All 2 servers answered: ${fleet.urls[0]} \\(ComfyUI [^)]+\\), ${fleet.urls[1]} `)) });
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
		expect(result.message).toContain('All 3 servers answered:');
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

describe('S3-compatible credential test', () => {
	const { s3CompatibleApiTest } = new CloudImageStorage().methods.credentialTest;
	let s3: FauxqsHandle;
	const credential = (bucket: string) => ({
		preset: 'minio',
		endpoint: s3.endpoint,
		region: 'us-east-1',
		accessKeyId: 'cred-test',
		secretAccessKey: 'cred-test-secret-5772',
		sessionToken: '',
		bucket,
		publicUrlBase: '',
		addressingStyle: 'preset',
		checksumMode: 'preset',
	});
	const test = (bucket: string) => s3CompatibleApiTest.call({} as never, { id: '3', name: 's3', type: 's3CompatibleApi', data: credential(bucket) });

	beforeAll(async () => {
		s3 = await startFauxqs();
		const raw = rawS3Client(s3.endpoint);
		await raw.send(new CreateBucketCommand({ Bucket: 'cred-test' }));
		raw.destroy();
	});
	afterAll(() => s3?.close());

	it('passes on a bucket that exists, and names a missing bucket', async () => {
		expect(await test('cred-test')).toEqual({ status: 'OK', message: 'Bucket "cred-test" is reachable' });
		const missing = await test('absent-bucket-61');
		expect(missing).toEqual({ status: 'Error', message: 'Bucket "absent-bucket-61" was not found (The S3 server answered HTTP 404 [NotFound, HTTP 404]): check the Default Bucket, and the region or endpoint it lives at' });
		expect(missing.message).not.toContain('cred-test-secret-5772');
	});
});
