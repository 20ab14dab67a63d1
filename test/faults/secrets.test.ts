/**
 * Secrets under faults: distinctive values planted in every credential field (ComfyUI bearer token,
 * basic password — in the credential, a server line and a URL —, header value, Redis password, S3
 * secret key, Cloudflare API token, and wrong ones), a representative part of the fault matrix run
 * through both nodes in n8n's engine, and no secret in any log line, error or output item. Presigned
 * URLs are asked for here, so their signatures may be in the output — never in a log line.
 */
import { startCloudflareImagesFake, type CloudflareImagesFake } from '../fakes/cloudflareImages';
import { loggedLines, type RunResult } from '../workflow/harness';
import type { Fleet } from '../sim';
import { expectSettled, graph, redisCredential, scenes, sim, startThrowawayRedis, useMatrix, when, type CellResult, type ThrowawayRedis } from './matrix';

const BEARER = 'sEcR3t-bearer-Q7vXa1';
const USER = 'matrix-user';
const PASSWORD = 'sEcR3t-basic-K2mWb2';
const HEADER = 'X-Api-Key';
const HEADER_VALUE = 'sEcR3t-header-P9zLc3';
const REDIS_PASSWORD = 'sEcR3t-redis-H4nBd4';
const WRONG_REDIS_PASSWORD = 'sEcR3t-wrongredis-V5ke5';
const S3_SECRET = 'sEcR3t-s3secret-T6yRf6';
const CF_TOKEN = 'sEcR3t-cftoken-M1dQg7';
const WRONG_CF_TOKEN = 'sEcR3t-wrongcf-B8xJh8';
const WRONG_BEARER = 'sEcR3t-wrongbearer-N3qWi9';

const SECRETS = [BEARER, PASSWORD, HEADER_VALUE, REDIS_PASSWORD, WRONG_REDIS_PASSWORD, S3_SECRET, CF_TOKEN, WRONG_CF_TOKEN, WRONG_BEARER];
// What travels on the wire may leak in encoded form too.
const ENCODED = [Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), encodeURIComponent(PASSWORD)];

const matrix = useMatrix();
let cf: CloudflareImagesFake;
let redis: ThrowawayRedis;
const runs: RunResult[] = [];
const firstLine = loggedLines().length;

beforeAll(async () => {
	cf = await startCloudflareImagesFake({ token: CF_TOKEN });
	redis = await startThrowawayRedis({ password: REDIS_PASSWORD });
});
afterAll(async () => {
	await cf?.close();
	await redis?.kill();
});

/** Three servers, each behind its own kind of authentication. */
function securedFleet(): Promise<Fleet> {
	return matrix.fleet([
		sim({ requireAuth: { header: 'Authorization', value: `Bearer ${BEARER}` } }),
		sim({ requireAuth: { header: 'Authorization', value: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } }),
		sim({ requireAuth: { header: HEADER, value: HEADER_VALUE } }),
	]);
}

type Variant = 'bearer' | 'basic' | 'header';

