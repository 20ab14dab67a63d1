import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import S3rver from 's3rver';
import { S3Storage } from '../../src/storage/s3';
import { uploadAll } from '../../src/storage/uploader';
import { pngBytes } from './fixtures';

// fauxqs drops Cache-Control and Content-Disposition; s3rver keeps them, so they are checked here.
let server: S3rver;
let directory: string;
let endpoint: string;

beforeAll(async () => {
	directory = mkdtempSync(join(tmpdir(), 's3rver-'));
	server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
	const address = (await server.run()) as { port: number };
	endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
	await server?.close();
	rmSync(directory, { recursive: true, force: true });
});

test('Cache-Control, Content-Disposition, content type and metadata reach the stored object', async () => {
	const raw = new S3Client({
		endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
	const storage = new S3Storage({ preset: 'minio', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', bucket: 'headers' });
	try {
		await raw.send(new CreateBucketCommand({ Bucket: 'headers' }));
		const data = pngBytes(16, 16);
		const results = await uploadAll(
			[
				{
					itemIndex: 0,
					property: 'data',
					fileName: 'out.bin',
					mimeType: 'application/octet-stream',
					body: { kind: 'buffer', data },
					keyTemplate: 'img/{{itemIndex}}.{{ext}}',
					keyContext: { executionId: '1' },
					cacheControl: 'public, max-age=31536000, immutable',
					contentDisposition: 'inline; filename="out.png"',
					metadata: { scene: 'castle', seed: '42' },
				},
			],
			{ provider: 's3', storage, urlKind: 'public' },
		);
		expect(results[0].error).toBeUndefined();
		const file = results[0].files[0];
		// Declared octet-stream → the bytes decide; the file name's extension stays.
		expect(file).toMatchObject({ key: 'img/0.bin', contentType: 'image/png', size: data.length });
		const head = await raw.send(new HeadObjectCommand({ Bucket: 'headers', Key: 'img/0.bin' }));
		expect(head.CacheControl).toBe('public, max-age=31536000, immutable');
		expect(head.ContentDisposition).toBe('inline; filename="out.png"');
		expect(head.ContentType).toBe('image/png');
		expect(head.Metadata).toEqual({ scene: 'castle', seed: '42' });
		expect(head.ContentLength).toBe(data.length);
		const served = await fetch(file.url as string);
		expect(served.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
	} finally {
		storage.destroy();
		raw.destroy();
	}
});
