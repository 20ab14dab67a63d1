/**
 * Fault matrix, storage: S3 429 and 503 with Retry-After (passing and persistent), wrong credentials,
 * bucket missing, Cloudflare Images 429 (with and without Retry-After), 5409, 5413, a wrong token,
 * Skip If It Exists on image IDs with "/", and a batch token that expires — each behind Generate in
 * n8n's engine, so the images come from a simulator fleet.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { Fleet } from '../sim';
import {
	expectEachStartedAtMostOnce,
	expectNothingLeft,
	expectSettled,
	expectUploadErrors,
	expectUploads,
	scenes,
	sim,
	startS3FaultProxy,
	uniquePrefix,
	useMatrix,
	type CellResult,
} from './matrix';

const matrix = useMatrix();

/** The ComfyUI side of a storage cell was healthy: every scene once, nothing left. */
async function expectScenesFine(cell: CellResult, fleet: Fleet): Promise<void> {
	expect(expectSettled(cell).ok).toHaveLength(cell.items.length);
	expectEachStartedAtMostOnce(cell, fleet);
	await expectNothingLeft(fleet);
}

function filesOf(cell: CellResult): Array<Record<string, unknown>> {
	return cell.stored.map((item) => ((item.json.files as Array<Record<string, unknown>> | undefined) ?? [])[0] ?? {});
}

describe('fault matrix: S3-compatible storage', () => {
	it('503 SlowDown with Retry-After: waits as asked and stores every file once', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		await matrix.s3.control({ failPuts: 2, retryAfter: 1 });
		const cell = await matrix.generate({ fleet, items: scenes(4, 20_000) });
		await expectScenesFine(cell, fleet);
		await expectUploads(matrix, cell, [0, 1, 2, 3], 2);
		expect(filesOf(cell).map((f) => f.attempts).sort()).toEqual([1, 1, 2, 2]);
	});

	it('429 SlowDown with Retry-After: waits as asked and stores every file once', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const proxy = await startS3FaultProxy(matrix.s3.endpoint);
		matrix.later(() => proxy.close());
		proxy.failNextPuts(2, 429, 'SlowDown', 1);
		const cell = await matrix.generate({ fleet, items: scenes(4, 21_000), s3: { endpoint: proxy.endpoint } });
		await expectScenesFine(cell, fleet);
		// The proxy answered the two refused PUTs itself: fauxqs saw one PUT per file.
		expect(proxy.failed()).toBe(2);
		await expectUploads(matrix, cell, [0, 1, 2, 3]);
		expect(filesOf(cell).map((f) => f.attempts).sort()).toEqual([1, 1, 2, 2]);
	});

	it('503 that does not end: each file fails after its attempts with a clear error item, none stored', async () => {
		const fleet = await matrix.fleet([sim()]);
		await matrix.s3.control({ failPuts: 1000, retryAfter: 0 });
		try {
			const cell = await matrix.generate({ fleet, items: scenes(3, 22_000), uploadOptions: { attempts: 2 } });
			await expectScenesFine(cell, fleet);
			expectUploadErrors(cell, [0, 1, 2], /SlowDown.*HTTP 503/);
			expect(String(cell.stored[0].json.description)).toMatch(/Gave up after 2 attempt/);
			await expectUploads(matrix, cell, [], 6);
		} finally {
			await matrix.s3.control({ failPuts: 0, retryAfter: -1 });
		}
	});

	it('bucket missing: one clear error item per file, nothing retried', async () => {
		const fleet = await matrix.fleet([sim()]);
		const cell = await matrix.generate({ fleet, items: scenes(2, 23_000), s3: { bucket: 'no-such-bucket' } });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [0, 1], /NoSuchBucket/);
		expect(String(cell.stored[0].json.description)).toMatch(/bucket name/);
		expect(cell.puts).toBe(2);
	});

	it('wrong credentials (s3rver checks the access key id): a clear error item per file, nothing stored', async () => {
		const fleet = await matrix.fleet([sim()]);
		const directory = mkdtempSync(join(tmpdir(), 'faults-s3rver-'));
		const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
		const { port } = (await server.run()) as { port: number };
		matrix.later(async () => {
			await server.close();
			rmSync(directory, { recursive: true, force: true });
		});
		const endpoint = `http://127.0.0.1:${port}`;
		const raw = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
		matrix.later(async () => raw.destroy());
		await raw.send(new CreateBucketCommand({ Bucket: 'wrong-key' }));
		const cell = await matrix.generate({ fleet, items: scenes(2, 24_000), s3: { endpoint, bucket: 'wrong-key', accessKeyId: 'NOT-A-KEY', secretAccessKey: 'whatever' } });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [0, 1], /InvalidAccessKeyId.*HTTP 403/);
		expect(String(cell.stored[0].json.description)).toMatch(/credential/);
		expect((await raw.send(new ListObjectsV2Command({ Bucket: 'wrong-key' }))).KeyCount ?? 0).toBe(0);
	});
});

