import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { INodeParameters, NodeOperationError } from 'n8n-workflow';
import { CloudflareImagesApi } from '../../credentials/CloudflareImagesApi.credentials';
import { S3CompatibleApi } from '../../credentials/S3CompatibleApi.credentials';
import { CloudImageStorage } from '../../nodes/CloudImageStorage/CloudImageStorage.node';
import { startCloudflareImagesFake, type CloudflareImagesFake } from '../fakes/cloudflareImages';
import { startFauxqs, type FauxqsHandle } from '../fakes/fauxqs';
import { chain, node, NodeTypes, runWorkflow } from '../workflow/harness';
import { heicBytes, pngBytes } from './fixtures';

const BUCKET = 'node-test';
const SECRET = 'node-test-secret-key';
const types = new NodeTypes([new CloudImageStorage()]);
const credentialTypes = [new S3CompatibleApi(), new CloudflareImagesApi()];
let s3: FauxqsHandle;
let cf: CloudflareImagesFake;
let raw: S3Client;

const s3Credential = () => ({
	preset: 'minio',
	endpoint: s3.endpoint,
	region: 'us-east-1',
	accessKeyId: 'node',
	secretAccessKey: SECRET,
	sessionToken: '',
	bucket: BUCKET,
	publicUrlBase: '',
	addressingStyle: 'preset',
	checksumMode: 'preset',
});
const cfCredential = () => ({ accountId: cf.accountId, apiToken: cf.token, signingSecretKey: '', deliveryDomain: '', accountHash: '', apiBaseUrl: cf.apiBaseUrl, batchBaseUrl: cf.batchBaseUrl });

function imageItems(count: number, properties = ['data']) {
	return JSON.stringify(
		Array.from({ length: count }, (_, i) => ({
			json: { n: i },
			binary: Object.fromEntries(properties.map((p) => [p, { base64: pngBytes(10 + i, 10, 300).toString('base64'), fileName: `${p}-${i}.png`, mimeType: 'image/png' }])),
		})),
	);
}

function run(parameters: INodeParameters, items: string, extra: Record<string, unknown> = {}, cloudflare: Record<string, string> = {}) {
	return runWorkflow({
		nodeTypes: types,
		credentialTypes,
		nodes: [
			node('Items', 'test.items', { items }),
			node('Store', 'cloudImageStorage', parameters, {
				credentials: { s3CompatibleApi: { id: '1', name: 's3' }, cloudflareImagesApi: { id: '2', name: 'cf' } },
				...extra,
			}),
		],
		connections: chain('Items', 'Store'),
		credentials: { s3CompatibleApi: s3Credential(), cloudflareImagesApi: { ...cfCredential(), ...cloudflare } },
		timeoutMs: 30_000,
	});
}

beforeAll(async () => {
	s3 = await startFauxqs();
	raw = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
	await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
	cf = await startCloudflareImagesFake();
});
afterAll(async () => {
	raw?.destroy();
	await s3?.close();
	await cf?.close();
});

test('uploads the binaries of several items to S3 and returns one item per input with public URLs', async () => {
	const result = await run(
		{ provider: 's3', operation: 'upload', keyTemplate: 'wf/{{executionId}}/{{itemIndex}}-{{property}}.{{ext}}', urlKind: 'public', options: { cacheControl: 'max-age=60' } },
		imageItems(3, ['data', 'mask']),
	);
	expect(result.status).toBe('success');
	const out = result.output('Store');
	expect(out).toHaveLength(3);
	out.forEach((item, i) => {
		expect(item.pairedItem).toEqual({ item: i });
		const files = item.json.files as Array<Record<string, unknown>>;
		expect(files.map((f) => f.property).sort()).toEqual(['data', 'mask']);
		expect(item.json.urls).toEqual({
			data: `${s3.endpoint}/${BUCKET}/${files.find((f) => f.property === 'data')?.key as string}`,
			mask: `${s3.endpoint}/${BUCKET}/${files.find((f) => f.property === 'mask')?.key as string}`,
		});
		expect(files[0]).toMatchObject({ provider: 's3', bucket: BUCKET, contentType: 'image/png', skipped: false, attempts: 1 });
		expect(String(files[0].key)).toMatch(new RegExp(`^wf/test-\\d+-\\d+/${i}-(data|mask)\\.png$`));
	});
	const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: String(out[1].json.key) }));
	expect(head.ContentLength).toBe(pngBytes(11, 10, 300).length);
});

