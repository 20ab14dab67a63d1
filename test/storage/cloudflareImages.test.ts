import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { CloudflareImagesClient, buildDeliveryUrl } from '../../src/storage/cloudflareImages';
import { StorageError } from '../../src/storage/errors';
import { uploadAll, type UploadFileSpec } from '../../src/storage/uploader';
import { startCloudflareImagesFake, type CloudflareImagesFake } from '../fakes/cloudflareImages';
import { gifAnimationBytes, heicBytes, mp4Bytes, pngBytes, jpegBytes, webpAnimationBytes, webpVp8xBytes } from './fixtures';

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
		expect(next.error?.message).toMatch(/could not go out within the 60 s this node waits/);
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

/** The delivery URL on the fake's delivery host (the signature covers the path and query only). */
function onFake(url: string): string {
	return url.replace('https://imagedelivery.net', fake.deliveryBaseUrl);
}

/** Paths (as sent, still encoded) of the requests the fake saw with `method`. */
function pathsOf(method: string): string[] {
	return fake.requests.filter((r) => r.method === method).map((r) => r.path);
}

describe('image IDs with "/" in API paths', () => {
	test('are one fully encoded segment: Skip If It Exists, the 5409 follow-up, get and delete all find "renders/e9-0"', async () => {
		const logs: string[] = [];
		const cf = client({}, logs);
		try {
			const file = () => spec(0, pngBytes(20, 20), { keyTemplate: 'renders/{{executionId}}-{{itemIndex}}' });
			const [first] = await uploadAll([file()], { provider: 'cloudflareImages', client: cf });
			expect(first.error).toBeUndefined();
			// The upload's id form field carries the ID as is.
			expect(fake.images.has('renders/e9-0')).toBe(true);

			const [skipped] = await uploadAll([file()], { provider: 'cloudflareImages', client: cf }, { skipIfExists: true });
			expect(skipped.error).toBeUndefined();
			expect(skipped.files[0]).toMatchObject({ id: 'renders/e9-0', skipped: true, skippedReason: 'exists', url: first.files[0].url });

			const [again] = await uploadAll([file()], { provider: 'cloudflareImages', client: cf }, { backoff: FAST_BACKOFF });
			expect(again.error).toBeUndefined();
			expect(again.files[0]).toMatchObject({ id: 'renders/e9-0', skipped: true, skippedReason: 'already uploaded (5409)' });

			expect((await cf.get('renders/e9-0'))?.id).toBe('renders/e9-0');
			expect(await cf.delete('renders/e9-0')).toBe(true);
			expect(fake.images.has('renders/e9-0')).toBe(false);
			expect(await cf.delete('renders/e9-0')).toBe(false);
			expect(await cf.get('renders/e9-0')).toBeUndefined();

			const imagePath = `/client/v4/accounts/${fake.accountId}/images/v1/renders%2Fe9-0`;
			expect(new Set(pathsOf('GET'))).toEqual(new Set([imagePath]));
			expect(new Set(pathsOf('DELETE'))).toEqual(new Set([imagePath]));
			expect(fake.calls.noRoute).toBeUndefined();
			expect(fake.calls.upload).toBe(2);
		} finally {
			await cf.close();
		}
	});

	test('IDs with "%", spaces and non-ASCII characters round-trip through get and delete', async () => {
		const cf = client();
		try {
			for (const id of ['100%/a b', 'fotos/über ß/ñ+1', 'a?b#c']) {
				const [item] = await uploadAll([spec(0, pngBytes(4, 4), { keyTemplate: id })], { provider: 'cloudflareImages', client: cf });
				expect(item.files[0]?.id).toBe(id);
				expect((await cf.get(id))?.id).toBe(id);
				expect(await cf.delete(id)).toBe(true);
			}
			expect(fake.images.size).toBe(0);
		} finally {
			await cf.close();
		}
	});
});

