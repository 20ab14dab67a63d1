/**
 * Secrets under faults: distinctive values planted in every credential field (ComfyUI bearer token,
 * basic password — in the credential, a server line and a URL —, header value, Redis password, S3
 * secret key, Cloudflare API token, and wrong ones), a representative part of the fault matrix run
 * through both nodes in n8n's engine, and no secret in any log line, error or output item. Presigned
 * URLs are asked for here, so their signatures may be in the output — never in a log line.
 *
 * Servers that echo the credentials they were sent (in an execution error, in a 4xx body) do so raw,
 * JSON-escaped, URL-encoded and inside base64; a Basic value's base64 sits at another alignment for
 * each length of the user name mod 3. None of these forms, nor any long piece of them, may leave.
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
/** A header value a server echoes JSON-escaped. */
const QUOTED_HEADER_VALUE = 'sEcR3t-"quoted"\\hdr-R7tVk4';
/** User names of length 3, 4 and 5: the password starts at each offset mod 3 in `user:password`. */
const ALIGNED_USERS = ['ops', 'user', 'admin'];

const SECRETS = [BEARER, PASSWORD, HEADER_VALUE, QUOTED_HEADER_VALUE, REDIS_PASSWORD, WRONG_REDIS_PASSWORD, S3_SECRET, CF_TOKEN, WRONG_CF_TOKEN, WRONG_BEARER];

const b64 = (text: string) => Buffer.from(text).toString('base64');
const basicValue = (user: string) => `Basic ${b64(`${user}:${PASSWORD}`)}`;

/** An authentication a server requires and echoes. */
interface EchoedAuth {
	name: string;
	header: string;
	value: string;
	credential: Record<string, string>;
}
const ECHOED: EchoedAuth[] = [
	{ name: 'bearer', header: 'authorization', value: `Bearer ${BEARER}`, credential: { authentication: 'bearer', token: BEARER } },
	{ name: 'header with a quote and a backslash', header: 'x-api-key', value: QUOTED_HEADER_VALUE, credential: { authentication: 'header', headerName: 'X-Api-Key', headerValue: QUOTED_HEADER_VALUE } },
	...ALIGNED_USERS.map((user) => ({
		name: `basic, user name of length ${user.length} (${user.length % 3} mod 3)`,
		header: 'authorization',
		value: basicValue(user),
		credential: { authentication: 'basic', user, password: PASSWORD },
	})),
];

/**
 * Everything secret that travels on the wire, in every form a server echoes it (see the simulator's
 * `authEcho`): raw, JSON-escaped, URL-encoded, base64 of `user:password`, base64 of a JSON dump.
 */
const ENCODED = [
	...SECRETS.flatMap((s) => [encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]),
	...[USER, ...ALIGNED_USERS].map((user) => b64(`${user}:${PASSWORD}`)),
	...ECHOED.flatMap((e) => [b64(JSON.stringify({ [e.header]: e.value })), encodeURIComponent(e.value), JSON.stringify(e.value).slice(1, -1)]),
];

/** Any piece of `form` as long as `size`: a redaction that left part of a secret behind shows here. */
function pieces(form: string, size = 12): string[] {
	if (form.length <= size) return [form];
	return Array.from({ length: form.length - size + 1 }, (_, i) => form.slice(i, i + size));
}
const SECRET_PIECES = [...new Set([...SECRETS, ...ENCODED].flatMap((form) => pieces(form)))];

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

const redisWithPassword = () => redisCredential({ host: redis.host, port: redis.port, database: 0, password: REDIS_PASSWORD });

function keep(cell: CellResult): CellResult {
	runs.push(cell.result);
	return cell;
}

/** The pieces of secrets found in `text` (each one named, for a readable failure). */
function leaked(text: string): string[] {
	return SECRET_PIECES.filter((piece) => text.includes(piece));
}