test('presigned URLs, skip if exists, get URL and delete', async () => {
	const upload = { provider: 's3', operation: 'upload', binaryProperties: 'data', keyTemplate: 'cas/{{sha256}}.{{ext}}', urlKind: 'presigned', presignExpiry: 900, options: { skipIfExists: true } };
	const items = imageItems(2);
	const first = await run(upload, items);
	expect(first.status).toBe('success');
	const url = String(first.output('Store')[0].json.url);
	expect(url).toContain('X-Amz-Expires=900');
	expect(url).toContain('X-Amz-Signature=');
	expect((await fetch(url)).status).toBe(200);
	const second = await run(upload, items);
	expect(second.output('Store').map((i) => (i.json.files as Array<{ skipped: boolean }>)[0].skipped)).toEqual([true, true]);

	const key = String(first.output('Store')[0].json.key);
	const keys = JSON.stringify([{ json: { key } }]);
	const got = await run({ provider: 's3', operation: 'getUrl', key: '={{ $json.key }}', urlKind: 'public' }, keys);
	expect(got.output('Store')[0].json).toMatchObject({ key, url: `${s3.endpoint}/${BUCKET}/${key}`, kind: 'public' });
	const deleted = await run({ provider: 's3', operation: 'delete', key: '={{ $json.key }}' }, keys);
	expect(deleted.output('Store')[0].json).toMatchObject({ key, deleted: true });
	await expect(raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
});

test('continueOnFail: a missing binary property fails only its item, the others upload', async () => {
	const items = JSON.stringify([
		{ json: {}, binary: { data: { base64: pngBytes(3, 3).toString('base64'), fileName: 'a.png', mimeType: 'image/png' } } },
		{ json: {}, binary: { other: { base64: pngBytes(3, 3).toString('base64'), fileName: 'b.png', mimeType: 'image/png' } } },
		{ json: {}, binary: { data: { base64: pngBytes(3, 3).toString('base64'), fileName: 'c.png', mimeType: 'image/png' } } },
	]);
	const params = { provider: 's3', operation: 'upload', binaryProperties: 'data', keyTemplate: 'cof/{{itemIndex}}.{{ext}}', urlKind: 'none' };
	const result = await run(params, items, { onError: 'continueRegularOutput' });
	expect(result.status).toBe('success');
	const out = result.output('Store');
	expect(out).toHaveLength(3);
	expect(out[0].json.key).toBe('cof/0.png');
	expect(String(out[1].json.error)).toMatch(/data/);
	// The error item's shape, as in ComfyUI Cluster: error, description (null when there is nothing to add).
	expect(Object.keys(out[1].json)).toEqual(['error', 'description']);
	expect(out[1].pairedItem).toEqual({ item: 1 });
	expect(out[2].json.key).toBe('cof/2.png');

	const failing = await run(params, items);
	expect(failing.status).toBe('error');
	expect(failing.nodeError('Store')?.message).toMatch(/data/);
});

test('Cloudflare Images upload: 5409 dedupe returns the stored image; 429 waits and succeeds; get URL and delete', async () => {
	const params = { provider: 'cloudflareImages', operation: 'upload', imageId: 'wf-{{itemIndex}}', variant: 'thumbnail', options: { retryDelayMs: 10 } };
	const first = await run(params, imageItems(2));
	expect(first.status).toBe('success');
	const out = first.output('Store');
	expect(out[0].json.url).toBe(`https://imagedelivery.net/${cf.accountHash}/wf-0/thumbnail`);
	cf.rateLimitNext(1, 1);
	const second = await run(params, imageItems(2));
	expect(second.status).toBe('success');
	const files = second.output('Store').map((i) => (i.json.files as Array<Record<string, unknown>>)[0]);
	expect(files.map((f) => f.skippedReason)).toEqual(['already uploaded (5409)', 'already uploaded (5409)']);
	expect(cf.calls.rateLimited).toBe(1);
	// The rate-limited upload waited the asked second and went through on its second attempt.
	expect(files.map((f) => f.attempts).sort()).toEqual([1, 2]);
	expect(JSON.stringify(second.output('Store'))).not.toContain(cf.token);

	const ids = JSON.stringify([{ json: { id: 'wf-1' } }]);
	const url = await run({ provider: 'cloudflareImages', operation: 'getUrl', imageId: '={{ $json.id }}', variant: 'public' }, ids);
	expect(url.output('Store')[0].json.url).toBe(`https://imagedelivery.net/${cf.accountHash}/wf-1/public`);
	const del = await run({ provider: 'cloudflareImages', operation: 'delete', imageId: '={{ $json.id }}' }, ids);
	expect(del.output('Store')[0].json).toMatchObject({ id: 'wf-1', deleted: true });
	expect(cf.images.has('wf-1')).toBe(false);
});

test('Cloudflare Images: Delete and Get URL reach image IDs with "/"; a wrong API Base URL is an error item, never "deleted: false"', async () => {
	const uploaded = await run({ provider: 'cloudflareImages', operation: 'upload', imageId: 'renders/{{executionId}}-{{itemIndex}}', variant: 'public' }, imageItems(2));
	expect(uploaded.status).toBe('success');
	const ids = uploaded.output('Store').map((i) => String(i.json.key));
	expect(ids.every((id) => /^renders\/test-\d+-\d+-[01]$/.test(id) && cf.images.has(id))).toBe(true);
	const items = JSON.stringify(ids.map((id) => ({ json: { id } })));

	// No account hash in the credential: Get URL looks the image up to learn it.
	const url = await run({ provider: 'cloudflareImages', operation: 'getUrl', imageId: '={{ $json.id }}', variant: 'public' }, items);
	expect(url.status).toBe('success');
	expect(url.output('Store').map((i) => i.json.url)).toEqual(ids.map((id) => `https://imagedelivery.net/${cf.accountHash}/${id}/public`));

	const wrongBase = { apiBaseUrl: `${cf.apiBaseUrl}/accounts/${cf.accountId}/images/v1` };
	const wrong = await run({ provider: 'cloudflareImages', operation: 'delete', imageId: '={{ $json.id }}' }, items, { onError: 'continueRegularOutput' }, wrongBase);
	expect(wrong.status).toBe('success');
	for (const item of wrong.output('Store')) {
		expect(item.json.deleted).toBeUndefined();
		expect(String(item.json.error)).toMatch(/no API route DELETE \/client\/v4\/accounts\/.*\/images\/v1\/accounts\/.*renders%2F.*HTTP 404, code 7003/);
		expect(String(item.json.description)).toMatch(/API Base URL/);
	}
	expect(ids.every((id) => cf.images.has(id))).toBe(true);

	const deleted = await run({ provider: 'cloudflareImages', operation: 'delete', imageId: '={{ $json.id }}' }, items);
	expect(deleted.output('Store').map((i) => i.json.deleted)).toEqual([true, true]);
	expect(ids.some((id) => cf.images.has(id))).toBe(false);
});

test('Cloudflare Images Require Signed URLs: signed URLs that the delivery host serves, a signed Get URL, and a clear refusal without the signing key', async () => {
	const withKey = { signingSecretKey: cf.signingKey };
	const params = { provider: 'cloudflareImages', operation: 'upload', imageId: '', variant: 'public', options: { requireSignedURLs: true, signedUrlExpiry: 900 } };
	const uploaded = await run(params, imageItems(2), {}, withKey);
	expect(uploaded.status).toBe('success');
	const onFake = (url: unknown) => String(url).replace('https://imagedelivery.net', cf.deliveryBaseUrl);
	for (const item of uploaded.output('Store')) {
		const url = new URL(String(item.json.url));
		expect(url.searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);
		expect(Number(url.searchParams.get('exp')) - Date.now() / 1000).toBeGreaterThan(800);
		expect((await fetch(onFake(item.json.url))).status).toBe(200);
		expect((await fetch(onFake(`${url.origin}${url.pathname}`))).status).toBe(403);
	}
	expect(JSON.stringify(uploaded.output('Store'))).not.toContain(cf.signingKey);

	const id = String(uploaded.output('Store')[0].json.key);
	const items = JSON.stringify([{ json: { id } }]);
	const signed = await run({ provider: 'cloudflareImages', operation: 'getUrl', imageId: '={{ $json.id }}', variant: 'thumbnail', signed: true, signedUrlExpiry: 120 }, items, {}, withKey);
	const got = signed.output('Store')[0].json;
	expect(got).toMatchObject({ id, variant: 'thumbnail', signed: true });
	expect(Date.parse(String(got.expiresAt)) - Date.now()).toBeGreaterThan(100_000);
	expect((await fetch(onFake(got.url))).status).toBe(200);

	const before = cf.images.size;
	const refused = await run(params, imageItems(1));
	expect(refused.status).toBe('error');
	expect(refused.nodeError('Store')?.message).toMatch(/Require Signed URLs needs the URL Signing Key of the Cloudflare Images credential/);
	expect(cf.images.size).toBe(before);
	const unsignable = await run({ provider: 'cloudflareImages', operation: 'getUrl', imageId: '={{ $json.id }}', variant: 'public', signed: true }, items, { onError: 'continueRegularOutput' });
	expect(String(unsignable.output('Store')[0].json.error)).toMatch(/Signed URL needs the URL Signing Key/);
});

test('Cloudflare Images limits: HEIC is stored; over 100 megapixels is an error item before any request', async () => {
	const items = JSON.stringify([
		{ json: {}, binary: { data: { base64: heicBytes(4032, 3024).toString('base64'), fileName: 'IMG_0001.HEIC', mimeType: 'image/heic' } } },
		{ json: {}, binary: { data: { base64: pngBytes(11_000, 10_000).toString('base64'), fileName: 'huge.png', mimeType: 'image/png' } } },
	]);
	const uploads = cf.calls.upload ?? 0;
	const result = await run({ provider: 'cloudflareImages', operation: 'upload', imageId: 'limits/{{itemIndex}}', variant: 'public' }, items, { onError: 'continueRegularOutput' });
	expect(result.status).toBe('success');
	const [heic, huge] = result.output('Store');
	expect(heic.json.key).toBe('limits/0');
	expect(cf.images.get('limits/0')?.contentType).toBe('image/heic');
	expect(String(huge.json.error)).toMatch(/^Item 1, property "data", key "limits\/1": The image is 11000×10000 px = 110\.0 megapixels; Cloudflare Images accepts at most 100 megapixels/);
	expect(String(huge.json.description)).toMatch(/100 megapixels/);
	expect((cf.calls.upload ?? 0) - uploads).toBe(1);
});

test('the credential tests head the bucket and call Cloudflare, reporting errors without secrets', async () => {
	const storage = new CloudImageStorage();
	const tests = storage.methods.credentialTest;
	const ctx = {} as never;
	expect(await tests.s3CompatibleApiTest.call(ctx, { id: '1', name: 's3', type: 's3CompatibleApi', data: s3Credential() })).toMatchObject({ status: 'OK' });
	const missing = await tests.s3CompatibleApiTest.call(ctx, { id: '1', name: 's3', type: 's3CompatibleApi', data: { ...s3Credential(), bucket: 'absent-bucket' } });
	expect(missing.status).toBe('Error');
	expect(missing.message).not.toContain(SECRET);
	expect(await tests.cloudflareImagesApiTest.call(ctx, { id: '2', name: 'cf', type: 'cloudflareImagesApi', data: cfCredential() })).toMatchObject({ status: 'OK' });
	const bad = await tests.cloudflareImagesApiTest.call(ctx, { id: '2', name: 'cf', type: 'cloudflareImagesApi', data: { ...cfCredential(), apiToken: 'bad-token-xyz' } });
	expect(bad).toMatchObject({ status: 'Error' });
	expect(bad.message).toMatch(/Authentication error/);
	expect(bad.message).not.toContain('bad-token-xyz');
});

test('an object key with a newline from an expression fails its item with the key, the character and the fix', async () => {
	const items = JSON.stringify(
		['clean', 'line\nbreak', 'trailing\n'].map((name, i) => ({ json: { name }, binary: { data: { base64: pngBytes(4 + i, 4).toString('base64'), fileName: `${i}.png`, mimeType: 'image/png' } } })),
	);
	const params = { provider: 's3', operation: 'upload', keyTemplate: '=ctl/{{ $json.name }}.png', urlKind: 'none' };
	const result = await run(params, items, { onError: 'continueRegularOutput' });
	expect(result.status).toBe('success');
	const out = result.output('Store');
	expect(out[0].json.key).toBe('ctl/clean.png');
	for (const i of [1, 2]) {
		expect(String(out[i].json.error)).toMatch(/^Item \d, property "data": The object key template .* contains a line feed \(U\+000A\) at position \d+; remove line breaks and other control characters from the template/);
		expect(String(out[i].json.error)).toMatch(new RegExp(`^Item ${i}, `));
		expect(String(out[i].json.error)).not.toContain('\n');
	}
	const listed = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'ctl/' }));
	expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(['ctl/clean.png']);
});

