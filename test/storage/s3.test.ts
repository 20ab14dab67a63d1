import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import type { Readable } from 'stream';
import { S3Storage } from '../../src/storage/s3';
import { uploadAll, type UploadFileSpec } from '../../src/storage/uploader';
import { rawS3Client, startFauxqs, type FauxqsHandle } from '../fakes/fauxqs';
import { generatedStream, mp4Bytes, pngBytes, sha256 } from './fixtures';

const BUCKET = 'storage-test';
const FAST_BACKOFF = { initialMs: 20, maxMs: 200, jitter: 0.2 };
let server: FauxqsHandle;
let storage: S3Storage;
let raw: S3Client;

function makeStorage(overrides: Partial<ConstructorParameters<typeof S3Storage>[0]> = {}): S3Storage {
	return new S3Storage({
		preset: 'custom',
		endpoint: server.endpoint,
		region: 'us-east-1',
		accessKeyId: 'test',
		secretAccessKey: 'test-secret-value',
		bucket: BUCKET,
		...overrides,
	});
}

function spec(itemIndex: number, property: string, data: Buffer, extra: Partial<UploadFileSpec> = {}): UploadFileSpec {
	return {
		itemIndex,
		property,
		fileName: `${property}.png`,
		mimeType: 'image/png',
		body: { kind: 'buffer', data },
		keyTemplate: 'run/{{executionId}}/{{itemIndex}}-{{property}}.{{ext}}',
		keyContext: { executionId: 'e1' },
		...extra,
	};
}

async function getBytes(key: string): Promise<Buffer> {
	const output = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
	return Buffer.from(await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
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

beforeEach(async () => {
	await server.control({ latencyMs: 0, failPuts: 0, retryAfter: -1, reset: true });
});

test('uploads every binary of several items and returns public URLs that serve the same bytes', async () => {
	const files = [0, 1, 2].flatMap((i) => [spec(i, 'data', pngBytes(64, 64, 2000 + i)), spec(i, 'thumb', pngBytes(8, 8, 100 + i))]);
	const results = await uploadAll(files, { provider: 's3', storage, urlKind: 'public' }, { concurrency: 4 });
	expect(results.map((r) => r.itemIndex)).toEqual([0, 1, 2]);
	for (const item of results) {
		expect(item.error).toBeUndefined();
		expect(item.files.map((f) => f.property).sort()).toEqual(['data', 'thumb']);
		for (const file of item.files) {
			expect(file).toMatchObject({ provider: 's3', bucket: BUCKET, contentType: 'image/png', skipped: false, attempts: 1 });
			expect(file.key).toBe(`run/e1/${item.itemIndex}-${file.property}.png`);
			expect(file.url).toBe(`${server.endpoint}/${BUCKET}/${file.key}`);
			const served = Buffer.from(await (await fetch(file.url as string)).arrayBuffer());
			const original = files.find((f) => f.itemIndex === item.itemIndex && f.property === file.property)?.body;
			expect(original?.kind === 'buffer' && sha256(original.data)).toBe(sha256(served));
			expect(file.etag).toBeTruthy();
		}
	}
});

test('retries a 503 SlowDown, honouring Retry-After, and reports the attempts', async () => {
	await server.control({ failPuts: 2, retryAfter: 1 });
	const logs: string[] = [];
	const results = await uploadAll([spec(0, 'data', pngBytes(10, 10))], { provider: 's3', storage, urlKind: 'none' }, {
		backoff: FAST_BACKOFF,
		log: (_level, message) => logs.push(message),
	});
	expect(results[0].error).toBeUndefined();
	expect(results[0].files[0].attempts).toBe(3);
	expect((await server.stats()).failed).toBe(2);
	expect(logs.join('\n')).toMatch(/SlowDown.*HTTP 503.*retrying in 1\.\d s as the provider asked/);
	expect(logs.join('\n')).not.toContain('test-secret-value');
});

test('gives up after the configured attempts and names item, property, key and code', async () => {
	await server.control({ failPuts: 10, retryAfter: 0 });
	const results = await uploadAll([spec(4, 'data', pngBytes(10, 10))], { provider: 's3', storage, urlKind: 'none' }, { attempts: 2, backoff: FAST_BACKOFF });
	const error = results[0].error;
	expect(error?.attempts).toBe(2);
	expect(error?.describe()).toMatch(/^Item 4, property "data", key "run\/e1\/4-data\.png": .*\[SlowDown, HTTP 503\]$/);
});

test('does not retry a 4xx that will not change (missing bucket), and isolates the failing item', async () => {
	const missing = makeStorage({ bucket: 'no-such-bucket-here' });
	try {
		const results = await uploadAll([spec(0, 'data', pngBytes(10, 10))], { provider: 's3', storage: missing, urlKind: 'none' }, { backoff: FAST_BACKOFF });
		expect(results[0].error?.code).toBe('NoSuchBucket');
		expect(results[0].error?.attempts).toBe(1);
	} finally {
		missing.destroy();
	}
	const broken: UploadFileSpec = {
		...spec(1, 'data', Buffer.alloc(0)),
		body: { kind: 'stream', size: 10, open: async () => Promise.reject(new Error('binary data is gone')) },
	};
	const results = await uploadAll([spec(0, 'data', pngBytes(10, 10)), broken, spec(2, 'data', pngBytes(10, 10))], { provider: 's3', storage, urlKind: 'none' });
	expect(results.map((r) => !!r.error)).toEqual([false, true, false]);
	expect(results[1].error?.describe()).toContain('Item 1, property "data"');
	expect(results[1].error?.message).toContain('binary data is gone');
});

test('skip if exists: HeadObject finds the object and no PUT is sent the second time', async () => {
	const files = [spec(0, 'data', pngBytes(20, 20)), spec(1, 'data', pngBytes(20, 20))].map((f) => ({ ...f, keyTemplate: 'dedupe/{{sha256}}.{{ext}}' }));
	const first = await uploadAll(files, { provider: 's3', storage, urlKind: 'public' }, { skipIfExists: true });
	expect(first.map((r) => r.files[0].skipped)).toEqual([false, false]);
	const puts = (await server.stats()).counts.PUT;
	const second = await uploadAll(files, { provider: 's3', storage, urlKind: 'public' }, { skipIfExists: true });
	expect(second.map((r) => r.files[0].skipped)).toEqual([true, true]);
	expect(second[0].files[0]).toMatchObject({ skippedReason: 'exists', key: first[0].files[0].key, url: first[0].files[0].url });
	expect(second[0].files[0].size).toBe(files[0].body.kind === 'buffer' ? files[0].body.data.length : -1);
	expect((await server.stats()).counts.PUT).toBe(puts);
	const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: first[0].files[0].key }));
	expect(head.Metadata?.sha256).toBe(first[0].files[0].sha256);
});

