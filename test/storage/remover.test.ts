/** Deletes under the storage retry policy: S3 (fauxqs) and Cloudflare Images (its fake). */
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudflareImagesClient } from '../../src/storage/cloudflareImages';
import { StorageError } from '../../src/storage/errors';
import { deleteAll } from '../../src/storage/remover';
import { S3Storage } from '../../src/storage/s3';
import { uploadAll } from '../../src/storage/uploader';
import { startCloudflareImagesFake, type CloudflareImagesFake } from '../fakes/cloudflareImages';
import { rawS3Client, startFauxqs, type FauxqsHandle } from '../fakes/fauxqs';
import { pngBytes } from './fixtures';

const BUCKET = 'remover-test';
const FAST_BACKOFF = { initialMs: 20, maxMs: 200, jitter: 0.2 };
let server: FauxqsHandle;
let raw: S3Client;
let storage: S3Storage;

function makeStorage(bucket = BUCKET): S3Storage {
	return new S3Storage({ preset: 'custom', endpoint: server.endpoint, region: 'us-east-1', accessKeyId: 'test', secretAccessKey: 'remover-secret', bucket });
}

async function put(key: string): Promise<void> {
	await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: pngBytes(4, 4) }));
}

async function exists(key: string): Promise<boolean> {
	return raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
		() => true,
		() => false,
	);
}

beforeAll(async () => {
	server = await startFauxqs();
	raw = rawS3Client(server.endpoint);
	await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
	storage = makeStorage();
});

afterAll(async () => {
	storage?.destroy();
	raw?.destroy();
	await server?.close();
});

afterEach(async () => {
	await server.control({ failDeletes: 0, retryAfter: -1 });
});

describe('S3 deletes', () => {
	test('a 503 SlowDown is retried (Retry-After honoured, the wait logged) and every object is deleted', async () => {
		await Promise.all(['a/1.png', 'a/2.png'].map(put));
		await server.control({ failDeletes: 2, retryAfter: 0, reset: true });
		const logs: string[] = [];
		const results = await deleteAll(
			[
				{ itemIndex: 0, key: 'a/1.png' },
				{ itemIndex: 1, key: '/a//2.png' },
			],
			{ provider: 's3', storage },
			{ backoff: FAST_BACKOFF, log: (_level, message) => logs.push(message) },
		);
		expect(results).toEqual([
			{ itemIndex: 0, ok: true, key: 'a/1.png', deleted: true },
			{ itemIndex: 1, ok: true, key: 'a/2.png', deleted: true },
		]);
		const stats = await server.stats();
		expect(stats.failed).toBe(2);
		expect(stats.counts.DELETE).toBe(4);
		expect(await exists('a/1.png')).toBe(false);
		expect(await exists('a/2.png')).toBe(false);
		expect(logs).toHaveLength(2);
		expect(logs.join('\n')).toMatch(/^Item [01], key "a\/[12]\.png": .*\[SlowDown, HTTP 503\]; retrying in 0\.\d s as the provider asked \(Retry-After\) \(attempt 2 of 4\)/m);
		expect(logs.join('\n')).not.toContain('remover-secret');
	});

	test('gives up after the attempts with the code and the attempts made; a 4xx is not retried', async () => {
		await put('b/1.png');
		await server.control({ failDeletes: 10, retryAfter: 0 });
		const [gaveUp] = await deleteAll([{ itemIndex: 3, key: 'b/1.png' }], { provider: 's3', storage }, { attempts: 2, backoff: FAST_BACKOFF });
		expect(gaveUp.ok).toBe(false);
		const error = !gaveUp.ok ? gaveUp.error : undefined;
		expect(error).toBeInstanceOf(StorageError);
		expect(error).toMatchObject({ code: 'SlowDown', httpStatus: 503, attempts: 2, key: 'b/1.png' });
		expect(await exists('b/1.png')).toBe(true);

		await server.control({ failDeletes: 0, reset: true });
		const missing = makeStorage('no-such-bucket-here');
		try {
			const [refused] = await deleteAll([{ itemIndex: 0, key: 'b/1.png' }], { provider: 's3', storage: missing }, { backoff: FAST_BACKOFF });
			expect(!refused.ok && refused.error).toMatchObject({ code: 'NoSuchBucket', attempts: 1 });
			expect((await server.stats()).counts.DELETE).toBe(1);
		} finally {
			missing.destroy();
		}
	});

	test('a key that providers reject fails its own item before any request; the others are deleted', async () => {
		await put('c/ok.png');
		await server.control({ reset: true });
		const results = await deleteAll(
			[
				{ itemIndex: 0, key: 'c/line\nbreak.png' },
				{ itemIndex: 1, key: 'c/ok.png' },
				{ itemIndex: 2, key: '  ' },
			],
			{ provider: 's3', storage },
		);
		expect(results.map((r) => r.ok)).toEqual([false, true, false]);
		expect(String(!results[0].ok && (results[0].error as Error).message)).toMatch(/line feed \(U\+000A\)/);
		expect(String(!results[2].ok && (results[2].error as Error).message)).toMatch(/empty file name/);
		expect((await server.stats()).counts.DELETE).toBe(1);
	});
});

describe('Cloudflare Images deletes', () => {
	let fake: CloudflareImagesFake;
	let cf: CloudflareImagesClient;

	beforeEach(async () => {
		fake = await startCloudflareImagesFake();
		cf = new CloudflareImagesClient({ accountId: fake.accountId, apiToken: fake.token, apiBaseUrl: fake.apiBaseUrl, batchBaseUrl: fake.batchBaseUrl, ratePerSecond: 100 });
	});
	afterEach(async () => {
		await cf.close();
		await fake.close();
	});

	test('a 429 is retried after the asked wait; a missing image is "deleted: false"; an empty ID fails its item', async () => {
		const uploaded = await uploadAll(
			[0, 1].map((i) => ({ itemIndex: i, property: 'data', fileName: `${i}.png`, mimeType: 'image/png', body: { kind: 'buffer' as const, data: pngBytes(3, 3) }, keyTemplate: 'del/{{itemIndex}}', keyContext: { executionId: 'e' } })),
			{ provider: 'cloudflareImages', client: cf },
		);
		expect(uploaded.map((r) => r.error)).toEqual([undefined, undefined]);
		fake.rateLimitNext(1, 0);
		const results = await deleteAll(
			[
				{ itemIndex: 0, key: 'del/0' },
				{ itemIndex: 1, key: ' del/1 ' },
				{ itemIndex: 2, key: 'del/never-uploaded' },
				{ itemIndex: 3, key: '' },
			],
			{ provider: 'cloudflareImages', client: cf },
			{ backoff: FAST_BACKOFF, concurrency: 1 },
		);
		expect(results.slice(0, 3)).toEqual([
			{ itemIndex: 0, ok: true, key: 'del/0', deleted: true },
			{ itemIndex: 1, ok: true, key: 'del/1', deleted: true },
			{ itemIndex: 2, ok: true, key: 'del/never-uploaded', deleted: false },
		]);
		expect(!results[3].ok && (results[3].error as Error).message).toBe('The image ID is empty');
		expect(fake.calls.rateLimited).toBe(1);
		expect(fake.images.has('del/0') || fake.images.has('del/1')).toBe(false);
	});
});
