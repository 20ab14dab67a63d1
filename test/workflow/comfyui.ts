/**
 * Shared pieces of the ComfyUI Cluster workflow tests: node types, workflow JSON fixtures in n8n's export format, simulator
 * fleets with the test checkpoint, and Redis key clean-up.
 */
import { readFileSync } from 'fs';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { join } from 'path';
import Redis from 'ioredis';
import type { IConnections, ICredentialDataDecryptedObject, INode, INodeParameters } from 'n8n-workflow';
import { ComfyUiClusterApi } from '../../credentials/ComfyUiClusterApi.credentials';
import { ComfyUiClusterRedisApi } from '../../credentials/ComfyUiClusterRedisApi.credentials';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { startFleet, type ComfyUiSimulator, type Fleet, type SimulatorOptions } from '../sim';
import { registerBuiltins } from './builtins';
import { NodeTypes, runWorkflow, type RunOptions, type RunResult } from './harness';
import { deleteKeysUnder, TEST_REDIS } from '../setup/redis';

export const CHECKPOINT = 'v1-5-pruned-emaonly.safetensors';
export const NODE_TYPE = 'n8n-nodes-comfyui-cluster.comfyUiCluster';

/** Our node, plus stand-ins for the n8n core nodes the examples use (Manual Trigger, Code, Sticky Note). */
export const nodeTypes = registerBuiltins(new NodeTypes([new ComfyUiCluster()]));

export const credentialTypes = [new ComfyUiClusterApi(), new ComfyUiClusterRedisApi()];

/** A workflow as n8n exports it (the parts the engine reads). */
export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: IConnections;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export function readWorkflowJson(path: string): WorkflowJson {
	return JSON.parse(readFileSync(path, 'utf8')) as WorkflowJson;
}

/** A fixture of test/workflow/fixtures, as a fresh copy the test may change. */
export function fixture(name: string): WorkflowJson {
	return readWorkflowJson(join(__dirname, 'fixtures', `${name}.workflow.json`));
}

/** The node called `name` (throws when the workflow has none). */
export function nodeOf(workflow: WorkflowJson, name: string): INode {
	const found = workflow.nodes.find((n) => n.name === name);
	if (!found) throw new Error(`workflow has no node named ${name}`);
	return found;
}

/** Merges parameters into a node of the workflow (top-level keys replaced). */
export function setParameters(workflow: WorkflowJson, name: string, parameters: INodeParameters): WorkflowJson {
	const target = nodeOf(workflow, name);
	target.parameters = { ...target.parameters, ...parameters };
	return workflow;
}

/** Sets the items the `test.items` start node emits. */
export function setItems(workflow: WorkflowJson, name: string, items: unknown[]): WorkflowJson {
	return setParameters(workflow, name, { items: JSON.stringify(items) });
}

export interface Credentials {
	cluster: ICredentialDataDecryptedObject;
	redis?: ICredentialDataDecryptedObject;
}

export function clusterCredential(urls: readonly string[], extra: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject {
	return { servers: urls.join('\n'), authentication: 'none', statePrefix: uniquePrefix('wf'), ...extra };
}

export function redisCredential(): ICredentialDataDecryptedObject {
	return { mode: 'single', host: TEST_REDIS.host, port: TEST_REDIS.port, database: TEST_REDIS.db, user: '', password: '', ssl: false };
}

/** Runs a workflow JSON in n8n's engine with the given credential data. */
export function runJson(
	workflow: WorkflowJson,
	credentials: Credentials,
	options: Partial<Pick<RunOptions, 'startNode' | 'timeoutMs' | 'onStart'>> = {},
): Promise<RunResult> {
	const data: Record<string, ICredentialDataDecryptedObject> = { comfyUiClusterApi: credentials.cluster };
	if (credentials.redis) data.comfyUiClusterRedisApi = credentials.redis;
	return runWorkflow({
		nodes: workflow.nodes,
		connections: workflow.connections,
		nodeTypes,
		credentialTypes,
		credentials: data,
		timeoutMs: options.timeoutMs ?? 30_000,
		startNode: options.startNode,
		onStart: options.onStart,
	});
}

/** Adds (or removes) the Redis credential reference on every ComfyUI Cluster node. */
export function useRedis(workflow: WorkflowJson, on = true): WorkflowJson {
	for (const n of workflow.nodes) {
		if (n.type !== NODE_TYPE) continue;
		const credentials = { ...(n.credentials ?? {}) };
		if (on) credentials.comfyUiClusterRedisApi = { id: 'redis-1', name: 'Redis (cluster state)' };
		else delete credentials.comfyUiClusterRedisApi;
		n.credentials = credentials;
	}
	return workflow;
}

/** A fleet of simulators that know the test checkpoint and run fast. */
export function startTestFleet(count: number, options: SimulatorOptions = {}): Promise<Fleet> {
	return startFleet(
		Array.from({ length: count }, () => ({ msPerStep: 5, models: { checkpoints: [CHECKPOINT] }, ...options })),
	);
}

/** Prompts still queued or running anywhere in the fleet. */
export function activeAnywhere(sims: readonly ComfyUiSimulator[]): string[] {
	return sims.flatMap((s) => s.activePromptIds());
}

/** Every prompt the fleet received, with the server that received it. */
export function receivedPrompts(sims: readonly ComfyUiSimulator[]) {
	return sims.flatMap((sim) => sim.records.prompts.map((p) => ({ ...p, sim: sim.name, url: sim.url })));
}

export function uniquePrefix(name: string): string {
	return `test-wf-${name}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Deletes every key under a prefix in the test database. */
export async function deleteKeys(prefix: string): Promise<number> {
	return deleteKeysUnder(prefix);
}

/** Keys under a prefix in the test database. */
export async function keysUnder(prefix: string): Promise<string[]> {
	const redis = new Redis({ ...TEST_REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
	const found: string[] = [];
	try {
		await redis.connect();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
			cursor = next;
			found.push(...keys);
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
	return found;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, stepMs));
	}
}

/** A local HTTP server with fixed files; counts requests per path. */
export interface FileServer {
	url: string;
	requests: Map<string, number>;
	close(): Promise<void>;
}

/** Files by path; `redirect` answers 302 to another path. */
export async function startFileServer(files: Record<string, { body: Buffer; type: string } | { redirect: string }>): Promise<FileServer> {
	const requests = new Map<string, number>();
	const server: Server = createServer((req, res) => {
		const path = (req.url ?? '/').split('?')[0];
		requests.set(path, (requests.get(path) ?? 0) + 1);
		const file = files[path];
		if (!file) {
			res.writeHead(404, { 'content-type': 'text/plain' });
			res.end('not found');
			return;
		}
		if ('redirect' in file) {
			res.writeHead(302, { location: file.redirect });
			res.end();
			return;
		}
		res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length });
		res.end(file.body);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Buffer): boolean {
	return bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}