describe('a 404 is "absent" only when Cloudflare says the image does not exist (5404)', () => {
	test('a route that does not exist fails get and delete with the URL path, never a quiet "absent"', async () => {
		// The API Base URL set to the images URL by mistake: every image path lands on a route that does not exist.
		const cf = client({ apiBaseUrl: `${fake.apiBaseUrl}/accounts/${fake.accountId}/images/v1` });
		try {
			const wrongPath = `/client/v4/accounts/${fake.accountId}/images/v1/accounts/${fake.accountId}/images/v1/renders%2Fx`;
			const get = await cf.get('renders/x').then(
				() => undefined,
				(error: unknown) => error,
			);
			expect(get).toBeInstanceOf(StorageError);
			expect(get).toMatchObject({ code: '7003', httpStatus: 404, retryable: false });
			expect((get as StorageError).message).toContain(`no API route GET ${wrongPath}`);
			expect((get as StorageError).message).toMatch(/check the API Base URL/);
			expect((get as StorageError).message).not.toContain(fake.token);
			await expect(cf.delete('renders/x')).rejects.toThrow(`no API route DELETE ${wrongPath}`);
		} finally {
			await cf.close();
		}
	});

	test('a proxy answering a bare 404 page is an error too; a missing image is absent', async () => {
		const proxy = createServer((req, res) => {
			req.resume();
			res.writeHead(404, { 'content-type': 'text/html' });
			res.end('<html><body>Not Found</body></html>');
		});
		await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		const viaProxy = client({ apiBaseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/cf` });
		const direct = client();
		try {
			await expect(viaProxy.get('a')).rejects.toMatchObject({ code: 'RouteNotFound', httpStatus: 404 });
			await expect(viaProxy.delete('a')).rejects.toThrow(/no API route DELETE \/cf\/accounts\/.*\/images\/v1\/a \(HTTP 404/);
			expect(await direct.get('never-uploaded')).toBeUndefined();
			expect(await direct.delete('never-uploaded')).toBe(false);
		} finally {
			await viaProxy.close();
			await direct.close();
			await new Promise((resolve) => proxy.close(resolve));
		}
	});
});

describe('Require Signed URLs', () => {
	/** The signature as Cloudflare's "Serve private images" Worker computes it (WebCrypto), for comparison. */
	async function documentedSignature(url: string, key: string): Promise<string> {
		const parsed = new URL(url);
		parsed.searchParams.delete('sig');
		const encoder = new TextEncoder();
		const cryptoKey = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
		const mac = await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(`${parsed.pathname}?${parsed.searchParams.toString()}`));
		return [...new Uint8Array(mac)].map((x) => x.toString(16).padStart(2, '0')).join('');
	}

	test('returns URLs signed as Cloudflare defines them (exp + sig), which the delivery host serves', async () => {
		const logs: string[] = [];
		const cf = client({ signingKey: fake.signingKey, deliveryDomain: 'images.example.com' }, logs);
		try {
			const data = pngBytes(30, 30);
			const before = Math.floor(Date.now() / 1000);
			const [item] = await uploadAll([spec(0, data)], { provider: 'cloudflareImages', client: cf, requireSignedURLs: true, signedUrlExpirySeconds: 600 }, { log: (_l, m) => logs.push(m) });
			expect(item.error).toBeUndefined();
			const file = item.files[0];
			expect(fake.images.get(String(file.id))?.requireSignedURLs).toBe(true);
			// Signed URLs live on imagedelivery.net, the host Cloudflare documents signing for.
			const url = new URL(String(file.url));
			expect(`${url.origin}${url.pathname}`).toBe(`https://imagedelivery.net/${fake.accountHash}/${file.id}/public`);
			const exp = Number(url.searchParams.get('exp'));
			expect(exp).toBeGreaterThanOrEqual(before + 600);
			expect(exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 600);
			expect(url.searchParams.get('sig')).toBe(await documentedSignature(String(file.url), fake.signingKey));

			const served = await fetch(onFake(String(file.url)));
			expect(served.status).toBe(200);
			expect(Buffer.from(await served.arrayBuffer()).equals(data)).toBe(true);
			for (const variant of file.variants ?? []) expect((await fetch(onFake(variant))).status).toBe(200);
			// Unsigned, or signed with another key, Cloudflare refuses it.
			expect((await fetch(onFake(`${url.origin}${url.pathname}`))).status).toBe(403);
			const forged = new URL(String(file.url));
			forged.searchParams.set('sig', await documentedSignature(String(file.url), 'another-key'));
			expect((await fetch(onFake(forged.toString()))).status).toBe(403);
			expect(logs.join('\n')).not.toContain(fake.signingKey);
		} finally {
			await cf.close();
		}
	});

	test('without a signing key, or with a flexible variant, the upload is refused before any request', async () => {
		const withoutKey = client();
		const withKey = client({ signingKey: fake.signingKey });
		try {
			await expect(uploadAll([spec(0, pngBytes(3, 3))], { provider: 'cloudflareImages', client: withoutKey, requireSignedURLs: true })).rejects.toThrow(
				/Require Signed URLs needs the URL Signing Key of the Cloudflare Images credential.*"URL Signing Key" field/,
			);
			await expect(
				uploadAll([spec(0, pngBytes(3, 3))], { provider: 'cloudflareImages', client: withKey, requireSignedURLs: true, variant: 'w=400' }),
			).rejects.toThrow(/cannot sign flexible variants \("w=400"\)/);
			expect(fake.requests).toHaveLength(0);
		} finally {
			await withoutKey.close();
			await withKey.close();
		}
	});
});

describe('the API budget and 429s', () => {
	test('every API request counts against the token budget: lookups and deletes wait their turn, no 429', async () => {
		await fake.close();
		fake = await startCloudflareImagesFake({ budget: { requests: 6, windowMs: 1500, blockMs: 60_000 } });
		const cf = client({ apiBudget: { requests: 6, windowMs: 1500 }, maxWaitMs: 10_000 });
		try {
			const files = [0, 1, 2, 3].map((i) => spec(i, pngBytes(4, 4), { keyTemplate: 'budget/{{itemIndex}}' }));
			// 4 lookups (Skip If It Exists) + 4 uploads, then 4 deletes: 12 requests on a budget of 6 per 1.5 s.
			const results = await uploadAll(files, { provider: 'cloudflareImages', client: cf }, { skipIfExists: true, maxRetryAfterMs: 1000, backoff: FAST_BACKOFF });
			expect(results.map((r) => r.error?.describe())).toEqual([undefined, undefined, undefined, undefined]);
			expect(await Promise.all([0, 1, 2, 3].map((i) => cf.delete(`budget/${i}`)))).toEqual([true, true, true, true]);
			expect(fake.calls.overBudget).toBeUndefined();
			expect(fake.calls).toMatchObject({ get: 4, upload: 4, delete: 4 });
		} finally {
			await cf.close();
		}
	});

	test('a 429 without Retry-After means the documented 5-minute block; past Max Wait the file fails with a clear message', async () => {
		const logs: string[] = [];
		const cf = client({ maxWaitMs: 60_000 }, logs);
		try {
			fake.rateLimitNext(1, null);
			const [item] = await uploadAll([spec(2, pngBytes(5, 5))], { provider: 'cloudflareImages', client: cf }, { backoff: FAST_BACKOFF, maxRetryAfterMs: 60_000 });
			expect(item.error?.attempts).toBe(1);
			expect(item.error?.retryAfterMs).toBe(300_000);
			expect(item.error?.describe()).toMatch(
				/^Item 2, property "data": Cloudflare Images: Please wait.*\(no Retry-After: Cloudflare blocks every call of the token for 5 minutes after a 429\).*asked to wait 300 s, more than the 60 s this node waits.*\[971, HTTP 429\]$/,
			);
			expect(logs.join('\n')).toMatch(/no Retry-After, so the documented 5-minute block applies, pausing all requests/);
			// Every request of the token waits out the block, lookups too: they fail at once rather than stall.
			await expect(cf.get('anything')).rejects.toThrow(/could not go out within the 60 s this node waits/);
			expect(fake.calls.rateLimited).toBe(1);
			expect(fake.calls.get).toBeUndefined();
		} finally {
			await cf.close();
		}
	});
});

describe('batch tokens', () => {
	test('a valid token is reused, renewed before it expires, never sent expired; lookups use the batch host too', async () => {
		await fake.close();
		fake = await startCloudflareImagesFake({ batchTokenTtlMs: 4000 });
		const cf = client({ useBatchToken: true });
		try {
			const upload = (i: number) => uploadAll([spec(i, pngBytes(3, 3), { keyTemplate: 'b/{{itemIndex}}' })], { provider: 'cloudflareImages', client: cf }, { skipIfExists: true });
			for (const i of [0, 1]) expect((await upload(i))[0].error).toBeUndefined();
			expect(fake.calls.batchToken).toBe(1);
			// Renewed a quarter of its life (1 s) before it expires.
			await new Promise((resolve) => setTimeout(resolve, 3100));
			expect((await upload(2))[0].error).toBeUndefined();
			expect(fake.calls.batchToken).toBe(2);
			expect(fake.calls.expiredBatchToken).toBeUndefined();
			expect(fake.requests.filter((r) => r.method === 'GET' && r.host === 'batch')).toHaveLength(3);
			expect(fake.calls.upload).toBeUndefined();
		} finally {
			await cf.close();
		}
	});

	test('a token refused before its announced expiry is replaced once and the request goes through', async () => {
		const logs: string[] = [];
		const cf = client({ useBatchToken: true }, logs);
		try {
			expect((await uploadAll([spec(0, pngBytes(3, 3))], { provider: 'cloudflareImages', client: cf }))[0].error).toBeUndefined();
			fake.expireBatchTokens();
			const results = await uploadAll([1, 2, 3].map((i) => spec(i, pngBytes(3, 3))), { provider: 'cloudflareImages', client: cf });
			expect(results.map((r) => r.error?.describe())).toEqual([undefined, undefined, undefined]);
			expect(fake.calls.batchToken).toBe(2);
			expect(logs.filter((l) => /refused the batch token/.test(l))).toHaveLength(1);
			expect(logs.join('\n')).not.toMatch(/batch-[0-9a-f-]{36}/);
		} finally {
			await cf.close();
		}
	});
});

describe('formats and limits as Cloudflare documents them', () => {
	test('HEIC is accepted and stored; metadata comes back from the schema\'s `meta` field', async () => {
		const cf = client();
		try {
			const data = heicBytes(4032, 3024);
			const [item] = await uploadAll([spec(0, data, { mimeType: 'image/heic', fileName: 'IMG_0001.HEIC', keyTemplate: 'photo-{{itemIndex}}', metadata: { camera: 'x' } })], {
				provider: 'cloudflareImages',
				client: cf,
			});
			expect(item.error).toBeUndefined();
			expect(item.files[0]).toMatchObject({ id: 'photo-0', contentType: 'image/heic' });
			expect(fake.images.get('photo-0')?.bytes.equals(data)).toBe(true);
			expect((await cf.get('photo-0'))?.metadata).toEqual({ camera: 'x' });
		} finally {
			await cf.close();
		}
	});

	test('the 100-megapixel area (all frames of an animation together) is checked before upload; WebP is not held to 12,000 px per side', async () => {
		const cf = client();
		try {
			const results = await uploadAll(
				[
					spec(0, pngBytes(11_000, 10_000)),
					spec(1, heicBytes(12_000, 9_000), { mimeType: 'image/heic' }),
					spec(2, gifAnimationBytes(2000, 2000, 30), { mimeType: 'image/gif' }),
					spec(3, webpAnimationBytes(4000, 3000, 10), { mimeType: 'image/webp' }),
					spec(4, webpVp8xBytes(13_000, 5_000), { mimeType: 'image/webp' }),
					spec(5, gifAnimationBytes(500, 500, 10), { mimeType: 'image/gif' }),
					spec(6, pngBytes(10_000, 10_000)),
				],
				{ provider: 'cloudflareImages', client: cf },
			);
			expect(results[0].error?.message).toMatch(/11000×10000 px = 110\.0 megapixels; Cloudflare Images accepts at most 100 megapixels\./);
			expect(results[0].error?.code).toBe('ImageTooLarge');
			expect(results[1].error?.message).toMatch(/12000×9000 px = 108\.0 megapixels/);
			expect(results[2].error?.message).toMatch(/2000×2000 px × 30 frames = 120\.0 megapixels.*for all frames together/);
			expect(results[3].error?.message).toMatch(/4000×3000 px × 10 frames = 120\.0 megapixels/);
			expect(results.slice(4).map((r) => r.error?.message)).toEqual([undefined, undefined, undefined]);
			expect(fake.calls.upload).toBe(3);
		} finally {
			await cf.close();
		}
	});
});