/** The credential's own authentication is `variant`; the other servers carry theirs on their line (or in the URL). */
function securedCluster(fleet: Fleet, variant: Variant) {
	const [bearer, basic, header] = fleet.urls;
	const lines = [
		variant === 'bearer' ? bearer : `${bearer} auth=bearer:${BEARER}`,
		variant === 'basic' ? basic : variant === 'header' ? basic.replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`) : `${basic} auth=basic:${USER}:${PASSWORD}`,
		variant === 'header' ? header : `${header} auth=header:${HEADER}:${HEADER_VALUE}`,
	];
	const auth: Record<string, string> =
		variant === 'bearer'
			? { authentication: 'bearer', token: BEARER }
			: variant === 'basic'
				? { authentication: 'basic', user: USER, password: PASSWORD }
				: { authentication: 'header', headerName: HEADER, headerValue: HEADER_VALUE };
	return matrix.clusterCredential(lines, auth);
}

const redisWithPassword = () => redisCredential({ port: redis.port, database: 0, password: REDIS_PASSWORD });

function keep(cell: CellResult): CellResult {
	runs.push(cell.result);
	return cell;
}

describe('secrets under faults', () => {
	it.each<Variant>(['bearer', 'basic', 'header'])('%s credential: crash mid-scene, 5xx and an invalid item, with Redis behind a password and presigned URLs', async (variant) => {
		const fleet = await securedFleet();
		const [crashing, erroring] = fleet.servers;
		erroring.setHttpErrors({ routes: ['/prompt'], status: 503, rate: 0.5 });
		const items = scenes(6, 40_000 + 100 * ['bearer', 'basic', 'header'].indexOf(variant), { steps: 20 });
		items[5] = { ...items[5], workflow: graph({ ckpt: 'not-installed.safetensors' }) };
		const cell = keep(
			await matrix.generate({
				fleet,
				items,
				cluster: securedCluster(fleet, variant),
				redis: redisWithPassword(),
				presigned: true,
				s3: { secretAccessKey: S3_SECRET },
				options: { maxAttempts: 5 },
				onStart: () => when(() => crashing.records.started.length > 0, () => crashing.crash()),
			}),
		);
		const { ok, failed } = expectSettled(cell);
		expect(failed).toEqual([5]);
		expect(ok).toHaveLength(5);
		expect(cell.stored.filter((i) => String(i.json.url).includes('X-Amz-Signature='))).toHaveLength(5);
	});

	it('wrong tokens: every scene fails with 401, the wrong token is not echoed', async () => {
		const fleet = await securedFleet();
		const cluster = matrix.clusterCredential(fleet.urls, { authentication: 'bearer', token: WRONG_BEARER });
		const cell = keep(await matrix.generate({ fleet, items: scenes(2, 41_000), cluster, redis: false, options: { maxAttempts: 1 } }));
		const { failed } = expectSettled(cell);
		expect(failed).toEqual([0, 1]);
		expect(String(cell.generated[0].json.error)).toMatch(/401/);
	});

	it('every server down, continueOnFail off, Redis with a wrong password', async () => {
		const fleet = await securedFleet();
		for (const s of fleet.servers) s.crash();
		const cell = keep(
			await matrix.generate({
				fleet,
				items: scenes(2, 42_000),
				continueOnFail: false,
				cluster: securedCluster(fleet, 'basic'),
				redis: redisCredential({ port: redis.port, database: 0, password: WRONG_REDIS_PASSWORD }),
				options: { maxAttempts: 1 },
			}),
		);
		expect(cell.result.status).toBe('error');
	});

	it('Redis behind a password killed mid-run', async () => {
		const own = await startThrowawayRedis({ password: REDIS_PASSWORD });
		matrix.later(() => own.kill());
		const fleet = await securedFleet();
		const cell = keep(
			await matrix.generate({
				fleet,
				items: scenes(6, 43_000, { steps: 20 }),
				cluster: securedCluster(fleet, 'header'),
				redis: redisCredential({ port: own.port, database: 0, password: REDIS_PASSWORD }),
				onStart: () => when(() => fleet.servers.some((s) => s.records.started.length > 0), () => own.kill()),
			}),
		);
		expect(expectSettled(cell).ok).toHaveLength(6);
	});

	it('storage faults: S3 503 then a missing bucket with the planted secret key; Cloudflare 429, 5413 and a wrong token', async () => {
		const fleet = await matrix.fleet([sim()]);
		const cfCredential = { apiBaseUrl: cf.apiBaseUrl, batchBaseUrl: cf.batchBaseUrl, accountId: cf.accountId, apiToken: CF_TOKEN };
		await matrix.s3.control({ failPuts: 2, retryAfter: 0 });
		keep(await matrix.generate({ fleet, items: scenes(2, 44_000), redis: false, presigned: true, s3: { secretAccessKey: S3_SECRET } }));
		keep(await matrix.generate({ fleet, items: scenes(1, 44_100), redis: false, s3: { secretAccessKey: S3_SECRET, bucket: 'absent-bucket' } }));
		cf.rateLimitNext(1, 1);
		cf.failNextUploads(1, 413, 5413);
		const cloudflare = keep(await matrix.generate({ fleet, items: scenes(2, 44_200), redis: false, upload: 'cloudflare', cloudflare: cfCredential }));
		expect(cloudflare.stored.filter((i) => i.json.error !== undefined)).toHaveLength(1);
		const wrong = keep(await matrix.generate({ fleet, items: scenes(1, 44_300), redis: false, upload: 'cloudflare', cloudflare: { ...cfCredential, apiToken: WRONG_CF_TOKEN } }));
		expect(String(wrong.stored[0].json.error)).toMatch(/Authentication error/);
	});

	it('no secret in any output item, error or log line; presigned signatures only in the outputs that asked for them', () => {
		expect(runs.length).toBeGreaterThanOrEqual(9);
		for (const run of runs) {
			const everything = JSON.stringify(run.run);
			for (const secret of [...SECRETS, ...ENCODED]) expect({ secret, found: everything.includes(secret) }).toEqual({ secret, found: false });
		}
		const signatures = runs.flatMap((run) => [...JSON.stringify(run.run).matchAll(/X-Amz-Signature=([0-9a-f]{64})/g)].map((m) => m[1]));
		expect(signatures.length).toBeGreaterThanOrEqual(15);
		const lines = loggedLines().slice(firstLine);
		expect(lines.some((l) => /failed|unreachable|refused/i.test(l.message))).toBe(true);
		for (const line of lines) {
			const text = `${line.message} ${JSON.stringify(line.meta ?? null)}`;
			for (const secret of [...SECRETS, ...ENCODED, ...signatures]) expect({ line: line.message, leaked: text.includes(secret) }).toEqual({ line: line.message, leaked: false });
			expect(text).not.toMatch(/X-Amz-Signature=/);
		}
	});
});
