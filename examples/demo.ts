/**
 * `npm run demo`: a fleet of simulated ComfyUI servers of different speeds (one of them crashes half-way)
 * and a local S3 server; examples/cluster-to-storage.json runs in n8n's engine — 12 scenes through
 * ComfyUI Cluster, every image uploaded by Cloud Image Storage — then the same 12 scenes run one by one
 * on one server for comparison. Exits 0 only when every scene succeeded; stops everything it started.
 * Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to share the cluster state through Redis.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { ICredentialDataDecryptedObject, INode, IConnections } from 'n8n-workflow';
import { ComfyUiCluster } from '../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { CloudImageStorage } from '../nodes/CloudImageStorage/CloudImageStorage.node';
import { ComfyUiClient } from '../src/comfyui/client';
import { clusterStatus } from '../src/cluster/status';
import { closeAllRuntimes, getRuntime } from '../src/cluster/runtime';
import { clusterConfig } from '../nodes/ComfyUiCluster/helpers/engine';
import { startFauxqs, type FauxqsHandle } from '../test/fakes/fauxqs';
import { startFleet, type Fleet } from '../test/sim';
import { loggedLines, NodeTypes, runWorkflow } from '../test/workflow/harness';
import { registerBuiltins } from '../test/workflow/builtins';

const SPEEDS = [4, 2, 2, 1];
const NAMES = ['gpu-a', 'gpu-b', 'gpu-c', 'gpu-d'];
const CRASHING = 1; // gpu-b crashes when half of the scenes are done
const MS_PER_STEP = 100; // 20 steps = 2 s of work at speed 1
const BUCKET = 'demo';

interface Workflow {
	nodes: INode[];
	connections: IConnections;
}

function table(headers: string[], rows: Array<Array<string | number>>): string {
	const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
	const line = (cells: Array<string | number>) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
	return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function redisCredential(): ICredentialDataDecryptedObject | undefined {
	const url = process.env.REDIS_URL;
	if (!url) return undefined;
	const parsed = new URL(url);
	return {
		mode: 'single',
		host: parsed.hostname,
		port: Number(parsed.port || 6379),
		database: Number(parsed.pathname.slice(1) || 0),
		user: decodeURIComponent(parsed.username),
		password: decodeURIComponent(parsed.password),
		ssl: parsed.protocol === 'rediss:',
	};
}

// The AWS SDK versions are pinned; its notice about future versions needing Node 22 is noise in the demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<number> {
	let fleet: Fleet | undefined;
	let s3: FauxqsHandle | undefined;
	try {
		fleet = await startFleet(SPEEDS.map((speed, i) => ({ name: NAMES[i], speed, msPerStep: MS_PER_STEP, models: { checkpoints: ['v1-5-pruned-emaonly.safetensors'] } })));
		s3 = await startFauxqs();
		const bucketClient = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'demo', secretAccessKey: 'demo-secret' } });
		await bucketClient.send(new CreateBucketCommand({ Bucket: BUCKET }));
		bucketClient.destroy();
		const nameOf = new Map(fleet.servers.map((s, i) => [s.url.replace(/\/$/, ''), NAMES[i]]));
		const short = (url: string) => nameOf.get(url.replace(/\/$/, '')) ?? url;
		console.log('ComfyUI Cluster demo');
		console.log(table(['server', 'speed', 'address'], fleet.servers.map((s, i) => [NAMES[i], `${SPEEDS[i]}×`, s.url])));
		console.log(`S3 (fauxqs) at ${s3.endpoint}, bucket "${BUCKET}"; store: ${process.env.REDIS_URL ? 'Redis' : 'memory'}\n`);

		const workflow = JSON.parse(readFileSync(join(__dirname, 'cluster-to-storage.json'), 'utf8')) as Workflow;
		const redis = redisCredential();
		const clusterNode = workflow.nodes.find((n) => n.name === 'ComfyUI Cluster')!;
		if (redis) clusterNode.credentials = { ...clusterNode.credentials, comfyUiClusterRedisApi: { id: '3', name: 'Redis' } };
		const servers = fleet.servers.map((s, i) => `${s.url} weight=${SPEEDS[i]}`).join('\n');
		const credentials: Record<string, ICredentialDataDecryptedObject> = {
			comfyUiClusterApi: { servers, authentication: 'none', statePrefix: `demo-${process.pid}` } as ICredentialDataDecryptedObject,
			s3CompatibleApi: { preset: 'custom', endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: 'demo', secretAccessKey: 'demo-secret', bucket: BUCKET, addressingStyle: 'path', checksumMode: 'WHEN_REQUIRED' },
			...(redis ? { comfyUiClusterRedisApi: redis } : {}),
		};
		const types = registerBuiltins(new NodeTypes([new ComfyUiCluster(), new CloudImageStorage()]));

		// Progress from the node's log lines; the crash is injected when half of the scenes are done.
		const seen = loggedLines().length;
		let done = 0;
		let crashed = false;
		let shown = -1;
		const perServer = new Map<string, number>();
		const progress = setInterval(() => {
			const lines = loggedLines().slice(seen).map((l) => l.message);
			done = lines.filter((m) => / finished on /.test(m)).length;
			perServer.clear();
			for (const m of lines) {
				const hit = / finished on (\S+) /.exec(m);
				if (hit) perServer.set(short(hit[1]), (perServer.get(short(hit[1])) ?? 0) + 1);
			}
			if (!crashed && done >= 6) {
				crashed = true;
				fleet!.servers[CRASHING].crash();
				console.log(`  !! ${NAMES[CRASHING]} crashed (${done}/12 scenes done); its scenes fail over`);
			}
			if (done !== shown) {
				shown = done;
				const counts = NAMES.map((n) => `${n} ${perServer.get(n) ?? 0}`).join(', ');
				console.log(`  scenes done ${String(done).padStart(2)}/12   per server: ${counts}`);
			}
		}, 100);
		const started = Date.now();
		const result = await runWorkflow({ nodeTypes: types, nodes: workflow.nodes, connections: workflow.connections, credentials, timeoutMs: 120_000 });
		clearInterval(progress);
		const clusterSeconds = (Date.now() - started) / 1000;
		console.log('');

		const generated = result.output('ComfyUI Cluster');
		const uploaded = result.output('Cloud Image Storage');
		const rows = generated.map((item, i) => {
			const json = item.json as Record<string, unknown>;
			const attempts = (json.attempts as Array<Record<string, unknown>> | undefined) ?? [];
			const up = uploaded[i]?.json as Record<string, unknown> | undefined;
			const files = (up?.files as Array<Record<string, unknown>> | undefined) ?? [];
			const url = String(files[0]?.url ?? up?.error ?? json.error ?? '');
			return [
				i + 1,
				json.server ? short(String(json.server)) : 'failed',
				attempts.map((a) => `${short(String(a.server))}:${a.outcome}`).join(' → ') || '-',
				((Number(json.totalMs) || 0) / 1000).toFixed(2),
				url,
			];
		});
		console.log(table(['scene', 'server', 'attempts', 'seconds', 'URL'], rows));
		const ok = generated.length === 12 && generated.every((g) => !g.json.error) && uploaded.length === 12 && uploaded.every((u) => !u.json.error);

		const runtime = await getRuntime(clusterConfig(credentials.comfyUiClusterApi, redis));
		const status = await clusterStatus(runtime);
		console.log('\nCluster status');
		console.log(
			table(
				['server', 'reachable', 'breaker', 'queue', 'in-flight', 'last error'],
				status.map((s) => [short(s.server), s.reachable ? 'yes' : 'no', s.breaker, s.queueRemaining ?? '-', s.inFlight, (s.lastError ?? s.error ?? '').slice(0, 60)]),
			),
		);

		// The same 12 scenes, one after another on one server (gpu-c, speed 2), as a single-server node does.
		const graph = JSON.parse(workflow.nodes.find((n) => n.name === 'ComfyUI Cluster')!.parameters.workflow as string);
		const client = new ComfyUiClient({ url: fleet.servers[2].url });
		const serialStart = Date.now();
		for (let i = 0; i < 12; i++) {
			graph['3'].inputs.seed = 5000 + i;
			const { promptId } = await client.submit(graph);
			const watch = await client.watch(promptId, { totalMs: 60_000 });
			for (const file of watch.outputs) await client.downloadBuffer(file);
		}
		await client.close();
		const serialSeconds = (Date.now() - serialStart) / 1000;
		console.log(`\n12 scenes on the cluster (with a crash and the uploads): ${clusterSeconds.toFixed(1)} s`);
		console.log(`12 scenes one by one on ${NAMES[2]} (no uploads):        ${serialSeconds.toFixed(1)} s`);
		console.log(`speed-up: ${(serialSeconds / clusterSeconds).toFixed(1)}×`);
		console.log(ok ? '\nEvery scene succeeded and was uploaded.' : `\nSome scenes failed (workflow status: ${result.status}).`);
		return ok ? 0 : 1;
	} finally {
		await closeAllRuntimes();
		await fleet?.stop();
		await s3?.close();
	}
}

main().then(
	(code) => process.exit(code),
	(error) => {
		console.error(error);
		process.exit(1);
	},
);
