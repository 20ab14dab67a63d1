/**
 * Upload benchmark. P6: 200 × 200 KB files with 50 ms latency per request injected into fauxqs:
 * our uploader vs serial PutObject (what n8n's AWS S3 node does) vs a raw SDK loop at concurrency 32.
 * P7: one 200 MB video through multipart from a stream, peak RSS growth measured in a child process.
 * Run: npx ts-node --transpile-only bench/upload/run.ts   (writes bench/results/upload.md)
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import http from 'http';
import { join } from 'path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { DEFAULT_UPLOAD_CONCURRENCY, S3Storage, uploadAll, type UploadFileSpec } from '../../src/storage';
import { startFauxqs } from '../../test/fakes/fauxqs';

const FILES = 200;
const SIZE = 200 * 1024;
const LATENCY_MS = 50;
const RUNS = 3;
const BUCKET = 'bench';

function rawClient(endpoint: string, maxSockets: number): S3Client {
	return new S3Client({
		endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
		requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets }) },
	});
}

async function timed(fn: () => Promise<void>): Promise<number> {
	const start = process.hrtime.bigint();
	await fn();
	return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
	const server = await startFauxqs({ latencyMs: 0 });
	const lines: string[] = [];
	try {
		const setup = rawClient(server.endpoint, 8);
		await setup.send(new CreateBucketCommand({ Bucket: BUCKET }));
		const bodies = Array.from({ length: FILES }, () => randomBytes(SIZE));
		await server.control({ latencyMs: LATENCY_MS });

		const specs = (round: string): UploadFileSpec[] =>
			bodies.map((data, i) => ({
				itemIndex: i,
				property: 'data',
				fileName: `f${i}.png`,
				mimeType: 'image/png',
				body: { kind: 'buffer', data },
				keyTemplate: `p6/${round}/{{itemIndex}}.{{ext}}`,
				keyContext: { executionId: round },
			}));
		const ours = (concurrency: number) => async (round: string) => {
			const storage = new S3Storage({ preset: 'custom', endpoint: server.endpoint, accessKeyId: 'bench', secretAccessKey: 'bench', bucket: BUCKET, maxSockets: Math.max(64, concurrency * 2) });
			const results = await uploadAll(specs(round), { provider: 's3', storage, urlKind: 'public' }, { concurrency });
			storage.destroy();
			const failed = results.filter((r) => r.error);
			if (failed.length > 0) throw failed[0].error;
		};
		const serial = async (round: string) => {
			const client = rawClient(server.endpoint, 1);
			for (let i = 0; i < FILES; i++) {
				await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `p6/${round}/${i}.png`, Body: bodies[i], ContentType: 'image/png' }));
			}
			client.destroy();
		};
		const raw32 = async (round: string) => {
			const client = rawClient(server.endpoint, 32);
			const limit = pLimit(32);
			await Promise.all(bodies.map((body, i) => limit(() => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `p6/${round}/${i}.png`, Body: body, ContentType: 'image/png' })))));
			client.destroy();
		};
		const contenders: Array<[string, (round: string) => Promise<void>]> = [
			['serial (one by one, like n8n\'s AWS S3 node)', serial],
			['raw SDK loop, concurrency 32', raw32],
			[`ours, node defaults (concurrency ${DEFAULT_UPLOAD_CONCURRENCY})`, ours(DEFAULT_UPLOAD_CONCURRENCY)],
			['ours, concurrency 8 (the earlier default)', ours(8)],
		];
		// Our code runs warm, as in a running n8n (the SDK's own paths are warmed by the serial contender).
		await ours(DEFAULT_UPLOAD_CONCURRENCY)('warm-up');
		const times = new Map<string, number[]>();
		for (let run = 0; run < RUNS; run++) {
			for (const [name, fn] of contenders) {
				const ms = await timed(() => fn(`${name.split(' ')[0]}-${run}`));
				times.set(name, [...(times.get(name) ?? []), ms]);
				process.stderr.write(`run ${run + 1} ${name}: ${ms.toFixed(0)} ms\n`);
			}
		}
		const serialMedian = median(times.get(contenders[0][0]) ?? []);
		const rawMedian = median(times.get(contenders[1][0]) ?? []);
		lines.push(
			`## P6: ${FILES} × ${SIZE / 1024} KB, ${LATENCY_MS} ms latency per request (fauxqs 1.9.2, loopback, ${RUNS} runs)`,
			'',
			'Our code is warmed by one untimed upload of the same files first, as in a running n8n; the SDK by the serial contender.',
			'',
			'| Contender | Median | Worst | Files/s (median) | × serial | × raw c=32 |',
			'|---|---|---|---|---|---|',
		);
		for (const [name] of contenders) {
			const values = times.get(name) ?? [];
			const med = median(values);
			lines.push(`| ${name} | ${med.toFixed(0)} ms | ${Math.max(...values).toFixed(0)} ms | ${(FILES / (med / 1000)).toFixed(0)} | ${(serialMedian / med).toFixed(1)} | ${(rawMedian / med).toFixed(2)} |`);
		}
		// Judged at the node's defaults, worst run against the other contenders' medians.
		const defaults = times.get(contenders[2][0]) ?? [];
		const worstDefaults = Math.max(...defaults);
		const timesSerial = serialMedian / worstDefaults;
		const timesRaw = rawMedian / worstDefaults;
		lines.push(
			'',
			'| Goal (node defaults, worst run) | Measured | Met |',
			'|---|---|---|',
			`| ≥ 10 × serial | ${timesSerial.toFixed(1)} × | ${timesSerial >= 10 ? 'yes' : '**no**'} |`,
			`| ≥ 0.9 × the raw SDK loop | ${timesRaw.toFixed(2)} × | ${timesRaw >= 0.9 ? 'yes' : '**no**'} |`,
		);
		await server.control({ latencyMs: 0 });

		const runP7 = (partMb: string, queue: string) =>
			new Promise<string>((resolve, reject) => {
				const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'p7child.ts'), server.endpoint, BUCKET, '200', partMb, queue], {
					stdio: ['ignore', 'pipe', 'inherit'],
					cwd: join(__dirname, '..', '..'),
				});
				let out = '';
				child.stdout.on('data', (c: Buffer) => (out += c.toString()));
				child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`P7 child exited ${code}`))));
			});
		lines.push(
			'',
			'## P7: one 200 MB video through multipart from a stream of 64 KiB chunks (child process)',
			'',
			'Baseline RSS is taken after a 12 MB warm-up upload in the same process, so the growth is what the video',
			'costs and not the loading of the SDK\'s code paths (a cold first upload adds about 30 MB more).',
			'',
			'| Parts | Size | Time | Baseline RSS | Peak RSS growth | Goal | ETag |',
			'|---|---|---|---|---|---|---|',
		);
		for (const [partMb, queue] of [['8', '4'], ['5', '2']]) {
			const r = JSON.parse(await runP7(partMb, queue)) as { seconds: number; baselineMb: number; peakGrowthMb: number; size: number; etag: string };
			const label = partMb === '8' ? '8 MiB × 4 in flight (default)' : '5 MiB × 2 in flight';
			lines.push(`| ${label} | ${(r.size / 1048576).toFixed(0)} MB | ${r.seconds.toFixed(1)} s | ${r.baselineMb.toFixed(0)} MB | ${r.peakGrowthMb.toFixed(1)} MB | ≤ 100 MB | ${r.etag} |`);
		}
		setup.destroy();
	} finally {
		await server.close();
	}
	const report = `# Upload benchmark\n\nMachine: ${process.platform} ${process.arch}, Node ${process.version}; client and server share the same cores.\n\n${lines.join('\n')}\n`;
	process.stdout.write(report);
	mkdirSync(join(__dirname, '..', 'results'), { recursive: true });
	writeFileSync(join(__dirname, '..', 'results', 'upload.md'), report);
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
