/**
 * The nodes in a plain Node process loaded the way n8n loads them: axios and n8n-core first, then our
 * TypeScript, no jest module registry. By hand:
 *   TS_NODE_PREFER_TS_EXTS=true node -r axios -r n8n-core -r ts-node/register/transpile-only test/process/scenarios.ts Runs workflows in n8n's engine (test/workflow/harness.ts) against simulators,
 * a file server, fauxqs and the Cloudflare Images fake, and prints one line `@@report <json>` with what
 * happened, for test/process/n8nProcess.test.ts to check.
 *
 * Why a process of its own: loading axios makes Node's bundled undici install its Agent as undici's
 * global dispatcher. That undici is not the package's (Node 20 bundles undici 6, the package uses 7);
 * anything of ours built on the global dispatcher breaks only in such a process, which jest's module
 * isolation never is.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { get } from 'http';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { ICredentialDataDecryptedObject, INodeExecutionData } from 'n8n-workflow';
import { CloudflareImagesApi } from '../../credentials/CloudflareImagesApi.credentials';
import { S3CompatibleApi } from '../../credentials/S3CompatibleApi.credentials';
import { CloudImageStorage } from '../../nodes/CloudImageStorage/CloudImageStorage.node';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import { startCloudflareImagesFake } from '../fakes/cloudflareImages';
import { startFauxqs } from '../fakes/fauxqs';
import { encodePng, type Fleet } from '../sim';
import { registerBuiltins } from '../workflow/builtins';
import {
	clusterCredential,
	credentialTypes as clusterCredentialTypes,
	fixture,
	isPng,
	readWorkflowJson,
	setItems,
	setParameters,
	startFileServer,
	startTestFleet,
	useRedis,
	type WorkflowJson,
} from '../workflow/comfyui';
import { NodeTypes, runWorkflow, type RunResult } from '../workflow/harness';
import { REPORT_PREFIX, type ProcessReport, type RunFacts } from './report';

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const STORAGE_TYPE = 'n8n-nodes-comfyui-cluster.cloudImageStorage';

interface Dispatching {
	dispatch(...args: unknown[]): unknown;
}

/** Counts every dispatch through undici's global dispatcher (whichever undici installed it). */
function watchGlobalDispatcher(): () => ProcessReport['globalDispatcher'] {
	const holder = globalThis as unknown as Record<symbol, Dispatching | undefined>;
	const before = holder[GLOBAL_DISPATCHER];
	let dispatches = 0;
	if (before) {
		const original = before.dispatch.bind(before);
		before.dispatch = (...args: unknown[]) => {
			dispatches++;
			return original(...args);
		};
	}
	// Required only now, so that loading it cannot be what set the global dispatcher.
	const { Agent } = require('undici') as typeof import('undici');
	return () => ({
		present: before !== undefined,
		fromPackageUndici: before instanceof Agent,
		sameAfter: holder[GLOBAL_DISPATCHER] === before,
		dispatches,
	});
}

/** GET over node:http (not undici, so our own checks never count as dispatches). */
function download(url: string): Promise<{ status: number; body: Buffer }> {
	return new Promise((resolve, reject) => {
		const request = get(url, { timeout: 10_000 }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
			response.on('error', reject);
		});
		request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
		request.on('error', reject);
	});
}

function bytesOf(item: INodeExecutionData, property: string): Buffer | undefined {
	const data = item.binary?.[property]?.data;
	return data === undefined ? undefined : Buffer.from(data, 'base64');
}

function factsOf(result: RunResult, nodeName: string): RunFacts {
	const nodeError = result.nodeError(nodeName);
	return {
		status: result.status,
		error: nodeError?.message ?? result.run.data.resultData.error?.message,
		items: result.output(nodeName).map((item) => ({
			error: item.json.error === undefined || item.json.error === null ? undefined : String(item.json.error),
			server: typeof item.json.server === 'string' ? item.json.server : undefined,
			png: isPng(bytesOf(item, 'image_0') ?? Buffer.alloc(0)),
		})),
	};
}

/** Runs one case; a case that throws is reported as such and the others still run. */
async function attempt<T extends RunFacts>(run: () => Promise<T>): Promise<T> {
	try {
		return await run();
	} catch (error) {
		return { status: 'thrown', error: error instanceof Error ? error.stack ?? error.message : String(error), items: [] } as RunFacts as T;
	}
}

