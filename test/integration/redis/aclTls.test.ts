/**
 * The Redis credential's User, Password, SSL and Ignore SSL Issues against real servers that listen
 * only on TLS (a CA and a server certificate made by openssl in a temporary directory) and disable
 * the default user: the one ACL user may touch only the keys under the cluster state's prefix.
 * Proves, through the node's credential test and through batches on the RedisConfig the node builds
 * from the credential's fields: the right User and Password pass, a wrong password or a missing
 * User fail with a clear message that contains no password; SSL is what opens the TLS port;
 * certificates are checked unless Ignore SSL Issues is on, and a CA the process trusts
 * (NODE_EXTRA_CA_CERTS, in a worker process) passes the check; the engine keeps to its own keys;
 * and Sentinel mode reaches sentinels and master over TLS when SSL is on.
 */
import { readFileSync } from 'fs';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { clusterConfig, redisFromCredential } from '../../../nodes/ComfyUiCluster/helpers/engine';
import { ComfyUiCluster } from '../../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { runBatch } from '../../../src/cluster';
import { closeAllRuntimes, getRuntime } from '../../../src/cluster/runtime';
import { startFleet, type Fleet } from '../../sim';
import { freePort } from '../../setup/redis';
import { CHECKPOINTS, FAST_BACKOFF, scenes } from '../batch/helpers';
import { killWorkers, startWorker } from '../batch/workers';
import { expectEverySceneOnce, seedsOf } from './checks';
import { makeCertificates, Topology, type Certificates } from './servers';

// Well under a minute on an idle 2-core machine; the margin is for ts-node compiling workers under load.
jest.setTimeout(120_000);

const USER = 'comfy-worker';
const PASSWORD = 'sEcR3t-acl-W9pXe2';
const WRONG_PASSWORD = 'sEcR3t-wrong-J4kQz7';
const ADMIN_PASSWORD = 'sEcR3t-admin-T5vLm8';
/** The only keys the ACL user may touch: the cluster state's prefix. */
const STATE_PREFIX = 'acl-state';

const { credentialTest } = new ComfyUiCluster().methods;
const testRedis = (data: ICredentialDataDecryptedObject) =>
	credentialTest.comfyUiClusterRedisTest.call({} as never, { id: '2', name: 'redis', type: 'comfyUiClusterRedisApi', data });

let topology: Topology;
let certs: Certificates;
let ca: Buffer;
let port: number;
let fleet: Fleet | undefined;

/** TLS directives of redis-server (port 0: no plain-text port), as name and value. */
const tls = (tlsPort: number): Array<[string, string]> => [
	['port', '0'],
	['tls-port', String(tlsPort)],
	['tls-cert-file', certs.cert],
	['tls-key-file', certs.key],
	['tls-ca-cert-file', certs.ca],
	['tls-auth-clients', 'no'],
];
/** How the test itself reaches the server: the admin user, trusting the CA. */
const admin = () => ({ tls: { ca }, username: 'admin', password: ADMIN_PASSWORD });

