/**
 * The fault matrix's shared pieces: each cell runs a workflow (Items → ComfyUI Cluster → Cloud Image
 * Storage) in n8n's engine against its own simulator fleet, the test Redis (own key prefix, deleted
 * afterwards) and local S3 (fauxqs), then checks the four promises:
 *
 * 1. every input item ends as a success or a clear error item (or the node error names the item);
 * 2. no scene runs twice (the simulators' `records.started`, traced by a unique seed per scene);
 * 3. no prompt is left queued or running on any server;
 * 4. uploads are neither lost nor doubled (objects in the bucket, PUTs fauxqs received).
 */
import { createServer, request, type Server } from 'http';
import type { AddressInfo } from 'net';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData, NodeOperationError } from 'n8n-workflow';
import { CloudflareImagesApi } from '../../credentials/CloudflareImagesApi.credentials';
import { ComfyUiClusterApi } from '../../credentials/ComfyUiClusterApi.credentials';
import { ComfyUiClusterRedisApi } from '../../credentials/ComfyUiClusterRedisApi.credentials';
import { S3CompatibleApi } from '../../credentials/S3CompatibleApi.credentials';
import { CloudImageStorage } from '../../nodes/CloudImageStorage/CloudImageStorage.node';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import { startCloudflareImagesFake, type CloudflareImagesFake } from '../fakes/cloudflareImages';
import { startFauxqs, type FauxqsHandle } from '../fakes/fauxqs';
import { defaultCatalogue, startFleet, type ComfyUiSimulator, type Fleet, type SimulatorOptions } from '../sim';
import { chain, node, NodeTypes, runWorkflow, type RunResult } from '../workflow/harness';
import { deleteKeysUnder, TEST_REDIS } from '../setup/redis';

export const CHECKPOINT = 'v1-5-pruned-emaonly.safetensors';
export const OTHER_CHECKPOINT = 'sdxl-base-1.0.safetensors';
export const BUCKET = 'fault-matrix';

export const nodeTypes = new NodeTypes([new ComfyUiCluster(), new CloudImageStorage()]);
export const credentialTypes = [new ComfyUiClusterApi(), new ComfyUiClusterRedisApi(), new S3CompatibleApi(), new CloudflareImagesApi()];

// ── workflows ────────────────────────────────────────────────────────────────────────────────

