import { CloudflareImagesClient, buildDeliveryUrl } from '../../src/storage/cloudflareImages';
import { uploadAll, type UploadFileSpec } from '../../src/storage/uploader';
import { startCloudflareImagesFake, type CloudflareImagesFake } from '../fakes/cloudflareImages';
import { mp4Bytes, pngBytes, jpegBytes } from './fixtures';

let fake: CloudflareImagesFake;
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

function client(extra: Partial<ConstructorParameters<typeof CloudflareImagesClient>[0]> = {}, logs: string[] = []): CloudflareImagesClient {
	return new CloudflareImagesClient({
		accountId: fake.accountId,
		apiToken: fake.token,
		apiBaseUrl: fake.apiBaseUrl,
		batchBaseUrl: fake.batchBaseUrl,
		ratePerSecond: 100,
		log: (_l, m) => logs.push(m),
		...extra,
	});
}

function spec(itemIndex: number, data: Buffer, extra: Partial<UploadFileSpec> = {}): UploadFileSpec {
	return {
		itemIndex,
		property: 'data',
		fileName: `img${itemIndex}.png`,
		mimeType: 'image/png',
		body: { kind: 'buffer', data },
		keyTemplate: '',
		keyContext: { executionId: 'e9' },
		...extra,
	};
}

beforeEach(async () => {
	fake = await startCloudflareImagesFake();
});
afterEach(async () => {
	await fake.close();
});

test('uploads as multipart with custom ID and metadata, and builds delivery URLs from the variants', async () => {
	const cf = client({ deliveryDomain: 'images.example.com' });
	try {
		const data = pngBytes(100, 50);
		const [item] = await uploadAll([spec(0, data, { keyTemplate: 'renders/{{executionId}}-{{itemIndex}}', metadata: { seed: '7' } })], { provider: 'cloudflareImages', client: cf, variant: 'thumbnail' });
		expect(item.error).toBeUndefined();
		const file = item.files[0];
		expect(file).toMatchObject({ provider: 'cloudflareImages', account: fake.accountId, id: 'renders/e9-0', size: data.length, skipped: false, attempts: 1 });
		expect(file.url).toBe(`https://images.example.com/cdn-cgi/imagedelivery/${fake.accountHash}/renders/e9-0/thumbnail`);
		expect(file.variants).toHaveLength(2);
		const stored = fake.images.get('renders/e9-0');
		expect(stored?.bytes.equals(data)).toBe(true);
		expect(stored?.metadata).toEqual({ seed: '7' });
		expect(cf.knownAccountHash).toBe(fake.accountHash);
		const got = await cf.get('renders/e9-0');
		expect(got?.metadata).toEqual({ seed: '7' });
		expect(await cf.delete('renders/e9-0')).toBe(true);
		expect(await cf.delete('renders/e9-0')).toBe(false);
		expect(await cf.get('renders/e9-0')).toBeUndefined();
	} finally {
		await cf.close();
	}
});

test('without a custom ID Cloudflare assigns one; a configured hash is used for imagedelivery.net URLs', async () => {
	const cf = client({ accountHash: 'HASH' });
	try {
		const [item] = await uploadAll([spec(0, jpegBytes(10, 10), { mimeType: 'image/jpeg' })], { provider: 'cloudflareImages', client: cf });
		expect(item.files[0].id).toMatch(/^[0-9a-f-]{36}$/);
		expect(item.files[0].url).toBe(`https://imagedelivery.net/HASH/${item.files[0].id}/public`);
	} finally {
		await cf.close();
	}
});

test('5409 on a custom ID means already uploaded: the stored image is returned, nothing is retried', async () => {
	const logs: string[] = [];
	const cf = client({}, logs);
	try {
		const first = await uploadAll([spec(0, pngBytes(5, 5), { keyTemplate: 'same-{{itemIndex}}' })], { provider: 'cloudflareImages', client: cf });
		const second = await uploadAll([spec(0, pngBytes(5, 5), { keyTemplate: 'same-{{itemIndex}}' })], { provider: 'cloudflareImages', client: cf }, { backoff: FAST_BACKOFF });
		expect(second[0].error).toBeUndefined();
		expect(second[0].files[0]).toMatchObject({ id: 'same-0', skipped: true, skippedReason: 'already uploaded (5409)', attempts: 1, url: first[0].files[0].url });
		expect(fake.calls.upload).toBe(2);
		expect(fake.calls.get).toBe(1);
		expect(logs.join('\n')).toContain('5409');
	} finally {
		await cf.close();
	}
});

test('429 with Retry-After: waits as asked, says so in the log, then succeeds', async () => {
	const logs: string[] = [];
	const cf = client({}, logs);
	try {
		fake.rateLimitNext(1, 1);
		const [item] = await uploadAll([spec(0, pngBytes(5, 5))], { provider: 'cloudflareImages', client: cf }, { backoff: FAST_BACKOFF, log: (_l, m) => logs.push(m) });
		expect(item.error).toBeUndefined();
		expect(item.files[0].attempts).toBe(2);
		expect(fake.calls.rateLimited).toBe(1);
		const text = logs.join('\n');
		expect(text).toMatch(/rate limit reached \(HTTP 429, code 971\); it asks to wait 1 s/);
		expect(text).toMatch(/retrying in 1\.\d s as the provider asked/);
		expect(text).not.toContain(fake.token);
	} finally {
		await cf.close();
	}
});