describe('fault matrix: Cloudflare Images', () => {
	it('429 with Retry-After: every upload pauses, then every image is stored once', async () => {
		const fleet = await matrix.fleet([sim(), sim()]);
		const before = matrix.cf.images.size;
		matrix.cf.rateLimitNext(1, 1);
		const cell = await matrix.generate({ fleet, items: scenes(3, 25_000), upload: 'cloudflare' });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [], /never/);
		expect(matrix.cf.images.size).toBe(before + 3);
		expect(cell.stored.map((item) => item.json.key ?? (item.json.files as Array<{ id?: string }>)[0].id).every(Boolean)).toBe(true);
	});

	it('5409 (the image ID exists): the stored image is returned, nothing uploaded twice', async () => {
		const fleet = await matrix.fleet([sim()]);
		const keyPrefix = uniquePrefix('cf');
		const first = await matrix.generate({ fleet, items: scenes(3, 26_000), upload: 'cloudflare', keyPrefix });
		await expectScenesFine(first, fleet);
		const count = matrix.cf.images.size;
		const second = await matrix.generate({ fleet, items: scenes(3, 26_100), upload: 'cloudflare', keyPrefix });
		expect(expectSettled(second).ok).toHaveLength(3);
		expectUploadErrors(second, [], /never/);
		expect(filesOf(second).map((f) => f.skippedReason)).toEqual(['already uploaded (5409)', 'already uploaded (5409)', 'already uploaded (5409)']);
		expect(matrix.cf.images.size).toBe(count);
		expect(filesOf(second).map((f) => f.url)).toEqual(filesOf(first).map((f) => f.url));
	});

	it('5413 (too large) from the API: that item fails clearly, without retries; the others are stored', async () => {
		const fleet = await matrix.fleet([sim()]);
		const before = { images: matrix.cf.images.size, uploads: matrix.cf.calls.upload ?? 0 };
		matrix.cf.failNextUploads(1, 413, 5413);
		const cell = await matrix.generate({ fleet, items: scenes(3, 27_000), upload: 'cloudflare', uploadOptions: { concurrency: 1 } });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [0], /5413.*HTTP 413/);
		expect(String(cell.stored[0].json.description)).toMatch(/10 MB/);
		expect(matrix.cf.images.size).toBe(before.images + 2);
		expect((matrix.cf.calls.upload ?? 0) - before.uploads).toBe(3);
	});

	it('Skip If It Exists on image IDs with "/": the lookup finds every stored image, nothing is uploaded twice', async () => {
		const fleet = await matrix.fleet([sim()]);
		const keyPrefix = uniquePrefix('cf-skip');
		const first = await matrix.generate({ fleet, items: scenes(3, 29_000), upload: 'cloudflare', keyPrefix, uploadOptions: { skipIfExists: true } });
		await expectScenesFine(first, fleet);
		const uploads = matrix.cf.calls.upload ?? 0;
		const second = await matrix.generate({ fleet, items: scenes(3, 29_100), upload: 'cloudflare', keyPrefix, uploadOptions: { skipIfExists: true } });
		expect(expectSettled(second).ok).toHaveLength(3);
		expectUploadErrors(second, [], /never/);
		expect(filesOf(second).map((f) => [f.id, f.skippedReason])).toEqual([0, 1, 2].map((i) => [`${keyPrefix}/${i}`, 'exists']));
		expect(matrix.cf.calls.upload ?? 0).toBe(uploads);
	});

	it('429 without Retry-After beyond Max Wait: the documented 5-minute block fails each image at once with a clear error item', async () => {
		const fleet = await matrix.fleet([sim()]);
		const before = matrix.cf.images.size;
		matrix.cf.rateLimitNext(1, null);
		const cell = await matrix.generate({ fleet, items: scenes(2, 30_000), upload: 'cloudflare', uploadOptions: { maxRetryAfterSeconds: 60, concurrency: 1 } });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [0, 1], /60 s/);
		const errors = cell.stored.map((item) => String(item.json.error));
		expect(errors[0]).toMatch(/no Retry-After: Cloudflare blocks every call of the token for 5 minutes after a 429.*asked to wait 300 s, more than the 60 s/);
		// The token is blocked: the next image does not even try, and says why.
		expect(errors[1]).toMatch(/could not go out within the 60 s this node waits \(Max Wait Asked by Provider\)/);
		expect(matrix.cf.images.size).toBe(before);
	});

	it('a batch token that expires mid-run is replaced: every image stored once', async () => {
		const fleet = await matrix.fleet([sim()]);
		const before = { images: matrix.cf.images.size, tokens: matrix.cf.calls.batchToken ?? 0, refused: matrix.cf.calls.expiredBatchToken ?? 0 };
		// The token stops working after the first upload of the run.
		matrix.cf.expireBatchTokens(1);
		const cell = await matrix.generate({ fleet, items: scenes(3, 31_000), upload: 'cloudflare', uploadOptions: { useBatchToken: true, concurrency: 1 } });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [], /never/);
		expect(matrix.cf.images.size).toBe(before.images + 3);
		expect((matrix.cf.calls.batchToken ?? 0) - before.tokens).toBe(2);
		expect((matrix.cf.calls.expiredBatchToken ?? 0) - before.refused).toBe(1);
	});

	it('wrong API token: a clear error item per image, nothing stored, the token never echoed', async () => {
		const fleet = await matrix.fleet([sim()]);
		const before = matrix.cf.images.size;
		const cell = await matrix.generate({ fleet, items: scenes(2, 28_000), upload: 'cloudflare', cloudflare: { apiToken: 'cf-wrong-token-Zq81' } });
		await expectScenesFine(cell, fleet);
		expectUploadErrors(cell, [0, 1], /Authentication error.*HTTP 401/);
		expect(matrix.cf.images.size).toBe(before);
		expect(JSON.stringify(cell.result.run)).not.toContain('cf-wrong-token-Zq81');
	});
});
