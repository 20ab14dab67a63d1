/**
 * Runs fauxqs 1.9.2 (S3 emulator, ESM only, so not loadable by jest's CommonJS runtime) in a child
 * process on 127.0.0.1 and gives tests a handle to inject latency and 503 SlowDown faults.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';

/** A plain SDK client on a fauxqs endpoint, to look behind the code under test (path style, no checksums asked for). */
export function rawS3Client(endpoint: string): S3Client {
	return new S3Client({
		endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
}

export interface FauxqsState {
	latencyMs: number;
	failPuts: number;
	failDeletes: number;
	retryAfter: number;
	counts: Record<string, number>;
	failed: number;
	bytesIn: number;
}

export interface FauxqsHandle {
	endpoint: string;
	port: number;
	/** Sets latency / faults; `failPuts` (`failDeletes`) = how many next PUTs (DELETEs) answer 503 SlowDown. */
	control(params: { latencyMs?: number; failPuts?: number; failDeletes?: number; retryAfter?: number; reset?: boolean }): Promise<FauxqsState>;
	stats(): Promise<FauxqsState>;
	close(): Promise<void>;
}

export async function startFauxqs(options: { latencyMs?: number } = {}): Promise<FauxqsHandle> {
	const script = join(__dirname, 'fauxqsServer.mjs');
	const child: ChildProcess = spawn(process.execPath, [script, '0', String(options.latencyMs ?? 0)], {
		stdio: ['pipe', 'pipe', 'inherit'],
		cwd: join(__dirname, '..', '..'),
	});
	const port = await new Promise<number>((resolve, reject) => {
		// a hang guard, not a speed check: loading fauxqs takes seconds on a loaded machine
		const timer = setTimeout(() => reject(new Error('fauxqs did not start within 50 s')), 50_000);
		let buffer = '';
		child.stdout?.on('data', (chunk: Buffer) => {
			buffer += chunk.toString();
			const match = /listening (\d+)/.exec(buffer);
			if (match) {
				clearTimeout(timer);
				resolve(Number(match[1]));
			}
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`fauxqs exited with code ${code}`));
		});
	});
	const endpoint = `http://127.0.0.1:${port}`;
	const call = async (path: string): Promise<FauxqsState> => {
		const response = await fetch(`${endpoint}${path}`, { signal: AbortSignal.timeout(5000) });
		return (await response.json()) as FauxqsState;
	};
	return {
		endpoint,
		port,
		control: (params) => {
			const query = new URLSearchParams();
			for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
			return call(`/__control?${query.toString()}`);
		},
		stats: () => call('/__stats'),
		close: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
				child.once('exit', () => {
					clearTimeout(timer);
					resolve();
				});
				child.kill('SIGTERM');
			}),
	};
}
