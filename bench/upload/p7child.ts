/**
 * P7 child: uploads one 200 MB video from a generated stream through multipart and prints the peak
 * RSS growth as JSON. Runs in its own process so nothing else shares its memory numbers.
 * Usage: node -r ts-node/register/transpile-only bench/upload/p7child.ts <endpoint> <bucket> <megabytes>
 */
import { Readable } from 'stream';
import { S3Storage, uploadAll } from '../../src/storage';

async function main(): Promise<void> {
	const [endpoint, bucket, megabytes, partMb, queue] = process.argv.slice(2);
	const total = Number(megabytes) * 1024 * 1024;
	const storage = new S3Storage({
		preset: 'custom',
		endpoint,
		accessKeyId: 'bench',
		secretAccessKey: 'bench',
		bucket,
		partSizeBytes: partMb ? Number(partMb) * 1024 * 1024 : undefined,
		queueSize: queue ? Number(queue) : undefined,
	});
	// 64 KiB chunks, as fs.createReadStream (n8n's filesystem binary mode) delivers them.
	const chunk = 64 * 1024;
	const streamOf = (total: number) => async () => {
		let produced = 0;
		return new Readable({
			highWaterMark: chunk,
			read() {
				if (produced >= total) return void this.push(null);
				const size = Math.min(chunk, total - produced);
				const buffer = Buffer.alloc(size, (produced / chunk) % 256);
				if (produced === 0) buffer.write('\0\0\0\x18ftypisom', 0, 'latin1');
				produced += size;
				this.push(buffer);
			},
		});
	};
	const video = (size: number, name: string) => ({
		itemIndex: 0,
		property: 'video',
		fileName: name,
		mimeType: 'video/mp4',
		body: { kind: 'stream' as const, size, open: streamOf(size) },
		keyTemplate: 'bench/{{fileName}}',
		keyContext: { executionId: 'p7' },
	});
	// Warm-up: a small multipart upload loads the SDK's code paths (credentials, signing, XML), so the
	// growth measured below is what the 200 MB video costs, not module loading.
	const [warm] = await uploadAll([video(12 * 1024 * 1024, 'warmup.mp4')], { provider: 's3', storage, urlKind: 'none' });
	if (warm.error) throw warm.error;
	const baseline = process.memoryUsage().rss;
	let peak = baseline;
	const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
	const started = Date.now();
	const [result] = await uploadAll(
		[video(total, 'video.mp4')],
		{ provider: 's3', storage, urlKind: 'none' },
	);
	clearInterval(sampler);
	peak = Math.max(peak, process.memoryUsage().rss);
	storage.destroy();
	if (result.error) throw result.error;
	process.stdout.write(
		JSON.stringify({ seconds: (Date.now() - started) / 1000, baselineMb: baseline / 1048576, peakGrowthMb: (peak - baseline) / 1048576, size: result.files[0].size, multipart: result.files[0].multipart, etag: result.files[0].etag }) + '\n',
	);
}

main().catch((error: unknown) => {
	process.stderr.write(`${String(error)}\n`);
	process.exit(1);
});