test('presigned GET URLs work and the expiry is limited to 7 days', async () => {
	const results = await uploadAll([spec(0, 'data', pngBytes(30, 30))], { provider: 's3', storage, urlKind: 'presigned', presignExpirySeconds: 600 });
	const url = results[0].files[0].presignedUrl as string;
	expect(url).toContain('X-Amz-Signature=');
	expect(url).toContain('X-Amz-Expires=600');
	expect((await fetch(url)).status).toBe(200);
	await expect(storage.presignGet('x', 604_801)).rejects.toThrow(/7 days/);
	await expect(uploadAll([spec(0, 'data', pngBytes(1, 1))], { provider: 's3', storage, urlKind: 'presigned', presignExpirySeconds: 0 })).rejects.toThrow(/7 days/);
});

test('R2 without a public base refuses public URLs before uploading anything', async () => {
	const r2 = makeStorage({ preset: 'r2', accountId: 'abc' });
	try {
		await expect(uploadAll([spec(0, 'data', pngBytes(1, 1))], { provider: 's3', storage: r2, urlKind: 'public' })).rejects.toThrow(/Public URL Base/);
	} finally {
		r2.destroy();
	}
});

test('a 50 MB video goes through multipart straight from a stream with bounded memory', async () => {
	const total = 50 * 1024 * 1024;
	const big = makeStorage({ partSizeBytes: 5 * 1024 * 1024, queueSize: 2 });
	const { stream, digest, produced } = generatedStream(total, mp4Bytes(0));
	let opened = 0;
	// Bytes read from the source but not yet sent: what the upload holds in memory. Sampled while it runs.
	let maxLead = 0;
	let sampling = true;
	const sampler = (async () => {
		while (sampling) {
			const { bytesIn } = await server.stats();
			maxLead = Math.max(maxLead, produced() - bytesIn);
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
	})();
	const stopSampling = async () => {
		sampling = false;
		await sampler;
	};
	try {
		const results = await uploadAll(
			[
				{
					...spec(0, 'video', Buffer.alloc(0)),
					fileName: 'clip.mp4',
					mimeType: 'video/mp4',
					keyTemplate: 'videos/{{fileName}}',
					body: { kind: 'stream', size: total, open: async (): Promise<Readable> => (opened++ === 0 ? stream : generatedStream(total, mp4Bytes(0)).stream) },
				},
			],
			{ provider: 's3', storage: big, urlKind: 'none' },
		);
		await stopSampling();
		expect(results[0].error).toBeUndefined();
		expect(results[0].files[0]).toMatchObject({ key: 'videos/clip.mp4', multipart: true, size: total, contentType: 'video/mp4' });
		expect(results[0].files[0].etag).toMatch(/-10"?$/);
		// Never more than the parts in flight (queueSize 2) and the one being filled, plus stream and
		// socket buffers, ahead of the server — not the whole 50 MB.
		expect(maxLead).toBeGreaterThan(0);
		expect(maxLead).toBeLessThan((2 + 1) * 5 * 1024 * 1024 + 4 * 1024 * 1024);
		const output = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'videos/clip.mp4' }));
		const hash = createHash('sha256');
		for await (const chunk of output.Body as Readable) hash.update(chunk as Buffer);
		expect(hash.digest('hex')).toBe(digest());
	} finally {
		await stopSampling();
		big.destroy();
	}
});

test('uploads correctly under injected latency with many files in flight', async () => {
	await server.control({ latencyMs: 50 });
	const files = Array.from({ length: 24 }, (_, i) => spec(i, 'data', pngBytes(5, 5, 5000)));
	const results = await uploadAll(files, { provider: 's3', storage, urlKind: 'none' }, { concurrency: 8 });
	expect(results.every((r) => !r.error && r.files[0].attempts === 1)).toBe(true);
	expect((await server.stats()).counts.PUT).toBe(24);
	expect(await getBytes(results[5].files[0].key as string)).toEqual(files[5].body.kind === 'buffer' ? files[5].body.data : undefined);
});