/** A txt2img API graph; `invert` adds an ImageInvert node between decode and save (for missing-class cells). */
export function graph(options: { ckpt?: string; invert?: boolean } = {}): string {
	const g: Record<string, unknown> = {
		'3': { class_type: 'KSampler', _meta: { title: 'Sampler' }, inputs: { seed: 1, steps: 4, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
		'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: options.ckpt ?? CHECKPOINT } },
		'5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
		'6': { class_type: 'CLIPTextEncode', _meta: { title: 'Positive Prompt' }, inputs: { text: 'a lighthouse', clip: ['4', 1] } },
		'7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
		'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
		'9': { class_type: 'SaveImage', inputs: { filename_prefix: 'matrix', images: [options.invert ? '10' : '8', 0] } },
	};
	if (options.invert) g['10'] = { class_type: 'ImageInvert', inputs: { image: ['8', 0] } };
	return JSON.stringify(g);
}

const DEFAULT_GRAPH = graph();

/** One input item per scene: a seed unique to the scene (how its runs are traced), steps, and optionally its own graph. */
export interface Scene {
	seed: number;
	steps?: number;
	workflow?: string;
	sampler?: string;
}

export function scenes(count: number, base: number, extra: Partial<Scene> = {}): Scene[] {
	return Array.from({ length: count }, (_, i) => ({ seed: base + i, steps: 6, ...extra }));
}

// ── fleets, credentials, Redis ──────────────────────────────────────────────────────────────

/** A simulator that knows the test checkpoint; `lacks` removes node classes from its catalogue. */
export function sim(options: SimulatorOptions & { lacks?: string[] } = {}): SimulatorOptions {
	const { lacks, ...rest } = options;
	const catalogue = lacks ? defaultCatalogue() : undefined;
	for (const name of lacks ?? []) delete catalogue![name];
	return { msPerStep: 8, models: { checkpoints: [CHECKPOINT] }, ...(catalogue ? { catalogue } : {}), ...rest };
}

export function uniquePrefix(name: string): string {
	return `test-faults-${name}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export function redisCredential(extra: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
	return { mode: 'single', host: TEST_REDIS.host, port: TEST_REDIS.port, database: TEST_REDIS.db, user: '', password: '', ssl: false, ...extra };
}

/** Deletes every key under a prefix in the test database. */
export async function deleteKeys(prefix: string): Promise<void> {
	await deleteKeysUnder(prefix);
}

export { freePort, startThrowawayRedis, THROWAWAY_REDIS_HOST, type ThrowawayRedis } from '../setup/redis';

// ── S3: a fault proxy for statuses fauxqs cannot play (429) ─────────────────────────────────

export interface S3FaultProxy {
	endpoint: string;
	/** The next `count` PUTs answer `status` with an S3 error body and `Retry-After`. */
	failNextPuts(count: number, status: number, code: string, retryAfterSeconds?: number): void;
	failed(): number;
	close(): Promise<void>;
}

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
	const upstream = new URL(target);
	let failing = { count: 0, status: 429, code: 'SlowDown', retryAfter: -1 };
	let failed = 0;
	const server: Server = createServer((req, res) => {
		if (req.method === 'PUT' && failing.count > 0) {
			failing.count--;
			failed++;
			req.resume();
			req.on('end', () => {
				const headers: Record<string, string> = { 'content-type': 'application/xml' };
				if (failing.retryAfter >= 0) headers['retry-after'] = String(failing.retryAfter);
				res.writeHead(failing.status, headers);
				res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${failing.code}</Code><Message>Please reduce your request rate.</Message></Error>`);
			});
			return;
		}
		const forward = request(
			{ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
			(answer) => {
				res.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(res);
			},
		);
		forward.on('error', () => {
			if (!res.headersSent) res.writeHead(502);
			res.end();
		});
		req.pipe(forward);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		endpoint: `http://127.0.0.1:${port}`,
		failNextPuts: (count, status, code, retryAfter = -1) => {
			failing = { count, status, code, retryAfter };
		},
		failed: () => failed,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

// ── one file's environment ──────────────────────────────────────────────────────────────────

export interface GenerateRun {
	fleet: Fleet;
	items: Scene[];
	/** ComfyUI Cluster credential (default: the fleet, no auth, a fresh state prefix). */
	cluster?: ICredentialDataDecryptedObject;
	/** Redis credential (default: the test Redis); `false` keeps the state in memory. */
	redis?: ICredentialDataDecryptedObject | false;
	continueOnFail?: boolean;
	/** Scene options of the node (seconds for timeouts). */
	options?: IDataObject;
	/** Where every output goes (default S3, the fauxqs bucket); false = no upload node. */
	upload?: 's3' | 'cloudflare' | false;
	/** S3 credential overrides for the upload (e.g. another endpoint). */
	s3?: ICredentialDataDecryptedObject;
	/** Cloudflare Images credential overrides (e.g. a wrong token). */
	cloudflare?: ICredentialDataDecryptedObject;
	/** Options of the upload node. */
	uploadOptions?: IDataObject;
	/** Prefix of object keys / image IDs (default: unique per run). */
	keyPrefix?: string;
	/** Return presigned URLs instead of public ones (S3). */
	presigned?: boolean;
	onStart?: (cancel: () => void) => void;
}

export interface CellResult {
	result: RunResult;
	items: Scene[];
	/** Output of the ComfyUI Cluster node. */
	generated: INodeExecutionData[];
	/** Output of the Cloud Image Storage node. */
	stored: INodeExecutionData[];
	/** Prefix of every object key this run wrote. */
	keyPrefix: string;
	/** PUT requests fauxqs received during the run. */
	puts: number;
}

export class Matrix {
	s3!: FauxqsHandle;
	raw!: S3Client;
	cf!: CloudflareImagesFake;
	private fleets: Fleet[] = [];
	private prefixes: string[] = [];
	private cleanups: Array<() => Promise<void>> = [];

	async setUp(): Promise<void> {
		this.s3 = await startFauxqs();
		this.raw = new S3Client({
			endpoint: this.s3.endpoint,
			region: 'us-east-1',
			forcePathStyle: true,
			credentials: { accessKeyId: 'matrix', secretAccessKey: 'matrix' },
			requestChecksumCalculation: 'WHEN_REQUIRED',
			responseChecksumValidation: 'WHEN_REQUIRED',
		});
		await this.raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
		this.cf = await startCloudflareImagesFake();
	}

	async afterEach(): Promise<void> {
		await closeAllRuntimes();
		await Promise.all(this.fleets.map((f) => f.stop()));
		this.fleets = [];
		for (const cleanup of this.cleanups.splice(0)) await cleanup().catch(() => undefined);
		for (const prefix of this.prefixes.splice(0)) await deleteKeys(prefix);
	}

	async tearDown(): Promise<void> {
		await this.afterEach();
		this.raw?.destroy();
		await this.s3?.close();
		await this.cf?.close();
	}

	/** Runs `fn` after the current test (servers, proxies, child processes). */
	later(fn: () => Promise<void>): void {
		this.cleanups.push(fn);
	}

	async fleet(specs: SimulatorOptions[]): Promise<Fleet> {
		const fleet = await startFleet(specs);
		this.fleets.push(fleet);
		return fleet;
	}

	clusterCredential(lines: readonly string[], extra: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
		const statePrefix = uniquePrefix('state');
		this.prefixes.push(statePrefix);
		return { servers: lines.join('\n'), authentication: 'none', statePrefix, ...extra };
	}

	s3Credential(extra: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
		return {
			preset: 'minio',
			endpoint: this.s3.endpoint,
			region: 'us-east-1',
			accessKeyId: 'matrix',
			secretAccessKey: 'matrix-secret',
			sessionToken: '',
			bucket: BUCKET,
			publicUrlBase: '',
			addressingStyle: 'preset',
			checksumMode: 'preset',
			...extra,
		};
	}

	cloudflareCredential(extra: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
		return { accountId: this.cf.accountId, apiToken: this.cf.token, deliveryDomain: '', accountHash: '', apiBaseUrl: this.cf.apiBaseUrl, batchBaseUrl: this.cf.batchBaseUrl, ...extra };
	}

	/** Items → Generate → Upload (S3 or Cloudflare Images), in n8n's engine. */
	async generate(run: GenerateRun): Promise<CellResult> {
		const continueOnFail = run.continueOnFail ?? true;
		const keyPrefix = run.keyPrefix ?? uniquePrefix('obj');
		const cluster = run.cluster ?? this.clusterCredential(run.fleet.urls);
		const redis = run.redis === undefined ? redisCredential() : run.redis;
		const upload = run.upload ?? 's3';
		const uploadParameters =
			upload === 'cloudflare'
				? { provider: 'cloudflareImages', operation: 'upload', imageId: `${keyPrefix}/{{itemIndex}}`, variant: 'public', options: { retryDelayMs: 20, ratePerSecond: 50, ...run.uploadOptions } }
				: {
						provider: 's3',
						operation: 'upload',
						keyTemplate: `${keyPrefix}/{{itemIndex}}-{{property}}.{{ext}}`,
						urlKind: run.presigned ? 'presigned' : 'public',
						options: { retryDelayMs: 20, ...run.uploadOptions },
					};
		const nodes = [
			node('Scenes', 'test.items', { items: JSON.stringify(run.items.map((s) => ({ json: { workflow: DEFAULT_GRAPH, ...s } }))) }),
			node(
				'Generate',
				'comfyUiCluster',
				{
					operation: 'generate',
					workflow: '={{ $json.workflow }}',
					overrides: {
						override: [
							{ node: 'Sampler', input: 'seed', value: '={{ $json.seed }}' },
							{ node: 'Sampler', input: 'steps', value: '={{ $json.steps ?? 4 }}' },
							{ node: 'Sampler', input: 'sampler_name', value: '={{ $json.sampler ?? "euler" }}' },
							{ node: 'Positive Prompt', input: 'text', value: '=scene with seed {{ $json.seed }}' },
						],
					},
					options: { queueWaitTimeout: 30, inactivityTimeout: 5, totalTimeout: 30, ...run.options },
				},
				{
					credentials: {
						comfyUiClusterApi: { id: 'c1', name: 'cluster' },
						...(redis ? { comfyUiClusterRedisApi: { id: 'r1', name: 'redis' } } : {}),
					},
					...(continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
				},
			),
			node(
				'Upload',
				'cloudImageStorage',
				uploadParameters,
				{ credentials: { s3CompatibleApi: { id: 's1', name: 's3' }, cloudflareImagesApi: { id: 'f1', name: 'cf' } }, onError: 'continueRegularOutput' },
			),
		];
		const credentials: Record<string, ICredentialDataDecryptedObject> = {
			comfyUiClusterApi: cluster,
			s3CompatibleApi: this.s3Credential(run.s3),
			cloudflareImagesApi: this.cloudflareCredential(run.cloudflare),
		};
		if (redis) credentials.comfyUiClusterRedisApi = redis;
		const before = (await this.s3.stats()).counts.PUT ?? 0;
		const result = await runWorkflow({
			nodes: upload ? nodes : nodes.slice(0, 2),
			connections: upload ? chain('Scenes', 'Generate', 'Upload') : chain('Scenes', 'Generate'),
			nodeTypes,
			credentialTypes,
			credentials,
			timeoutMs: 45_000,
			onStart: run.onStart,
		});
		const puts = ((await this.s3.stats()).counts.PUT ?? 0) - before;
		return { result, items: run.items, generated: result.output('Generate'), stored: result.output('Upload'), keyPrefix, puts };
	}

	async objectKeys(prefix: string): Promise<string[]> {
		const listed = await this.raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
		return (listed.Contents ?? []).map((o) => String(o.Key)).sort();
	}
}

/** One Matrix per test file, with its jest hooks. */
export function useMatrix(): Matrix {
	const matrix = new Matrix();
	beforeAll(() => matrix.setUp());
	afterEach(() => matrix.afterEach());
	afterAll(() => matrix.tearDown());
	return matrix;
}

// ── the four promises ───────────────────────────────────────────────────────────────────────

export interface Settled {
	ok: number[];
	failed: number[];
}

/**
 * Promise 1 with continueOnFail: one output per input, in order, each a success (server, PNG) or an
 * error naming its scene (`Scene i failed: …`) and the servers tried.
 */
export function expectSettled(cell: CellResult): Settled {
	expect(cell.result.status).toBe('success');
	expect(cell.generated).toHaveLength(cell.items.length);
	const settled: Settled = { ok: [], failed: [] };
	cell.generated.forEach((item, i) => {
		expect(item.pairedItem).toEqual({ item: i });
		if (item.json.error !== undefined) {
			expect(String(item.json.error)).toMatch(new RegExp(`^(Scene ${i} failed: |Item ${i}, )\\S`));
			expect(item.binary).toBeUndefined();
			settled.failed.push(i);
		} else {
			expect(typeof item.json.server).toBe('string');
			expect(item.binary?.image_0?.mimeType).toBe('image/png');
			settled.ok.push(i);
		}
	});
	return settled;
}

/** Promise 1 without continueOnFail: the run fails with a node error that names the item. */
export function expectNodeErrorNamesItem(cell: CellResult): number {
	expect(cell.result.status).toBe('error');
	const error = cell.result.nodeError('Generate') as NodeOperationError | undefined;
	expect(error).toBeDefined();
	const match = /^(?:Scene (\d+) failed: |Item (\d+), )/.exec(error!.message);
	expect(match).not.toBeNull();
	const index = Number(match![1] ?? match![2]);
	expect(error!.context.itemIndex).toBe(index);
	expect(index).toBeLessThan(cell.items.length);
	expect(String(error!.description ?? '')).not.toBe('');
	return index;
}

/** Seed of the KSampler of a recorded prompt. */
function seedOf(prompt: Record<string, unknown>): number {
	return Number((prompt['3'] as { inputs?: { seed?: unknown } } | undefined)?.inputs?.seed);
}

/** How many times each seed started, per simulator. */
export function startsBySeed(sims: readonly ComfyUiSimulator[]): Map<number, Map<ComfyUiSimulator, number>> {
	const counts = new Map<number, Map<ComfyUiSimulator, number>>();
	for (const s of sims) {
		const seeds = new Map(s.records.prompts.map((p) => [p.promptId, seedOf(p.prompt)]));
		for (const id of s.records.started) {
			const seed = seeds.get(id);
			if (seed === undefined) continue;
			const perSim = counts.get(seed) ?? new Map<ComfyUiSimulator, number>();
			perSim.set(s, (perSim.get(s) ?? 0) + 1);
			counts.set(seed, perSim);
		}
	}
	return counts;
}

/**
 * Promise 2: no scene runs twice. A scene may start again only after the server running it lost it
 * (`lostOn`: crashed, restarted or hung servers, or one whose answers cannot be read), never twice on
 * a healthy one; at most one run per scene finishes on them, and every success came from the run of
 * the item's own seed.
 */
export function expectNoSceneRanTwice(cell: CellResult, fleet: Fleet, lostOn: readonly ComfyUiSimulator[] = []): void {
	const starts = startsBySeed(fleet.servers);
	cell.items.forEach((scene, i) => {
		const perSim = starts.get(scene.seed) ?? new Map<ComfyUiSimulator, number>();
		const healthy = [...perSim.entries()].filter(([s]) => !lostOn.includes(s)).reduce((n, [, c]) => n + c, 0);
		// The item's attempts travel along, to tell on a failure how the scene came to run twice.
		const attempts = cell.generated[i]?.json.attempts;
		expect({ seed: scene.seed, healthyStarts: healthy, attempts }).toEqual({ seed: scene.seed, healthyStarts: Math.min(healthy, 1), attempts });
	});
	// A run on a server that lost the scene (its answers could not be had) may finish before the
	// server is told to drop it; it counts as lost, like the starts there.
	const successes = new Map<number, number>();
	for (const s of fleet.servers) {
		if (lostOn.includes(s)) continue;
		const seeds = new Map(s.records.prompts.map((p) => [p.promptId, seedOf(p.prompt)]));
		for (const f of s.records.finished) {
			if (f.status !== 'success') continue;
			const seed = seeds.get(f.promptId);
			if (seed !== undefined) successes.set(seed, (successes.get(seed) ?? 0) + 1);
		}
	}
	for (const [seed, count] of successes) expect({ seed, successes: count }).toEqual({ seed, successes: 1 });
	// Each success item carries the output of its own scene.
	cell.generated.forEach((item, i) => {
		if (item.json.error !== undefined || !item.json.promptId) return;
		const received = fleet.servers.flatMap((s) => s.records.prompts).find((p) => p.promptId === item.json.promptId);
		expect(received && seedOf(received.prompt)).toBe(cell.items[i].seed);
	});
}

/** Strict form for faults that lose nothing: every scene that ran started exactly once in the fleet. */
export function expectEachStartedAtMostOnce(cell: CellResult, fleet: Fleet): void {
	const starts = startsBySeed(fleet.servers);
	for (const scene of cell.items) {
		const total = [...(starts.get(scene.seed)?.values() ?? [])].reduce((a, b) => a + b, 0);
		expect({ seed: scene.seed, starts: total }).toEqual({ seed: scene.seed, starts: Math.min(total, 1) });
	}
}

/** Plays a fault once `check` holds (for onStart); gives up quietly after 10 s, which the cell's assertions then show. */
export function when(check: () => boolean, fault: () => unknown): void {
	void waitFor(check)
		.then(fault)
		.catch(() => undefined);
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, stepMs));
	}
}

