// Small steps of scripts/e2e-n8n.sh that are easier in JavaScript than in bash. No dependencies.
//   node helpers.mjs credentials <out.json> <serversFile> <s3Endpoint> <bucket>
//   node helpers.mjs select <examplesDir>            examples that run on this machine alone, one a line
//   node helpers.mjs workflow <in.json> <out.json> <workflowId> <bucket>
//   node helpers.mjs check <workflow.json> <rawOutput.txt> <label>
//   node helpers.mjs pack-manifest <package.json>
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Credential ids the imported workflows are patched to use (n8n ids are free-form strings up to 36 chars).
export const CREDENTIALS = {
	comfyUiClusterApi: { id: 'e2eComfyUiCluster01', name: 'ComfyUI Cluster (simulated)' },
	s3CompatibleApi: { id: 'e2eS3Compatible0001', name: 'S3 (local fauxqs)' },
};

function credentials([out, serversFile, endpoint, bucket]) {
	const servers = readFileSync(serversFile, 'utf8').trim();
	const list = [
		{
			...CREDENTIALS.comfyUiClusterApi,
			type: 'comfyUiClusterApi',
			data: { servers, authentication: 'none', statePrefix: `e2e-${process.pid}` },
		},
		{
			...CREDENTIALS.s3CompatibleApi,
			type: 's3CompatibleApi',
			data: {
				preset: 'custom',
				endpoint,
				region: 'us-east-1',
				accessKeyId: 'e2e',
				secretAccessKey: 'e2e-secret',
				bucket,
				addressingStyle: 'path',
				checksumMode: 'WHEN_REQUIRED',
			},
		},
	];
	writeFileSync(out, JSON.stringify(list, null, 2));
}

/**
 * Examples that need nothing from outside this machine: ours nodes only with the credentials created here
 * (no HTTP Request node fetching a picture from the internet, no Cloudflare account).
 */
function select([dir]) {
	const names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
	const runnable = names.filter((name) => {
		const wf = JSON.parse(readFileSync(join(dir, name), 'utf8'));
		if (!Array.isArray(wf.nodes)) return false;
		const ours = wf.nodes.some((n) => n.type.startsWith('n8n-nodes-comfyui-cluster.'));
		const outside = wf.nodes.some(
			(n) => n.type === 'n8n-nodes-base.httpRequest' || Object.keys(n.credentials ?? {}).some((t) => !(t in CREDENTIALS) && t !== 'comfyUiClusterRedisApi'),
		);
		return ours && !outside;
	});
	// The two-node example first: it is the one the screenshots show.
	runnable.sort((a, b) => (b === 'cluster-to-storage.json') - (a === 'cluster-to-storage.json'));
	process.stdout.write(runnable.join('\n') + '\n');
}

/** Gives the workflow an id and points every credential reference (and bucket) at the ones created for the run. */
function workflow([input, out, id, bucket]) {
	const wf = JSON.parse(readFileSync(input, 'utf8'));
	wf.id = id;
	wf.active = false;
	for (const node of wf.nodes) {
		if (node.type.endsWith('.cloudImageStorage') && node.parameters?.bucket && bucket) node.parameters.bucket = bucket;
		if (!node.credentials) continue;
		for (const type of Object.keys(node.credentials)) {
			if (CREDENTIALS[type]) node.credentials[type] = { ...CREDENTIALS[type] };
			// Optional credentials (Redis) are not part of this check: the memory store is used.
			else delete node.credentials[type];
		}
	}
	writeFileSync(out, JSON.stringify(wf, null, 2));
}

/** The JSON value printed by `n8n execute --rawOutput` (n8n may log lines before it). */
function parseRawOutput(text) {
	// JSON.stringify(run, null, 2) starts with "{" and ends with "}" alone on their lines; log lines may surround it.
	const lines = text.split('\n');
	const first = lines.findIndex((l) => l === '{');
	const last = lines.findLastIndex((l) => l === '}');
	if (first < 0 || last < first) throw new Error('no JSON in the output of n8n execute');
	return JSON.parse(lines.slice(first, last + 1).join('\n'));
}

/** Items of a node's last run, output 0. */
function itemsOf(runData, nodeName) {
	const runs = runData[nodeName];
	if (!runs || runs.length === 0) return undefined;
	const last = runs[runs.length - 1];
	if (last.error) throw new Error(`node "${nodeName}" failed: ${last.error.message}`);
	return last.data?.main?.[0] ?? [];
}

const shortUrl = (url) => (typeof url === 'string' && url.length > 70 ? `${url.slice(0, 67)}...` : url);