test('an operation the node does not know fails the run naming it, and touches nothing', async () => {
	const before = (await s3.stats()).counts;
	const result = await run({ provider: 's3', operation: 'download', key: 'x.png' }, imageItems(1));
	expect(result.status).toBe('error');
	const error = result.nodeError('Store') as NodeOperationError;
	expect(error.name).toBe('NodeOperationError');
	expect(error.message).toBe('The operation "download" is not supported');
	expect(error.description).toMatch(/upload, delete, getUrl/);
	expect((await s3.stats()).counts).toEqual(before);
});

describe('Upload reads its options for each item', () => {
	const items = (json: Array<Record<string, unknown>>) =>
		JSON.stringify(json.map((j, i) => ({ json: j, binary: { data: { base64: pngBytes(20 + i, 10).toString('base64'), fileName: `p${i}.png`, mimeType: 'image/png' } } })));
	const params = { provider: 's3', operation: 'upload', binaryProperties: 'data', keyTemplate: 'per-item/{{executionId}}-{{itemIndex}}.{{ext}}', urlKind: 'none' };

	test('a Skip If It Exists expression skips the files of some items and uploads the others', async () => {
		const keys = { keyTemplate: '=per-item/{{ $json.name }}.png' };
		const first = await run({ ...params, ...keys }, items([{ name: 'a' }, { name: 'b' }]));
		expect(first.status).toBe('success');
		const second = await run({ ...params, ...keys, options: { skipIfExists: '={{ $json.skip }}' } }, items([{ name: 'a', skip: true }, { name: 'b', skip: false }]));
		expect(second.status).toBe('success');
		expect(second.output('Store').map((i) => (i.json.files as Array<{ skipped: boolean }>)[0].skipped)).toEqual([true, false]);
	});

	test('an option or parameter that applies to the whole run refuses an expression that differs per item, before anything is uploaded', async () => {
		const puts = (await s3.stats()).counts.PUT;
		const concurrency = await run({ ...params, options: { concurrency: '={{ $json.c }}' } }, items([{ c: 4 }, { c: 4 }, { c: 8 }]));
		expect(concurrency.status).toBe('error');
		const error = concurrency.nodeError('Store') as NodeOperationError;
		expect(error.message).toBe('Item 2, Options → Concurrency: 8 differs from item 0\'s 4; this parameter applies to the whole run, not to one item');
		expect(error.description).toMatch(/split the items/);

		const bucket = await run({ ...params, bucket: '={{ $json.bucket }}' }, items([{ bucket: BUCKET }, { bucket: 'another-bucket' }]));
		expect(bucket.status).toBe('error');
		expect(bucket.nodeError('Store')?.message).toMatch(/^Item 1, Bucket: "another-bucket" differs from item 0's "node-test";/);
		expect((await s3.stats()).counts.PUT).toBe(puts);

		const same = await run({ ...params, bucket: '={{ $json.bucket }}', options: { concurrency: '={{ $json.c }}' } }, items([{ bucket: BUCKET, c: 4 }, { bucket: BUCKET, c: 4 }]));
		expect(same.status).toBe('success');
		expect(same.output('Store').map((i) => i.json.bucket ?? (i.json.files as Array<{ bucket: string }>)[0].bucket)).toEqual([BUCKET, BUCKET]);
	});
});
