// Small steps of scripts/e2e-n8n.sh that are easier in JavaScript than in bash. No dependencies.
//   node helpers.mjs credentials <out.json> <serversFile> <s3Endpoint> <bucket> <fakes.json>
//   node helpers.mjs select <examplesDir>            examples that run on this machine alone, one a line
//   node helpers.mjs workflow <in.json> <out.json> <workflowId> <bucket> <fakes.json> [handles.json]
//   node helpers.mjs check <workflow.json> <rawOutput.txt> <name> <fakes.json> <serversFile>
//   node helpers.mjs handles <rawOutput.txt> <nodeName> <out.json>
//   node helpers.mjs pack-manifest <package.json>
// <fakes.json> is the line scripts/e2e-n8n/fakes.ts prints: {files, cloudflare: {apiBaseUrl, accountId, token, ...}}.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Credential ids the imported workflows are patched to use (n8n ids are free-form strings up to 36 chars).
export const CREDENTIALS = {
	comfyUiClusterApi: { id: 'e2eComfyUiCluster01', name: 'ComfyUI Cluster (simulated)' },
	s3CompatibleApi: { id: 'e2eS3Compatible0001', name: 'S3 (local fauxqs)' },
	cloudflareImagesApi: { id: 'e2eCloudflareImages1', name: 'Cloudflare Images (local fake)' },
};

/** Where every HTTP Request node of a workflow downloads from: the local file server, through a 302 as picsum.photos answers. */
const INPUT_PATH = '/images/input.png';
const REDIRECTED_INPUT_PATH = '/redirect/input.png';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const serverUrls = (file) =>
	readFileSync(file, 'utf8')
		.split('\n')
		.map((l) => l.trim().split(/\s+/)[0])
		.filter(Boolean);

function credentials([out, serversFile, endpoint, bucket, fakesFile]) {
	const servers = readFileSync(serversFile, 'utf8').trim();
	const { cloudflare } = readJson(fakesFile);
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
		{
			...CREDENTIALS.cloudflareImagesApi,
			type: 'cloudflareImagesApi',
			// The credential's API Base URL and Batch API Base URL point at the package's fake.
			data: {
				accountId: cloudflare.accountId,
				apiToken: cloudflare.token,
				deliveryDomain: '',
				accountHash: '',
				apiBaseUrl: cloudflare.apiBaseUrl,
				batchBaseUrl: cloudflare.batchBaseUrl,
			},
		},
	];
	writeFileSync(out, JSON.stringify(list, null, 2));
}

/**
 * Examples that run on this machine alone: our nodes, with only the credentials created here (HTTP Request
 * nodes are pointed at the local file server by `workflow`).
 */
function select([dir]) {
	const names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
	const runnable = names.filter((name) => {
		const wf = readJson(join(dir, name));
		if (!Array.isArray(wf.nodes)) return false;
		const ours = wf.nodes.some((n) => n.type.startsWith('n8n-nodes-comfyui-cluster.'));
		const outside = wf.nodes.some((n) => Object.keys(n.credentials ?? {}).some((t) => !(t in CREDENTIALS) && t !== 'comfyUiClusterRedisApi'));
		return ours && !outside;
	});
	// The two-node example first: it is the one the screenshots show.
	runnable.sort((a, b) => (b === 'cluster-to-storage.json') - (a === 'cluster-to-storage.json'));
	process.stdout.write(runnable.join('\n') + '\n');
}

/** Replaces the e2e tokens in every string of a parameter tree. */
function fillTokens(value, tokens) {
	if (typeof value === 'string') {
		const file = /^@@file:(.+)@@$/.exec(value);
		if (file) return readFileSync(join(REPO_DIR, file[1]), 'utf8');
		return value.replace(/@@([A-Z]+)@@/g, (whole, name) => {
			if (!(name in tokens)) throw new Error(`no value for ${whole}`);
			return tokens[name];
		});
	}
	if (Array.isArray(value)) return value.map((v) => fillTokens(v, tokens));
	if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTokens(v, tokens)]));
	return value;
}

/**
 * Gives the workflow an id, points every credential reference (and bucket) at the ones created for the run,
 * every fixed HTTP Request URL at the local file server, and fills the tokens of the e2e workflows:
 * @@FILES@@ (file server), @@HANDLES@@ (items of a Submit run), "@@file:<path in the repository>@@" (its content).
 */