async function check([workflowFile, outputFile, label]) {
	const wf = JSON.parse(readFileSync(workflowFile, 'utf8'));
	const raw = parseRawOutput(readFileSync(outputFile, 'utf8'));
	// --rawOutput prints the run's IRun: { data: { resultData: { runData, error? } }, status, ... }
	const resultData = raw.data?.resultData ?? raw.resultData;
	if (!resultData) throw new Error('unexpected output shape: no resultData');
	if (resultData.error) throw new Error(`workflow failed: ${resultData.error.message}`);
	const runData = resultData.runData ?? {};
	const problems = [];
	const lines = [];
	const clusterNodes = wf.nodes.filter((n) => n.type.endsWith('.comfyUiCluster'));
	const storageNodes = wf.nodes.filter((n) => n.type.endsWith('.cloudImageStorage'));
	for (const node of clusterNodes) {
		const items = itemsOf(runData, node.name);
		if (!items) {
			problems.push(`node "${node.name}" did not run`);
			continue;
		}
		const operation = node.parameters?.operation ?? 'generate';
		const failed = items.filter((i) => i.json.error);
		if (failed.length) problems.push(`${failed.length} item(s) failed in "${node.name}": ${failed[0].json.error}`);
		if (operation === 'generate' || operation === 'collect') {
			const noOutput = items.filter((i) => !i.json.error && !(i.json.outputs?.length > 0));
			if (noOutput.length) problems.push(`${noOutput.length} scene(s) without outputs in "${node.name}"`);
			const perServer = {};
			for (const i of items) if (i.json.server) perServer[i.json.server] = (perServer[i.json.server] ?? 0) + 1;
			lines.push(
				`  ${node.name}: ${items.length - failed.length}/${items.length} scenes succeeded; per server: ${Object.entries(perServer)
					.map(([s, n]) => `${s} ${n}`)
					.join(', ')}`,
			);
		} else {
			const keys = [...new Set(items.flatMap((i) => Object.keys(i.json)))].slice(0, 6).join(', ');
			lines.push(`  ${node.name} (${operation}): ${items.length - failed.length}/${items.length} item(s) without error; fields: ${keys}`);
		}
		if (items.length === 0) problems.push(`node "${node.name}" returned no items`);
	}
	for (const node of storageNodes) {
		const items = itemsOf(runData, node.name);
		if (!items) {
			problems.push(`node "${node.name}" did not run`);
			continue;
		}
		const operation = node.parameters?.operation ?? 'upload';
		const failed = items.filter((i) => i.json.error);
		if (failed.length) problems.push(`${failed.length} item(s) failed in "${node.name}": ${failed[0].json.error}`);
		if (items.length === 0) problems.push(`node "${node.name}" returned no items`);
		const withUrl = items.filter((i) => typeof i.json.url === 'string' && /^https?:\/\//.test(i.json.url));
		if (operation !== 'upload') {
			if (operation === 'getUrl' && withUrl.length !== items.length) problems.push(`"${node.name}" returned no URL`);
			lines.push(`  ${node.name} (${operation}): ${items.length - failed.length}/${items.length} item(s) without error${withUrl.length ? `, e.g. ${shortUrl(withUrl[0].json.url)}` : ''}`);
			continue;
		}
		if (withUrl.length !== items.length || items.length === 0)
			problems.push(`${items.length - withUrl.length} of ${items.length} item(s) without a URL in "${node.name}"`);
		// Every URL must serve the uploaded image back from the local S3 server.
		let served = 0;
		for (const item of withUrl) {
			const response = await fetch(item.json.url, { signal: AbortSignal.timeout(5000) }).catch((error) => error);
			if (response instanceof Error) {
				problems.push(`GET ${item.json.url}: ${response.message}`);
				continue;
			}
			const body = Buffer.from(await response.arrayBuffer());
			if (response.ok && body.length > 0 && /^image\//.test(response.headers.get('content-type') ?? '')) served++;
			else problems.push(`GET ${item.json.url}: HTTP ${response.status}, ${response.headers.get('content-type')}, ${body.length} bytes`);
		}
		lines.push(`  ${node.name}: ${withUrl.length}/${items.length} uploaded with URL, ${served} served back as images, e.g. ${shortUrl(withUrl[0]?.json.url)}`);
	}
	if (clusterNodes.length + storageNodes.length === 0) problems.push('the workflow has none of our nodes');
	const status = raw.status ?? (problems.length ? 'error' : 'success');
	process.stdout.write(`${label}: status ${status}\n${lines.join('\n')}\n`);
	if (problems.length) {
		process.stdout.write(problems.map((p) => `  PROBLEM: ${p}\n`).join(''));
		process.exit(1);
	}
}

/** Strips dev, peer and optional dependencies, as n8n's community-package installer does before `npm install`. */
function packManifest([file]) {
	const { devDependencies, peerDependencies, optionalDependencies, ...rest } = JSON.parse(readFileSync(file, 'utf8'));
	void devDependencies;
	void peerDependencies;
	void optionalDependencies;
	writeFileSync(file, JSON.stringify(rest, null, 2));
}

const commands = { credentials, select, workflow, check, 'pack-manifest': packManifest };
const [command, ...args] = process.argv.slice(2);
if (!commands[command]) {
	process.stderr.write(`unknown command ${command}\n`);
	process.exit(2);
}
try {
	await commands[command](args);
} catch (error) {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
}
