import { resolveContentType, sniffContentType, extensionFromMime, isVideo } from '../../src/storage/contentType';
import { countFrames, readImageDimensions } from '../../src/storage/imageSize';
import { renderKey, templateNeedsSha256, formatDate } from '../../src/storage/keyTemplate';
import { buildPublicUrl, resolveS3Location } from '../../src/storage/presets';
import { TokenBucket } from '../../src/storage/tokenBucket';
import { gifAnimationBytes, gifBytes, heicBytes, jpegBytes, mp4Bytes, pngBytes, webpAnimationBytes, webpVp8xBytes } from './fixtures';

const context = { executionId: '4711', itemIndex: 3, property: 'data', fileName: 'ComfyUI 00001_.PNG', ext: 'png', now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) };

describe('key templates', () => {
	test('renders every placeholder with safe characters', () => {
		expect(renderKey('{{executionId}}/{{itemIndex}}-{{property}}.{{ext}}', context)).toBe('4711/3-data.png');
		expect(renderKey('{{date:YYYY/MM/DD}}/{{fileName}}', context)).toBe('2026/01/02/ComfyUI-00001_.PNG');
		expect(renderKey('{{baseName}}-{{date}}T{{date:HHmmss}}', context)).toBe('ComfyUI-00001_-2026-01-02T030405');
		expect(renderKey('sha/{{sha256short}}/{{sha256}}.{{ext}}', { ...context, sha256: 'ab'.repeat(32) })).toBe(`sha/${'ab'.repeat(8)}/${'ab'.repeat(32)}.png`);
		expect(renderKey('x/{{ property }}', { ...context, property: '../../etc/passwd' })).toBe('x/..-..-etc-passwd');
		expect(renderKey('//lead//{{uuid}}', context)).toMatch(/^lead\/[0-9a-f-]{36}$/);
	});
	test('names the unknown placeholder and rejects bad keys', () => {
		expect(() => renderKey('a/{{execution}}/b', context)).toThrow(/Unknown placeholder \{\{execution\}\}.*\{\{executionId\}\}/);
		expect(() => renderKey('a/', context)).toThrow(/empty file name/);
		expect(() => renderKey('a/../b', context)).toThrow(/"\.\."/);
		expect(() => renderKey('x'.repeat(1025), context)).toThrow(/1024/);
		expect(templateNeedsSha256('{{ sha256 }}')).toBe(true);
		expect(templateNeedsSha256('{{fileName}}')).toBe(false);
		expect(formatDate(context.now, 'YYYY-MM-DD HH:mm:ss')).toBe('2026-01-02 03:04:05');
	});
	test('refuses a key with control characters (newlines too, also at the ends), naming the character and the fix', () => {
		const cases: Array<[string, RegExp]> = [
			['renders/\n{{itemIndex}}.{{ext}}', /a line feed \(U\+000A\) at position 9/],
			['renders/{{itemIndex}}.{{ext}}\n', /a line feed \(U\+000A\) at position 14/],
			['\r\nrenders/{{itemIndex}}', /a carriage return \(U\+000D\) at position 1/],
			['a\tb/{{itemIndex}}', /a tab \(U\+0009\)/],
			['a\u0000b/{{itemIndex}}', /a NUL \(U\+0000\)/],
			['a\u001fb/{{itemIndex}}', /a control character \(U\+001F\)/],
			['a\u007fb/{{itemIndex}}', /a control character \(U\+007F\)/],
		];
		for (const [template, problem] of cases) {
			expect(() => renderKey(template, context)).toThrow(problem);
			expect(() => renderKey(template, context)).toThrow(/remove line breaks and other control characters from the template/);
		}
		// Values of placeholders never bring them: they are made safe.
		expect(renderKey('x/{{property}}', { ...context, property: 'a\nb' })).toBe('x/a-b');
	});
});

describe('content types and dimensions', () => {
	test('sniffs formats from bytes', () => {
		expect(sniffContentType(pngBytes(1, 1))).toBe('image/png');
		expect(sniffContentType(jpegBytes(1, 1))).toBe('image/jpeg');
		expect(sniffContentType(gifBytes(1, 1))).toBe('image/gif');
		expect(sniffContentType(webpVp8xBytes(1, 1))).toBe('image/webp');
		expect(sniffContentType(mp4Bytes())).toBe('video/mp4');
		expect(sniffContentType(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0x42, ...Buffer.from('webm')]))).toBe('video/webm');
		expect(sniffContentType(Buffer.from('RIFF\0\0\0\0WAVEfmt '))).toBe('audio/wav');
		expect(sniffContentType(Buffer.from('fLaC\0\0\0'))).toBe('audio/flac');
		expect(sniffContentType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg">'))).toBe('image/svg+xml');
		expect(sniffContentType(Buffer.from('hello'))).toBeUndefined();
	});
	test('prefers override, then a specific declared type, then bytes, then extension', () => {
		expect(resolveContentType({ override: 'image/avif', declared: 'image/png' })).toBe('image/avif');
		expect(resolveContentType({ declared: 'image/png', head: mp4Bytes() })).toBe('image/png');
		expect(resolveContentType({ declared: 'application/octet-stream', head: mp4Bytes() })).toBe('video/mp4');
		expect(resolveContentType({ head: Buffer.from('??'), fileName: 'a.flac' })).toBe('audio/flac');
		expect(resolveContentType({})).toBe('application/octet-stream');
		expect(extensionFromMime('image/jpeg')).toBe('jpg');
		expect(isVideo('video/webm')).toBe(true);
	});
	test('reads dimensions from PNG, JPEG, GIF and WebP headers', () => {
		expect(readImageDimensions(pngBytes(12001, 7))).toEqual({ width: 12001, height: 7 });
		expect(readImageDimensions(jpegBytes(640, 480))).toEqual({ width: 640, height: 480 });
		expect(readImageDimensions(gifBytes(33, 44))).toEqual({ width: 33, height: 44 });
		expect(readImageDimensions(webpVp8xBytes(13000, 20))).toEqual({ width: 13000, height: 20 });
		expect(readImageDimensions(Buffer.from('nope'))).toBeUndefined();
	});
	test('reads the size of a HEIC image from its largest ispe property, not its thumbnail', () => {
		expect(readImageDimensions(heicBytes(4032, 3024))).toEqual({ width: 4032, height: 3024 });
		expect(readImageDimensions(heicBytes(12_000, 9_000))).toEqual({ width: 12_000, height: 9_000 });
		// A cut-short HEIC, and an mp4 (an ISO-BMFF file that is not HEIF), tell nothing.
		expect(readImageDimensions(heicBytes(100, 100).subarray(0, 60))).toBeUndefined();
		expect(readImageDimensions(mp4Bytes())).toBeUndefined();
	});
	test('counts the frames of animated GIF and WebP; still images have one', () => {
		expect(countFrames(gifAnimationBytes(20, 10, 30))).toBe(30);
		expect(countFrames(webpAnimationBytes(20, 10, 7))).toBe(7);
		expect(countFrames(gifBytes(3, 3))).toBe(1);
		expect(countFrames(webpVp8xBytes(3, 3))).toBe(1);
		expect(countFrames(pngBytes(3, 3))).toBeUndefined();
		// Cut short: the frames seen so far.
		const animation = gifAnimationBytes(20, 10, 30);
		expect(countFrames(animation.subarray(0, animation.length - 15 * 23))).toBeLessThan(30);
	});
});