/**
 * Promise 3: once the run settled, no server holds a prompt of ours (all prompts of a cell's fleet
 * are ours). A crashed server (`dead`) has no queue any more: its process is gone.
 */
export async function expectNothingLeft(fleet: Fleet, dead: readonly ComfyUiSimulator[] = []): Promise<void> {
	const alive = fleet.servers.filter((s) => !dead.includes(s));
	await waitFor(() => alive.every((s) => s.activePromptIds().length === 0), 5000).catch(() => undefined);
	expect(alive.flatMap((s) => s.activePromptIds().map((id) => `${s.name}:${id}`))).toEqual([]);
}

/**
 * Promise 4: exactly one object per successful scene under the run's prefix (none for failed ones),
 * each stored by one PUT plus the PUTs a fault refused, and the Upload item i points at item i's key.
 */
export async function expectUploads(matrix: Matrix, cell: CellResult, ok: readonly number[], refusedPuts = 0): Promise<void> {
	const expected = ok.map((i) => `${cell.keyPrefix}/${i}-image_0.png`).sort();
	expect(await matrix.objectKeys(cell.keyPrefix)).toEqual(expected);
	expect(cell.puts).toBe(ok.length + refusedPuts);
	// A run that failed in Generate never reaches the upload.
	expect(cell.stored).toHaveLength(cell.result.status === 'error' && ok.length === 0 ? 0 : cell.items.length);
	cell.stored.forEach((item, i) => {
		if (ok.includes(i)) expect(item.json.key).toBe(`${cell.keyPrefix}/${i}-image_0.png`);
		else expect(String(item.json.error)).not.toBe('');
	});
}