/** Per server the fleet used: how many input uploads it received since `before`, and whether each holds `expected`. */
async function inputUploads(fleet: Fleet, before: number[], used: Set<string>, expected: Buffer) {
	const counts: number[] = [];
	const match: boolean[] = [];
	for (const [k, sim] of fleet.servers.entries()) {
		if (!used.has(sim.url)) continue;
		const names = sim.records.uploads.slice(before[k]);
		counts.push(names.length);
		for (const reference of names) {
			const slash = reference.lastIndexOf('/');
			const query = new URLSearchParams({ filename: reference.slice(slash + 1), subfolder: reference.slice(0, Math.max(0, slash)), type: 'input' });
			const served = await download(`${sim.url}/view?${query.toString()}`);
			match.push(served.status === 200 && served.body.equals(expected));
		}
	}
	return { usedServers: used.size, uploadsOnUsedServers: counts, uploadedBytesMatch: match };
}

const seeds = (n: number, base: number) => Array.from({ length: n }, (_, i) => ({ json: { seed: base + i } }));

async function main(): Promise<void> {
	const globalDispatcher = watchGlobalDispatcher();
	const fleet = await startTestFleet(3);
	const catPng = encodePng({ width: 32, height: 32, color: 0x0ac85a });
	const files = await startFileServer({
		'/old/cat.png': { redirect: '/inputs/cat.png' },
		'/inputs/cat.png': { body: catPng, type: 'image/png' },
	});
	const s3 = await startFauxqs();
	const cf = await startCloudflareImagesFake();
	const s3Client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
	await s3Client.send(new CreateBucketCommand({ Bucket: 'process' }));
	const nodeTypes = registerBuiltins(new NodeTypes([new ComfyUiCluster(), new CloudImageStorage()]));
	const credentialTypes = [...clusterCredentialTypes, new S3CompatibleApi(), new CloudflareImagesApi()];
	const credentials: Record<string, ICredentialDataDecryptedObject> = {
		comfyUiClusterApi: clusterCredential(fleet.urls),
		s3CompatibleApi: { preset: 'custom', endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's', bucket: 'process', addressingStyle: 'path', checksumMode: 'WHEN_REQUIRED' },
		cloudflareImagesApi: { accountId: cf.accountId, apiToken: cf.token, deliveryDomain: '', accountHash: cf.accountHash, apiBaseUrl: cf.apiBaseUrl, batchBaseUrl: cf.batchBaseUrl },
	};
	// The cluster state stays in this process's memory (fixtures that name a Redis credential lose it).
	const run = (workflow: WorkflowJson, startNode?: string) =>
		runWorkflow({ nodeTypes, credentialTypes, credentials, nodes: useRedis(workflow, false).nodes, connections: workflow.connections, startNode, timeoutMs: 60_000 });
	const uploadsNow = () => fleet.servers.map((s) => s.records.uploads.length);

	const urlInput = await attempt(async () => {
		const before = uploadsNow();
		const workflow = setParameters(fixture('img2img'), 'Generate', {
			inputImages: { image: [{ source: 'url', node: 'Load Image', input: 'image', url: `${files.url}/old/cat.png` }] },
		});
		const result = await run(setItems(workflow, 'Scenes', seeds(6, 300)));
		const facts = factsOf(result, 'Generate');
		const used = new Set(facts.items.flatMap((i) => (i.server ? [i.server] : [])));
		return { ...facts, requests: Object.fromEntries(files.requests), ...(await inputUploads(fleet, before, used, catPng)) };
	});

	const binaryInput = await attempt(async () => {
		const photo = encodePng({ width: 64, height: 64, color: 0xc87828 });
		const before = uploadsNow();
		const items = seeds(4, 900).map((item) => ({ ...item, binary: { photo: { base64: photo.toString('base64'), fileName: 'portrait.png', mimeType: 'image/png' } } }));
		const result = await run(setItems(fixture('img2img'), 'Scenes', items));
		const facts = factsOf(result, 'Generate');
		const used = new Set(facts.items.flatMap((i) => (i.server ? [i.server] : [])));
		return { ...facts, ...(await inputUploads(fleet, before, used, photo)) };
	});

	const uiFormat = await attempt(async () => {
		const ui = JSON.parse(readFileSync(join(__dirname, '../fixtures/workflows/txt2img.ui.json'), 'utf8')) as unknown;
		const result = await run(setItems(fixture('ui-format'), 'Scenes', [0, 1].map((i) => ({ json: { workflow: ui, seed: 7000 + i } }))));
		const promptIds = result.output('Generate').map((i) => i.json.promptId);
		const prompts = fleet.servers.flatMap((s) => s.records.prompts).filter((p) => promptIds.includes(p.promptId));
		const samplerSeeds = promptIds.map((id) => {
			const prompt = prompts.find((p) => p.promptId === id)?.prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }> | undefined;
			return Object.values(prompt ?? {}).find((n) => n.class_type === 'KSampler')?.inputs.seed;
		});
		return { ...factsOf(result, 'Generate'), samplerSeeds };
	});

	const generateToStorage = await attempt(async () => {
		const workflow = readWorkflowJson(join(__dirname, '../../examples/cluster-to-storage.json'));
		const result = await run(workflow, 'When clicking Execute workflow');
		const generated = result.output('ComfyUI Cluster');
		const facts = factsOf(result, 'Cloud Image Storage');
		let servedSameBytes = 0;
		const uploaded = result.output('Cloud Image Storage');
		for (const [i, item] of uploaded.entries()) {
			const url = (item.json.files as Array<{ url?: string }> | undefined)?.[0]?.url;
			const original = generated[i] && bytesOf(generated[i], 'image_0');
			if (!url || !original) continue;
			const served = await download(url);
			if (served.status === 200 && served.body.equals(original)) servedSameBytes++;
		}
		return { ...facts, uploaded: uploaded.length, servedSameBytes };
	});

	const cloudflareImages = await attempt(async () => {
		const photo = encodePng({ width: 48, height: 48, color: 0x2850c8 });
		const workflow: WorkflowJson = {
			nodes: [
				{ id: 'items', name: 'Images', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: {} },
				{
					id: 'store',
					name: 'Store',
					type: STORAGE_TYPE,
					typeVersion: 1,
					position: [200, 0],
					parameters: { provider: 'cloudflareImages', operation: 'upload', imageId: 'process-{{itemIndex}}', variant: 'public' },
					credentials: { cloudflareImagesApi: { id: 'cf', name: 'Cloudflare Images (fake)' } },
				},
			],
			connections: { Images: { main: [[{ node: 'Store', type: 'main', index: 0 }]] } },
		};
		const items = [0, 1].map((n) => ({ json: { n }, binary: { data: { base64: photo.toString('base64'), fileName: `cf-${n}.png`, mimeType: 'image/png' } } }));
		const result = await run(setItems(workflow, 'Images', items));
		return { ...factsOf(result, 'Store'), stored: cf.images.size, urls: result.output('Store').map((i) => String(i.json.url)) };
	});

	// The other operations, so that every HTTP path of the package runs in this process.
	const handlesOf = (result: RunResult) => result.output('Submit').map((item) => ({ json: { handle: item.json.handle } }));
	const submitThenCollect = await attempt(async () => {
		const submitted = await run(setItems(fixture('submit-collect'), 'Scenes', seeds(3, 600)));
		const submit = factsOf(submitted, 'Submit');
		if (submit.status !== 'success' || submit.error) return { ...submit, submitted: 0 };
		const collected = await run(setItems(fixture('collect'), 'Handles', handlesOf(submitted)));
		return { ...factsOf(collected, 'Collect'), submitted: submit.items.length };
	});

	const cancel = await attempt(async () => {
		const submitted = await run(setItems(fixture('submit-collect'), 'Scenes', seeds(9, 700)));
		const submit = factsOf(submitted, 'Submit');
		if (submit.status !== 'success' || submit.error) return { ...submit, outcomes: [] };
		const cancelled = await run(setItems(fixture('cancel'), 'Handles', handlesOf(submitted)));
		return { ...factsOf(cancelled, 'Cancel'), outcomes: cancelled.output('Cancel').map((i) => String(i.json.outcome)) };
	});

	const clusterStatus = await attempt(async () => {
		const result = await run(fixture('status'));
		return { ...factsOf(result, 'Status'), reachable: result.output('Status').map((i) => [String(i.json.server), i.json.reachable === true] as [string, boolean]) };
	});

	const freeMemory = await attempt(async () => {
		const result = await run(fixture('free-memory'));
		return { ...factsOf(result, 'Free Memory'), freed: result.output('Free Memory').map((i) => [String(i.json.server), i.json.freed === true] as [string, boolean]) };
	});

	const report: ProcessReport = {
		node: process.version,
		globalDispatcher: globalDispatcher(),
		urlInput,
		binaryInput,
		uiFormat,
		generateToStorage,
		cloudflareImages,
		submitThenCollect,
		cancel,
		clusterStatus,
		freeMemory,
		servers: fleet.urls,
		webSocketClients: fleet.servers.reduce((n, s) => n + s.records.wsClients.length, 0),
	};
	await closeAllRuntimes();
	s3Client.destroy();
	await Promise.allSettled([fleet.stop(), files.close(), s3.close(), cf.close()]);
	process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
}

if (require.main === module) {
	main().then(
		() => process.exit(0),
		(error: unknown) => {
			process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
			process.exit(1);
		},
	);
}
