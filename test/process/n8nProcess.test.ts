/**
 * The nodes in a plain Node process with n8n's modules loaded first, as in n8n (test/process/scenarios.ts
 * runs there and reports): URL and binary input images, a UI-format workflow, Generate → Cloud Image
 * Storage to S3, an upload to Cloudflare Images, Submit then Collect, Cancel, Cluster Status, Free
 * Memory; and nothing of ours goes through undici's global dispatcher, which in such a process belongs
 * to Node's bundled undici.
 */
import { spawn } from 'child_process';
import { join } from 'path';
import { REPORT_PREFIX, type ProcessReport, type RunFacts } from './report';

const ROOT = join(__dirname, '..', '..');
const CHILD_TIMEOUT_MS = 240_000;

/** Runs scenarios.ts in `node -r axios -r n8n-core -r ts-node/register/transpile-only` and parses its report. */
function runInN8nProcess(): Promise<ProcessReport> {
	return new Promise((resolve, reject) => {
		const child = spawn(
			process.execPath,
			['-r', 'axios', '-r', 'n8n-core', '-r', 'ts-node/register/transpile-only', join('test', 'process', 'scenarios.ts')],
			// Our node files sit next to their .node.json codex: ts-node must prefer the .ts file.
			{ cwd: ROOT, env: { ...process.env, TS_NODE_PREFER_TS_EXTS: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
		);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
		child.once('error', reject);
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			const line = stdout.split('\n').find((l) => l.startsWith(REPORT_PREFIX));
			if (code === 0 && line) return resolve(JSON.parse(line.slice(REPORT_PREFIX.length)) as ProcessReport);
			reject(new Error(`the n8n-like process ended with ${signal ?? `code ${code}`} and no report\n${stderr.slice(-4000)}`));
		});
	});
}

let report: ProcessReport;

beforeAll(async () => {
	report = await runInN8nProcess();
}, CHILD_TIMEOUT_MS + 10_000);

/** Every item of the run succeeded (the error, if any, is in the failure message). */
function expectSuccess(facts: RunFacts, count: number): void {
	expect({ status: facts.status, error: facts.error }).toEqual({ status: 'success', error: undefined });
	expect(facts.items.map((i) => i.error)).toEqual(Array(count).fill(undefined));
}

describe('in a process loaded like n8n (axios and n8n-core first)', () => {
	it('runs in such a process: undici\'s global dispatcher there is not the package\'s undici', () => {
		// The premise of every case below; if n8n stops installing it, these cases prove less.
		expect(report.globalDispatcher).toMatchObject({ present: true, fromPackageUndici: false });
	});

	it('fetches an input image by URL through a redirect, once, and uploads its bytes to each server used', () => {
		const facts = report.urlInput;
		expectSuccess(facts, 6);
		expect(facts.items.every((i) => i.png)).toBe(true);
		expect(facts.requests).toEqual({ '/old/cat.png': 1, '/inputs/cat.png': 1 });
		expect(facts.usedServers).toBeGreaterThan(1);
		expect(facts.uploadsOnUsedServers).toEqual(Array(facts.usedServers).fill(1));
		expect(facts.uploadedBytesMatch).toEqual(Array(facts.usedServers).fill(true));
	});

	it('uploads a binary input image to each server used', () => {
		const facts = report.binaryInput;
		expectSuccess(facts, 4);
		expect(facts.items.every((i) => i.png)).toBe(true);
		expect(facts.uploadsOnUsedServers).toEqual(Array(facts.usedServers).fill(1));
		expect(facts.uploadedBytesMatch).toEqual(Array(facts.usedServers).fill(true));
	});

	it('converts a UI-format workflow with the server catalogue and runs it', () => {
		const facts = report.uiFormat;
		expectSuccess(facts, 2);
		expect(facts.items.every((i) => i.png)).toBe(true);
		expect(facts.samplerSeeds).toEqual([7000, 7001]);
	});

	it('Generate → Cloud Image Storage (examples/cluster-to-storage.json): every image uploaded to S3 and served back unchanged', () => {
		const facts = report.generateToStorage;
		expectSuccess(facts, 12);
		expect({ uploaded: facts.uploaded, servedSameBytes: facts.servedSameBytes }).toEqual({ uploaded: 12, servedSameBytes: 12 });
	});

	it('uploads to Cloudflare Images (the fake) and returns delivery URLs', () => {
		const facts = report.cloudflareImages;
		expectSuccess(facts, 2);
		expect(facts.stored).toBe(2);
		expect(facts.urls).toEqual([0, 1].map((i) => expect.stringMatching(new RegExp(`^https://imagedelivery\\.net/[^/]+/process-${i}/public$`))));
	});

	it('Submit in one run, Collect in another on its handles', () => {
		const facts = report.submitThenCollect;
		expect(facts.submitted).toBe(3);
		expectSuccess(facts, 3);
		expect(facts.items.every((i) => i.png)).toBe(true);
	});

	it('Cancel, Cluster Status and Free Memory answer for every scene and server', () => {
		expectSuccess(report.cancel, 9);
		for (const outcome of report.cancel.outcomes) expect(['deleted', 'interrupted', 'not-found']).toContain(outcome);
		expectSuccess(report.clusterStatus, report.servers.length);
		expect(report.clusterStatus.reachable).toEqual(report.servers.map((url) => [url, true]));
		expectSuccess(report.freeMemory, report.servers.length);
		expect(report.freeMemory.freed).toEqual(report.servers.map((url) => [url, true]));
	});

	it('sends nothing through undici\'s global dispatcher and leaves it as it found it (websockets included)', () => {
		expect(report.webSocketClients).toBeGreaterThan(0);
		expect(report.globalDispatcher).toMatchObject({ sameAfter: true, dispatches: 0 });
	});
});