beforeAll(async () => {
	topology = new Topology();
	certs = await makeCertificates(topology);
	ca = readFileSync(certs.ca);
	const acl = topology.file(
		'users.acl',
		['user default off', `user admin on >${ADMIN_PASSWORD} ~* &* +@all`, `user ${USER} on >${PASSWORD} ~${STATE_PREFIX}:* resetchannels +@all`, ''].join('\n'),
	);
	port = await freePort();
	await topology.redis([...tls(port).flatMap(([name, value]) => [`--${name}`, value]), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--aclfile', acl], port, admin());
});

afterEach(async () => {
	killWorkers();
	await closeAllRuntimes();
	await fleet?.stop();
	fleet = undefined;
});

afterAll(() => topology?.stop());

/** The credential as the dialog saves it. */
const credential = (extra: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject => ({
	mode: 'single',
	host: '127.0.0.1',
	port,
	database: 0,
	user: USER,
	password: PASSWORD,
	ssl: true,
	disableTlsVerification: true,
	...extra,
});

const expectNoPassword = (message: string | undefined) => {
	for (const secret of [PASSWORD, WRONG_PASSWORD, ADMIN_PASSWORD]) expect(message).not.toContain(secret);
};

describe('the credential test', () => {
	it('passes with the ACL user and its password over TLS, the certificate not checked (Ignore SSL Issues)', async () => {
		expect(await testRedis(credential())).toEqual({ status: 'OK', message: 'Redis answered PONG' });
	});

	it('fails on a wrong password, saying Redis refused User and Password, naming no password', async () => {
		const result = await testRedis(credential({ password: WRONG_PASSWORD }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Redis refused the login \(WRONGPASS [^)]*\): check User and Password$/);
		expectNoPassword(result.message);
	});

	it('fails without the User: the default user is off, so the password alone opens nothing', async () => {
		const result = await testRedis(credential({ user: '' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Redis refused the login \(WRONGPASS/);
		expectNoPassword(result.message);
	});

	it('checks the certificate unless Ignore SSL Issues is on: a CA this process does not trust fails, naming the fix', async () => {
		const result = await testRedis(credential({ disableTlsVerification: false }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Redis's TLS certificate is not trusted \(.*certificate.*\): turn on Ignore SSL Issues/);
		expectNoPassword(result.message);
	});

	it('fails with SSL off: the server speaks only TLS', async () => {
		const startedAt = Date.now();
		const result = await testRedis(credential({ ssl: false }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Redis did not answer/);
		expectNoPassword(result.message);
		expect(Date.now() - startedAt).toBeLessThan(6_000);
	});
});

describe('batches on the RedisConfig the node builds from the credential', () => {
	const servers = async () => {
		fleet = await startFleet([{ msPerStep: 5, models: CHECKPOINTS }, { msPerStep: 5, models: CHECKPOINTS }]);
		return fleet.urls.map((url) => `${url} max=1`).join('\n');
	};

	it('in this process, with Ignore SSL Issues: the state is in Redis, under the prefix the ACL user may touch', async () => {
		const warnings: string[] = [];
		const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m) };
		const config = clusterConfig({ servers: await servers(), authentication: 'none', statePrefix: STATE_PREFIX }, credential());
		const runtime = await getRuntime(config, logger);
		const outcomes = await runBatch(runtime, scenes(6, { base: 3000 }), { strategy: 'leastLoaded', refreshMs: 100, backoff: FAST_BACKOFF });
		expect(outcomes.filter((o) => !o.ok)).toEqual([]);
		expect(runtime.activeStore()).toBe('redis');
		expect(warnings).toEqual([]);
		const keys = (await topology.client({ port }, admin()).keys('*')).sort();
		expect(keys.length).toBeGreaterThanOrEqual(3);
		for (const key of keys) expect(key.startsWith(`${STATE_PREFIX}:{${runtime.hash}}:`)).toBe(true);
	});

	it('in a worker process that trusts the CA (NODE_EXTRA_CA_CERTS), certificates checked', async () => {
		const redis = redisFromCredential(credential({ disableTlsVerification: false }));
		expect(redis.tls).toBe(true);
		const worker = startWorker({ servers: await servers(), redis, keyPrefix: STATE_PREFIX, count: 6, steps: 5, base: 4000 }, { NODE_EXTRA_CA_CERTS: certs.ca });
		const report = await worker.report;
		expectEverySceneOnce(fleet!, [report], seedsOf(4000, 6));
		expect(worker.warnings()).toEqual([]);
	});
});

describe('Sentinel mode with SSL', () => {
	it('reaches a sentinel that speaks only TLS, then the master it names over TLS, as the ACL user', async () => {
		const sentinelPort = await freePort();
		const config = topology.file(
			'sentinel-tls.conf',
			[
				...tls(sentinelPort).map(([name, value]) => `${name} ${value}`),
				// The sentinel reaches the master over TLS too, as its admin.
				'tls-replication yes',
				'bind 127.0.0.1',
				`dir ${topology.dir}`,
				`sentinel monitor tls-group 127.0.0.1 ${port} 1`,
				'sentinel auth-user tls-group admin',
				`sentinel auth-pass tls-group ${ADMIN_PASSWORD}`,
				'',
			].join('\n'),
		);
		await topology.redis([config, '--sentinel'], sentinelPort, { tls: { ca } });
		const result = await testRedis(credential({ mode: 'sentinel', sentinels: `127.0.0.1:${sentinelPort}`, sentinelName: 'tls-group' }));
		expect(result).toEqual({ status: 'OK', message: 'Redis answered PONG' });
	});
});