test('a Retry-After beyond the cap fails at once with a clear message', async () => {
	const cf = client({ maxWaitMs: 60_000 });
	try {
		fake.rateLimitNext(5, 900);
		const [item] = await uploadAll([spec(3, pngBytes(5, 5))], { provider: 'cloudflareImages', client: cf }, { backoff: FAST_BACKOFF, maxRetryAfterMs: 60_000 });
		expect(item.error?.attempts).toBe(1);
		expect(item.error?.describe()).toMatch(/^Item 3, property "data": Cloudflare Images: Please wait.*asked to wait 900 s, more than the 60 s.*\[971, HTTP 429\]$/);
		// The client stays paused: the next file fails at once instead of hanging for 15 minutes.
		const [next] = await uploadAll([spec(4, pngBytes(5, 5))], { provider: 'cloudflareImages', client: cf }, { maxRetryAfterMs: 60_000 });
		expect(next.error?.message).toMatch(/pause uploads for longer than 60 s/);
		expect(fake.calls.rateLimited).toBe(1);
	} finally {
		await cf.close();
	}
});

test('5xx is retried with backoff; a 4xx such as a bad token is final and never shows the token', async () => {
	const cf = client();
	try {
		fake.failNextUploads(2);
		const [item] = await uploadAll([spec(0, pngBytes(5, 5))], { provider: 'cloudflareImages', client: cf }, { backoff: FAST_BACKOFF });
		expect(item.files[0].attempts).toBe(3);
	} finally {
		await cf.close();
	}
	const wrong = client({ apiToken: 'wrong-token-value' });
	try {
		const [item] = await uploadAll([spec(0, pngBytes(5, 5))], { provider: 'cloudflareImages', client: wrong }, { backoff: FAST_BACKOFF });
		expect(item.error).toMatchObject({ code: '10000', httpStatus: 401, attempts: 1 });
		expect(item.error?.describe()).not.toContain('wrong-token-value');
		await expect(wrong.check()).rejects.toThrow(/Authentication error/);
	} finally {
		await wrong.close();
	}
});

test('pre-checks refuse video, > 10 MB, > 12 000 px and > 1024 B metadata without a request', async () => {
	const cf = client();
	try {
		const results = await uploadAll(
			[
				spec(0, mp4Bytes(), { mimeType: 'video/mp4', fileName: 'a.mp4' }),
				spec(1, Buffer.concat([pngBytes(10, 10), Buffer.alloc(10 * 1024 * 1024)])),
				spec(2, pngBytes(12_001, 10)),
				spec(3, pngBytes(10, 10), { metadata: { text: 'x'.repeat(1100) } }),
				spec(4, pngBytes(10, 10), { keyTemplate: 'ok-{{itemIndex}}' }),
			],
			{ provider: 'cloudflareImages', client: cf },
		);
		expect(results[0].error?.message).toMatch(/does not store videos.*use an S3-compatible bucket or R2/);
		expect(results[1].error?.message).toMatch(/at most 10 MB/);
		expect(results[2].error?.message).toMatch(/12001×10 px.*12000 px/);
		expect(results[3].error?.message).toMatch(/metadata is \d+ bytes.*1024/);
		expect(results[4].error).toBeUndefined();
		expect(fake.calls.upload).toBe(1);
	} finally {
		await cf.close();
	}
});

test('the token bucket keeps the sustained rate at the configured limit', async () => {
	const start = Date.now();
	const cf = client({ ratePerSecond: 20 });
	try {
		const files = Array.from({ length: 40 }, (_, i) => spec(i, pngBytes(4, 4, 64)));
		const results = await uploadAll(files, { provider: 'cloudflareImages', client: cf }, { concurrency: 16 });
		expect(results.every((r) => !r.error)).toBe(true);
		const times = fake.uploadTimes.filter((t) => t >= start).sort((a, b) => a - b);
		expect(times).toHaveLength(40);
		// A full bucket holds 20 tokens and refills 20 per second, so the 40th upload cannot be sent
		// before the 20 refills since the bucket was made: a lower bound that no latency can break.
		// (10 ms of slack for millisecond clock rounding.)
		expect(times[times.length - 1] - start).toBeGreaterThanOrEqual(990);
	} finally {
		await cf.close();
	}
});

test('a batch token is fetched once and uploads go to the batch host', async () => {
	const cf = client({ useBatchToken: true });
	try {
		const results = await uploadAll([0, 1, 2].map((i) => spec(i, pngBytes(3, 3))), { provider: 'cloudflareImages', client: cf });
		expect(results.every((r) => !r.error)).toBe(true);
		expect(fake.calls.batchToken).toBe(1);
		expect(fake.calls.batchUpload).toBe(3);
		expect(fake.calls.upload).toBeUndefined();
	} finally {
		await cf.close();
	}
});

test('delivery URLs encode IDs and keep flexible variant options', () => {
	expect(buildDeliveryUrl({ accountHash: 'H', id: 'a b/100%', variant: 'w=400,sharpen=3' })).toBe('https://imagedelivery.net/H/a%20b/100%25/w=400,sharpen=3');
});