function workflow([input, out, id, bucket, fakesFile, handlesFile]) {
	const wf = readJson(input);
	const fakes = readJson(fakesFile);
	const tokens = { FILES: fakes.files };
	if (handlesFile) tokens.HANDLES = readFileSync(handlesFile, 'utf8');
	wf.id = id;
	wf.active = false;
	for (const node of wf.nodes) {
		node.parameters = fillTokens(node.parameters ?? {}, tokens);
		if (node.type === 'n8n-nodes-base.httpRequest' && /^https?:\/\//.test(node.parameters.url ?? '')) {
			node.parameters.url = `${fakes.files}${REDIRECTED_INPUT_PATH}`;
		}
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

function runDataOf(raw) {
	// --rawOutput prints the run's IRun: { data: { resultData: { runData, error? } }, status, ... }
	const resultData = raw.data?.resultData ?? raw.resultData;
	if (!resultData) throw new Error('unexpected output shape: no resultData');
	if (resultData.error) throw new Error(`workflow failed: ${resultData.error.message}`);
	return resultData.runData ?? {};
}

/** Items of a node's last run, output 0. */
function itemsOf(runData, nodeName) {
	const runs = runData[nodeName];
	if (!runs || runs.length === 0) return undefined;
	const last = runs[runs.length - 1];
	if (last.error) throw new Error(`node "${nodeName}" failed: ${last.error.message}`);
	return last.data?.main?.[0] ?? [];
}

async function get(url, headers = {}) {
	const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
	return { status: response.status, type: response.headers.get('content-type') ?? '', body: Buffer.from(await response.arrayBuffer()) };
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const count = (values) => Object.entries(values.reduce((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {})).map(([k, n]) => `${k} ${n}`).join(', ');

/** Each check reads one node's items and returns a short note; problems go to `problems`. */
const clusterChecks = {
	async generate(ctx, node, items) {
		const ok = items.filter((i) => !i.json.error);
		const noOutput = ok.filter((i) => !(i.json.outputs?.length > 0));
		if (noOutput.length) ctx.problems.push(`${noOutput.length} scene(s) without outputs in "${node.name}"`);
		const perServer = count(ok.map((i) => i.json.server));
		const inputs = await checkInputImages(ctx, node, ok);
		return `${node.name}: ${ok.length}/${items.length} scenes with outputs (${perServer})${inputs}`;
	},
	async collect(ctx, node, items) {
		return clusterChecks.generate(ctx, node, items);
	},
	async submit(ctx, node, items) {
		const handled = items.filter((i) => typeof i.json.handle?.promptId === 'string' && ctx.servers.includes(i.json.handle.server));
		if (handled.length !== items.length) ctx.problems.push(`${items.length - handled.length} item(s) of "${node.name}" without a handle on a known server`);
		return `${node.name}: ${handled.length}/${items.length} scenes queued with a handle`;
	},
	async cancel(ctx, node, items) {
		const outcomes = items.map((i) => i.json.outcome);
		const known = outcomes.filter((o) => ['deleted', 'interrupted', 'not-found'].includes(o));
		if (known.length !== items.length) ctx.problems.push(`"${node.name}" outcomes: ${outcomes.join(', ')}`);
		if (!outcomes.some((o) => o === 'deleted' || o === 'interrupted')) ctx.problems.push(`"${node.name}" stopped no scene (${outcomes.join(', ')})`);
		return `${node.name}: ${items.length} scene(s) cancelled (${count(outcomes)})`;
	},
	async clusterStatus(ctx, node, items) {
		const reachable = items.filter((i) => i.json.reachable === true && ctx.servers.includes(i.json.server));
		if (items.length !== ctx.servers.length || reachable.length !== ctx.servers.length)
			ctx.problems.push(`"${node.name}": ${reachable.length} of ${items.length} row(s) reachable, ${ctx.servers.length} server(s) configured`);
		return `${node.name}: ${reachable.length}/${ctx.servers.length} servers reachable, breakers ${count(items.map((i) => i.json.breaker))}`;
	},
	async freeMemory(ctx, node, items) {
		const freed = items.filter((i) => i.json.freed === true);
		if (items.length !== ctx.servers.length || freed.length !== items.length) ctx.problems.push(`"${node.name}": ${freed.length} of ${items.length} server(s) freed`);
		return `${node.name}: ${freed.length}/${ctx.servers.length} servers freed`;
	},
};

/**
 * For scenes whose prompt (read back from the server's /history) has LoadImage nodes: the server holds the
 * input image byte for byte (what the file server serves).
 */
async function checkInputImages(ctx, node, items) {
	let checked = 0;
	for (const item of items) {
		const { server, promptId } = item.json;
		const history = await get(`${server}/history/${encodeURIComponent(promptId)}`);
		const entry = JSON.parse(history.body.toString('utf8'))[promptId];
		const graph = Array.isArray(entry?.prompt) ? entry.prompt[2] : undefined;
		if (!graph) {
			ctx.problems.push(`"${node.name}": no /history of ${promptId} on ${server}`);
			continue;
		}
		for (const loader of Object.values(graph).filter((n) => n.class_type === 'LoadImage')) {
			const reference = String(loader.inputs.image);
			const slash = reference.lastIndexOf('/');
			const query = new URLSearchParams({ filename: reference.slice(slash + 1), subfolder: reference.slice(0, Math.max(0, slash)), type: 'input' });
			const held = await get(`${server}/view?${query}`);
			if (held.status !== 200 || !held.body.equals(await ctx.inputImage())) ctx.problems.push(`"${node.name}": ${server} holds ${reference} (HTTP ${held.status}, ${held.body.length} bytes), not the input image`);
			else checked++;
		}
	}
	return checked ? `; input image on the servers identical (${checked} scene(s))` : '';
}

const storageChecks = {
	async upload(ctx, node, items) {
		const provider = node.parameters.provider ?? 's3';
		const files = items.flatMap((i) => i.json.files ?? []);
		if (files.length === 0) ctx.problems.push(`"${node.name}" uploaded nothing`);
		if (provider === 'cloudflareImages') {
			const deletedLater = ctx.workflow.nodes.some((n) => n.type.endsWith('.cloudImageStorage') && n.parameters?.operation === 'delete');
			let stored = 0;
			for (const file of files) {
				if (typeof file.id !== 'string' || !/^https?:\/\//.test(file.url ?? '')) ctx.problems.push(`"${node.name}": upload without id or URL`);
				else if (deletedLater || (await ctx.cloudflareImage(file.id)).success) stored++;
				else ctx.problems.push(`"${node.name}": image ${file.id} is not in Cloudflare Images`);
			}
			return `${node.name} (Cloudflare Images): ${stored}/${files.length} image(s) ${deletedLater ? 'uploaded' : 'stored'}, e.g. ${shortUrl(files[0]?.url)}`;
		}
		// Every URL must serve the uploaded bytes back from the local S3 server.
		let served = 0;
		for (const file of files) {
			if (!/^https?:\/\//.test(file.url ?? '')) {
				ctx.problems.push(`"${node.name}": ${file.key} without a URL`);
				continue;
			}
			const answer = await get(file.url).catch((error) => ({ status: 0, type: String(error.message), body: Buffer.alloc(0) }));
			const same = answer.body.length === file.size && (!file.sha256 || sha256(answer.body) === file.sha256);
			if (answer.status === 200 && /^image\//.test(answer.type) && same) served++;
			else ctx.problems.push(`GET ${shortUrl(file.url)}: HTTP ${answer.status}, ${answer.type}, ${answer.body.length} bytes of ${file.size}`);
		}
		const kinds = count(files.map((f) => (/X-Amz-Signature=/.test(f.url ?? '') ? 'presigned' : 'public')));
		return `${node.name} (S3): ${served}/${files.length} URL(s) (${kinds}) serve the uploaded bytes, e.g. ${shortUrl(files[0]?.url)}`;
	},
	async getUrl(ctx, node, items) {
		const withUrl = items.filter((i) => /^https?:\/\//.test(i.json.url ?? ''));
		if (withUrl.length !== items.length || items.length === 0) ctx.problems.push(`"${node.name}" returned ${withUrl.length} URL(s) for ${items.length} item(s)`);
		return `${node.name} (${node.parameters.provider ?? 's3'}): ${withUrl.length}/${items.length} URL(s), e.g. ${shortUrl(withUrl[0]?.json.url)}`;
	},
	async delete(ctx, node, items) {
		const deleted = items.filter((i) => i.json.deleted === true);
		if (deleted.length !== items.length || items.length === 0) ctx.problems.push(`"${node.name}": ${deleted.length} of ${items.length} item(s) deleted`);
		let gone = '';
		if (node.parameters.provider === 'cloudflareImages') {
			const still = [];
			for (const item of deleted) if ((await ctx.cloudflareImage(item.json.id)).success) still.push(item.json.id);
			if (still.length) ctx.problems.push(`"${node.name}": ${still.join(', ')} still in Cloudflare Images`);
			gone = `, ${deleted.length - still.length} no longer found`;
		}
		return `${node.name} (${node.parameters.provider ?? 's3'}): ${deleted.length}/${items.length} deleted${gone}`;
	},
};

const shortUrl = (url) => (typeof url === 'string' && url.length > 70 ? `${url.slice(0, 67)}...` : url);

/** Prints one line, "<name>: <what was seen>", and exits 1 when anything is wrong. */
async function check([workflowFile, outputFile, name, fakesFile, serversFile]) {
	const wf = readJson(workflowFile);
	const fakes = readJson(fakesFile);
	let input;
	const ctx = {
		workflow: wf,
		servers: serverUrls(serversFile),
		problems: [],
		inputImage: async () => (input ??= (await get(`${fakes.files}${INPUT_PATH}`)).body),
		/** The Cloudflare Images API's answer for one image (its ID URL-encoded as one path segment, as Cloudflare requires). */
		cloudflareImage: async (id) => {
			const { cloudflare } = fakes;
			const answer = await get(`${cloudflare.apiBaseUrl}/accounts/${cloudflare.accountId}/images/v1/${encodeURIComponent(id)}`, { authorization: `Bearer ${cloudflare.token}` });
			return JSON.parse(answer.body.toString('utf8'));
		},
	};
	const notes = [];
	let status = 'unknown';
	try {
		const raw = parseRawOutput(readFileSync(outputFile, 'utf8'));
		status = raw.status ?? 'unknown';
		const runData = runDataOf(raw);
		const ours = wf.nodes.filter((n) => n.type.startsWith('n8n-nodes-comfyui-cluster.'));
		if (ours.length === 0) ctx.problems.push('the workflow has none of our nodes');
		for (const node of ours) {
			const items = itemsOf(runData, node.name);
			if (!items) {
				ctx.problems.push(`node "${node.name}" did not run`);
				continue;
			}
			if (items.length === 0) ctx.problems.push(`node "${node.name}" returned no items`);
			const failed = items.filter((i) => i.json.error);
			if (failed.length) ctx.problems.push(`${failed.length} item(s) failed in "${node.name}": ${failed[0].json.error}`);
			const cluster = node.type.endsWith('.comfyUiCluster');
			const operation = node.parameters?.operation ?? (cluster ? 'generate' : 'upload');
			const checkNode = (cluster ? clusterChecks : storageChecks)[operation];
			notes.push(checkNode ? await checkNode(ctx, node, items) : `${node.name} (${operation}): ${items.length} item(s)`);
		}
		if (status !== 'success') ctx.problems.push(`execution status ${status}`);
	} catch (error) {
		ctx.problems.push(error instanceof Error ? error.message : String(error));
	}
	const problems = ctx.problems.length ? ` | PROBLEMS: ${ctx.problems.join('; ')}` : '';
	process.stdout.write(`${name}: ${notes.join('; ') || `status ${status}`}${problems}\n`);
	if (ctx.problems.length) process.exit(1);
}

/** The items a Collect workflow starts from: one `{json: {handle}}` per scene the Submit node queued. */
function handles([outputFile, nodeName, out]) {
	const items = itemsOf(runDataOf(parseRawOutput(readFileSync(outputFile, 'utf8'))), nodeName) ?? [];
	const list = items.filter((i) => i.json.handle).map((i) => ({ json: { handle: i.json.handle } }));
	if (list.length === 0) throw new Error(`"${nodeName}" returned no handles`);
	writeFileSync(out, JSON.stringify(list));
}

/** Strips dev, peer and optional dependencies, as n8n's community-package installer does before `npm install`. */
function packManifest([file]) {
	const { devDependencies, peerDependencies, optionalDependencies, ...rest } = readJson(file);
	void devDependencies;
	void peerDependencies;
	void optionalDependencies;
	writeFileSync(file, JSON.stringify(rest, null, 2));
}

const commands = { credentials, select, workflow, check, handles, 'pack-manifest': packManifest };
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