/** All four promises for a continueOnFail run; returns which items succeeded. */
export async function expectAllPromises(
	matrix: Matrix,
	cell: CellResult,
	fleet: Fleet,
	faulted: { lostOn?: readonly ComfyUiSimulator[]; dead?: readonly ComfyUiSimulator[] } = {},
): Promise<Settled> {
	const settled = expectSettled(cell);
	expectNoSceneRanTwice(cell, fleet, faulted.lostOn ?? []);
	await expectNothingLeft(fleet, faulted.dead ?? []);
	await expectUploads(matrix, cell, settled.ok);
	return settled;
}

/** Attempt outcomes of an output item, e.g. ['transient', 'success']. */
export function attemptsOf(item: INodeExecutionData): Array<{ server: string; outcome: string; reason: string | null; promptId: string | null }> {
	return (item.json.attempts ?? []) as Array<{ server: string; outcome: string; reason: string | null; promptId: string | null }>;
}

/** Upload items that failed: each names its item, says what happened and how to fix it. */
export function expectUploadErrors(cell: CellResult, failed: readonly number[], pattern: RegExp): void {
	expect(cell.stored).toHaveLength(cell.items.length);
	cell.stored.forEach((item, i) => {
		expect(item.pairedItem).toEqual({ item: i });
		if (!failed.includes(i)) {
			expect(item.json.error).toBeUndefined();
			return;
		}
		expect(String(item.json.error)).toMatch(new RegExp(`^Item ${i}, `));
		expect(String(item.json.error)).toMatch(pattern);
		expect(String(item.json.description ?? '')).not.toBe('');
	});
}