/** No piece of a secret in the cells' runs (items, errors and their causes) nor in the lines logged since `fromLine`. */
function expectSealed(cells: CellResult[], fromLine: number): void {
	for (const cell of cells) expect(leaked(JSON.stringify(cell.result.run))).toEqual([]);
	for (const line of loggedLines().slice(fromLine)) expect({ line: line.message, leaked: leaked(`${line.message} ${JSON.stringify(line.meta ?? null)}`) }).toEqual({ line: line.message, leaked: [] });
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
				redis: redisCredential({ host: redis.host, port: redis.port, database: 0, password: WRONG_REDIS_PASSWORD }),
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
				redis: redisCredential({ host: own.host, port: own.port, database: 0, password: REDIS_PASSWORD }),
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

	it.each(ECHOED)('a server that echoes the credentials in an execution error ($name), with and without continueOnFail', async (auth) => {
		const from = loggedLines().length;
		const fleet = await matrix.fleet([sim({ requireAuth: { header: auth.header, value: auth.value } })]);
		fleet.servers[0].setExecutionError({ nodeClass: 'VAEDecode', message: 'Expected tensor of shape [1, 4, 8, 8]', echoAuth: true });
		const cluster = matrix.clusterCredential(fleet.urls, auth.credential);
		const continued = keep(await matrix.generate({ fleet, items: scenes(2, 45_000), cluster, redis: false, upload: false }));
		expect(expectSettled(continued).failed).toEqual([0, 1]);
		// The echo arrived through the real client, and only its secrets were taken out.
		expect(String(continued.generated[0].json.error)).toMatch(new RegExp(`Expected tensor of shape \\[1, 4, 8, 8\\] \\(${auth.header}: \\*\\*\\*; headers \\{"${auth.header}":"\\*\\*\\*"\\}; trace \\*\\*\\*; replay \\?${auth.header}=\\*\\*\\*\\)`));
		const failed = keep(await matrix.generate({ fleet, items: scenes(1, 45_100), cluster, redis: false, upload: false, continueOnFail: false }));
		expect(failed.result.status).toBe('error');
		expect(failed.result.nodeError('Generate')?.message).toMatch(/Expected tensor of shape .*trace \*\*\*/);
		expectSealed([continued, failed], from);
	});

	it('servers that echo the credentials in a 4xx body: every kind of authentication on one cluster', async () => {
		const from = loggedLines().length;
		const fleet = await matrix.fleet(ECHOED.map((auth) => sim({ requireAuth: { header: auth.header, value: auth.value } })));
		for (const server of fleet.servers) server.setHttpErrors({ routes: ['/prompt'], status: 403, rate: 1, echoAuth: true });
		const lines = ECHOED.map((auth, i) => {
			const c = auth.credential;
			const option = c.authentication === 'bearer' ? `bearer:${c.token}` : c.authentication === 'basic' ? `basic:${c.user}:${c.password}` : `header:${c.headerName}:${c.headerValue}`;
			return `${fleet.urls[i]} auth=${option}`;
		});
		const cell = keep(await matrix.generate({ fleet, items: scenes(2, 46_000), cluster: matrix.clusterCredential(lines), redis: redisWithPassword(), upload: false, options: { maxAttempts: ECHOED.length } }));
		expect(expectSettled(cell).failed).toEqual([0, 1]);
		expect(String(cell.generated[0].json.error)).toMatch(/HTTP 403 \(403: Simulated error; (authorization|x-api-key): \*\*\*; headers/);
		expectSealed([cell], from);
	});

	it('scenes the server refuses as invalid, that no server can run, and cancelled ones', async () => {
		const fleet = await matrix.fleet([sim({ lacks: ['ImageInvert'], requireAuth: { header: 'Authorization', value: `Bearer ${BEARER}` } })]);
		const cluster = matrix.clusterCredential(fleet.urls, { authentication: 'bearer', token: BEARER });
		const items = scenes(2, 47_000);
		// ComfyUI refuses a denoise above 1 (HTTP 400, node_errors); nothing checks it before.
		const invalid = JSON.parse(graph()) as Record<string, { inputs: Record<string, unknown> }>;
		invalid['3'].inputs.denoise = 5;
		items[0] = { ...items[0], workflow: JSON.stringify(invalid) };
		items[1] = { ...items[1], workflow: graph({ invert: true }) };
		const failing = keep(await matrix.generate({ fleet, items, cluster, redis: false, upload: false }));
		expect(expectSettled(failing).failed).toEqual([0, 1]);
		const cancelled = keep(
			await matrix.generate({
				fleet,
				items: scenes(2, 47_100, { steps: 400 }),
				cluster,
				redis: false,
				upload: false,
				onStart: (cancel) => when(() => fleet.servers[0].records.started.length > 0, cancel),
			}),
		);
		expect(cancelled.result.status).not.toBe('success');
	});

	it('no secret in any output item, error or log line; presigned signatures only in the outputs that asked for them', () => {
		expect(runs.length).toBeGreaterThanOrEqual(9 + 2 * ECHOED.length + 1 + 2);
		for (const run of runs) expect(leaked(JSON.stringify(run.run))).toEqual([]);
		const signatures = runs.flatMap((run) => [...JSON.stringify(run.run).matchAll(/X-Amz-Signature=([0-9a-f]{64})/g)].map((m) => m[1]));
		expect(signatures.length).toBeGreaterThanOrEqual(15);
		const lines = loggedLines().slice(firstLine);
		expect(lines.some((l) => /failed|unreachable|refused/i.test(l.message))).toBe(true);
		// A log line for every kind of failure: execution (echoed), transient (echoed 4xx; crash), incapable, invalid, cancelled.
		const failures = lines.filter((l) => /^Generate: scene \d+ failed/.test(l.message)).map((l) => l.message);
		for (const kind of [/Expected tensor .*trace \*\*\*/, /HTTP 403 \(403: Simulated error; .*\*\*\*/, /ImageInvert/, /denoise/, /cancelled/i, /refused|closed the connection|could not be reached/]) {
			expect({ kind: String(kind), logged: failures.some((m) => kind.test(m)) }).toEqual({ kind: String(kind), logged: true });
		}
		for (const line of lines) {
			const text = `${line.message} ${JSON.stringify(line.meta ?? null)}`;
			expect({ line: line.message, leaked: leaked(text), signature: signatures.some((sig) => text.includes(sig)) }).toEqual({ line: line.message, leaked: [], signature: false });
			expect(text).not.toMatch(/X-Amz-Signature=/);
		}
	});
});