describe('presets', () => {
	test('fill endpoint, region, path style and checksum mode', () => {
		expect(resolveS3Location({ preset: 'r2', accountId: 'acc' })).toMatchObject({ endpoint: 'https://acc.r2.cloudflarestorage.com', region: 'auto', checksumMode: 'WHEN_REQUIRED' });
		expect(resolveS3Location({ preset: 'b2', region: 'eu-central-003' }).endpoint).toBe('https://s3.eu-central-003.backblazeb2.com');
		expect(resolveS3Location({ preset: 'aws', region: 'eu-west-1' })).toMatchObject({ endpoint: undefined, forcePathStyle: false, checksumMode: 'WHEN_SUPPORTED' });
		expect(resolveS3Location({ preset: 'aws', endpoint: 'https://s3.example.com' }).checksumMode).toBe('WHEN_REQUIRED');
		expect(() => resolveS3Location({ preset: 'r2' })).toThrow(/account ID/);
		expect(() => resolveS3Location({ preset: 'custom' })).toThrow(/endpoint/);
		expect(() => resolveS3Location({ preset: 'minio', endpoint: 'ftp://x' })).toThrow(/http/);
	});
	test('build public URLs with encoded keys', () => {
		const aws = resolveS3Location({ preset: 'aws', region: 'eu-west-1' });
		expect(buildPublicUrl({ location: aws, bucket: 'b', key: 'a b/c+d.png' })).toBe('https://b.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd.png');
		const gcs = resolveS3Location({ preset: 'gcs' });
		expect(buildPublicUrl({ location: gcs, bucket: 'b', key: 'k.png' })).toBe('https://storage.googleapis.com/b/k.png');
		const r2 = resolveS3Location({ preset: 'r2', accountId: 'x' });
		expect(buildPublicUrl({ location: r2, bucket: 'b', key: 'k.png' })).toBeUndefined();
		expect(buildPublicUrl({ location: r2, bucket: 'b', key: 'k.png', publicUrlBase: 'https://cdn.example.com/' })).toBe('https://cdn.example.com/k.png');
		expect(buildPublicUrl({ location: r2, bucket: 'b', key: 'k.png', publicUrlBase: 'https://cdn.example.com/img/{key}?v=1' })).toBe('https://cdn.example.com/img/k.png?v=1');
	});
});

test('token bucket hands out a burst, then tokens at the configured rate', async () => {
	let now = 0;
	const bucket = new TokenBucket(4, 4, () => now);
	for (let i = 0; i < 4; i++) await bucket.acquire();
	let got = false;
	const pending = bucket.acquire().then(() => (got = true));
	await new Promise((r) => setTimeout(r, 5));
	expect(got).toBe(false);
	now = 250;
	await pending;
	expect(got).toBe(true);
	bucket.pause(10_000);
	await expect(bucket.acquire(undefined, 5_000)).rejects.toThrow(/rate limit/);
});

test('a window budget caps the requests per window whatever the rate, counting each from when it ended', async () => {
	let now = 0;
	const bucket = new TokenBucket(100, 100, () => now, { requests: 3, windowMs: 1000 });
	const done = [await bucket.acquire(), await bucket.acquire(), await bucket.acquire()];
	// Three requests under way: a fourth must wait although the rate has tokens to spare.
	let got = false;
	const pending = bucket.acquire(undefined, 60_000).then((end) => {
		got = true;
		return end;
	});
	now = 50;
	done[0]();
	now = 400;
	done[1]();
	done[2]();
	await new Promise((r) => setTimeout(r, 20));
	expect(got).toBe(false);
	// The first request ended at 50 ms: its slot frees once the window has passed since then.
	now = 1051;
	(await pending)();
	expect(got).toBe(true);
	// The two others ended at 400 ms; a deadline before their slots free up fails at once.
	await expect(bucket.acquire(undefined, now + 100)).rejects.toThrow(/rate limit/);
});
