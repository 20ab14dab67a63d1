/**
 * The `--queue` check of scripts/e2e-n8n.sh: n8n in queue mode (a main and two `n8n worker` processes,
 * Postgres, Bull on Redis), the package's shared state in Redis, over simulated ComfyUI servers that each
 * run in a process of their own (test/sim/processFleet.ts), so that one can be SIGKILLed mid-run.
 *
 *   ts-node --transpile-only --prefer-ts-exts scripts/e2e-n8n/queue.ts fleet <outDir> <host:port/db> <statePrefix>
 *     Starts 3 servers, writes into <outDir> credentials.json (ComfyUI Cluster: the servers with max=1;
 *     ComfyUI Cluster Redis: that Redis), workflow.json (scripts/e2e-n8n/queue-workflow.json with them)
 *     and fleet.json (what `run` reads), prints one JSON line {"servers": [{name, url}], "control": url},
 *     and serves until SIGTERM:
 *       GET  /records          each server's records: prompts (with their seeds), starts, ends, activity
 *       POST /kill?name=sim-1  SIGKILL of that server's process
 *
 *   ts-node ... queue.ts run --fleet <fleet.json> --webhook <url> --label <text> --seed-base <n>
 *       --logs <main.log>,<worker-1.log>,<worker-2.log> [--scenes 8] [--kill sim-1]
 *     Two executions at once through the main's webhook (each a Generate batch of --scenes scenes with
 *     seeds of their own); with --kill, that server is SIGKILLed while it runs a scene of theirs, once a
 *     quarter of the scenes are done, and its breaker is read from Redis every 20 ms. Prints one line per
 *     check, `PASS …` or `FAIL …`, and exits 1 when any fails.
 *
 * The logs are n8n's (N8N_LOG_FORMAT=json): the workers' "Worker started/finished execution" lines tell
 * where each execution ran, the package's "scene N started on <server>" lines every placement.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { join } from 'path';
import Redis from 'ioredis';
import { decodeBreaker, type BreakerState } from '../../src/cluster/breaker';
import { clusterHash, parseServerList } from '../../src/cluster/serverSpec';
import { clusterKeys } from '../../src/cluster/store/keys';
import { startProcessFleet, type SimulatorProcess } from '../../test/sim';

const SERVERS = 3;
/** 20 sampling steps × 60 ms: a scene takes about 1.2 s on a server. */
const MS_PER_STEP = 60;
const CHECKPOINT = 'v1-5-pruned-emaonly.safetensors';
const WORKFLOW_FILE = join(__dirname, 'queue-workflow.json');
const WORKFLOW_ID = 'e2eQueueGenerate01';
const CREDENTIALS = {
	comfyUiClusterApi: { id: 'e2eQueueCluster0001', name: 'ComfyUI Cluster (simulated, max=1)' },
	comfyUiClusterRedisApi: { id: 'e2eQueueRedis000001', name: 'ComfyUI Cluster state (Redis)' },
};

interface FleetFile {
	servers: Array<{ name: string; url: string }>;
	/** The credential's server list. */
	serversText: string;
	statePrefix: string;
	redis: { host: string; port: number; db: number };
	control: string;
	workflowId: string;
}

/** What GET /records answers for one server. */
interface ServerRecords {
	name: string;
	url: string;
	killedAt: number | null;
	peakActive: number;
	activity: Array<{ at: number; active: number }>;
	prompts: Array<{ promptId: string; seed: number | null; receivedAt: number }>;
	started: string[];
	finished: Array<{ promptId: string; status: string; at: number }>;
}

/** An item the webhook answers (the Generate node's JSON). */
interface Item {
	server?: string;
	promptId?: string;
	attempts?: Array<{ server: string; outcome: string }>;
	outputs?: unknown[];
	error?: string;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** KSampler seed of a prompt as the simulator recorded it (node 3 of queue-workflow.json). */
function seedOf(prompt: Record<string, unknown>): number | null {
	const seed = (prompt['3'] as { inputs?: { seed?: unknown } } | undefined)?.inputs?.seed;
	return typeof seed === 'number' ? seed : null;
}

// ------------------------------------------------------------------ fleet

function parseRedis(text: string): FleetFile['redis'] {
	const match = /^([^:/]+):(\d+)\/(\d+)$/.exec(text);
	if (!match) throw new Error(`Redis as host:port/db, not ${text}`);
	return { host: match[1], port: Number(match[2]), db: Number(match[3]) };
}

async function recordsOf(sim: SimulatorProcess): Promise<ServerRecords> {
	// Records travel over IPC: ask a live server for its own, so that every record made so far is here.
	if (sim.pid !== undefined) await sim.getRecords().catch(() => undefined);
	const r = sim.records;
	return {
		name: sim.name,
		url: sim.url,
		killedAt: sim.faults.find((f) => f.kind === 'kill')?.at ?? null,
		peakActive: r.peakActive,
		activity: r.activity,
		prompts: r.prompts.map((p) => ({ promptId: p.promptId, seed: seedOf(p.prompt), receivedAt: p.receivedAt })),
		started: r.started,
		finished: r.finished.map(({ promptId, status, at }) => ({ promptId, status, at })),
	};
}

function answer(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { 'content-type': 'application/json' });
	res.end(JSON.stringify(body));
}

async function control(servers: SimulatorProcess[], req: IncomingMessage, res: ServerResponse): Promise<void> {
	const url = new URL(req.url ?? '/', 'http://127.0.0.1');
	if (req.method === 'GET' && url.pathname === '/records') return answer(res, 200, await Promise.all(servers.map(recordsOf)));
	if (req.method === 'POST' && url.pathname === '/kill') {
		const sim = servers.find((s) => s.name === url.searchParams.get('name'));
		if (!sim) return answer(res, 404, { error: `no server ${url.searchParams.get('name')}` });
		await sim.kill();
		return answer(res, 200, { name: sim.name, url: sim.url, at: sim.faults.at(-1)?.at });
	}
	answer(res, 404, { error: `no route ${req.method} ${url.pathname}` });
}

async function fleetCommand([outDir, redisText, statePrefix]: string[]): Promise<void> {
	if (!outDir || !redisText || !statePrefix) throw new Error('usage: queue.ts fleet <outDir> <host:port/db> <statePrefix>');
	const redis = parseRedis(redisText);
	const fleet = await startProcessFleet(
		Array.from({ length: SERVERS }, () => ({
			host: '127.0.0.1',
			msPerStep: MS_PER_STEP,
			models: { checkpoints: [CHECKPOINT], loras: [], vae: [], upscale_models: [] },
		})),
	);
	const http = createServer((req, res) => {
		control(fleet.servers, req, res).catch((error: unknown) => answer(res, 500, { error: String(error) }));
	});
	await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
	const controlUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

	// max=1: each server may hold one prompt of this cluster at a time, whichever worker sent it.
	const serversText = fleet.servers.map((s) => `${s.url} max=1`).join('\n');
	const credentials = [
		{ ...CREDENTIALS.comfyUiClusterApi, type: 'comfyUiClusterApi', data: { servers: serversText, authentication: 'none', statePrefix } },
		{
			...CREDENTIALS.comfyUiClusterRedisApi,
			type: 'comfyUiClusterRedisApi',
			data: { mode: 'single', host: redis.host, port: redis.port, database: redis.db, user: '', password: '', ssl: false },
		},
	];
	const workflow = readJson<{ id?: string; active?: boolean; nodes: Array<{ credentials?: Record<string, unknown> }> }>(WORKFLOW_FILE);
	workflow.id = WORKFLOW_ID;
	workflow.active = false;
	for (const node of workflow.nodes) {
		for (const type of Object.keys(node.credentials ?? {})) node.credentials![type] = CREDENTIALS[type as keyof typeof CREDENTIALS];
	}
	const servers = fleet.servers.map((s) => ({ name: s.name, url: s.url }));
	const file: FleetFile = { servers, serversText, statePrefix, redis, control: controlUrl, workflowId: WORKFLOW_ID };
	mkdirSync(outDir, { recursive: true });
	writeFileSync(join(outDir, 'credentials.json'), JSON.stringify(credentials, null, 2));
	writeFileSync(join(outDir, 'workflow.json'), JSON.stringify(workflow, null, 2));
	writeFileSync(join(outDir, 'fleet.json'), JSON.stringify(file, null, 2));
	process.stdout.write(`${JSON.stringify({ servers, control: controlUrl })}\n`);

	let stopping = false;
	const shutdown = (): void => {
		if (stopping) return;
		stopping = true;
		http.close();
		fleet.stop().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

// ------------------------------------------------------------------ run

interface RunOptions {
	fleet: FleetFile;
	webhook: string;
	label: string;
	seedBase: number;
	scenes: number;
	mainLog: string;
	workerLogs: string[];
	kill?: string;
}

function runOptions(argv: string[]): RunOptions {
	const flags: Record<string, string> = {};
	for (let i = 0; i < argv.length; i += 2) {
		if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`run: expected --name value pairs, got ${argv.slice(i).join(' ')}`);
		flags[argv[i].slice(2)] = argv[i + 1];
	}
	for (const name of ['fleet', 'webhook', 'label', 'seed-base', 'logs']) if (!flags[name]) throw new Error(`run: --${name} is required`);
	const [mainLog, ...workerLogs] = flags.logs.split(',');
	return {
		fleet: readJson<FleetFile>(flags.fleet),
		webhook: flags.webhook,
		label: flags.label,
		seedBase: Number(flags['seed-base']),
		scenes: Number(flags.scenes ?? 8),
		mainLog,
		workerLogs,
		kill: flags.kill,
	};
}

async function getJson<T>(url: string, method = 'GET'): Promise<T> {
	const response = await fetch(url, { method, signal: AbortSignal.timeout(30_000) });
	if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status} ${await response.text()}`);
	return (await response.json()) as T;
}

/** One execution: POST the scenes to the webhook, which answers with the Generate node's items once it ended. */
async function trigger(webhook: string, seeds: number[]): Promise<{ items?: Item[]; error?: string }> {
	try {
		const response = await fetch(webhook, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ scenes: seeds.map((seed, scene) => ({ scene, seed })) }),
			signal: AbortSignal.timeout(600_000),
		});
		const text = await response.text();
		const body: unknown = text ? JSON.parse(text) : undefined;
		if (response.ok && Array.isArray(body)) return { items: body as Item[] };
		return { error: `HTTP ${response.status}: ${text.slice(0, 300)}` };
	} catch (error) {
		return { error: error instanceof Error ? error.message : String(error) };
	}
}

interface Kill {
	name: string;
	url: string;
	at: number;
	runningSeed: number;
	done: number;
}

/** Kills `name` once a quarter of the scenes are done and it runs one of them. */
function killMidRun(controlUrl: string, name: string, seeds: number[]): { stop: () => void; result: Promise<Kill | string | undefined> } {
	let stopped = false;
	const wanted = new Set(seeds);
	const result = (async (): Promise<Kill | string | undefined> => {
		while (!stopped) {
			const servers = await getJson<ServerRecords[]>(`${controlUrl}/records`);
			const done = servers.reduce((n, s) => n + s.finished.filter((f) => f.status === 'success' && wanted.has(seedIn(s, f.promptId) ?? NaN)).length, 0);
			const target = servers.find((s) => s.name === name);
			if (!target) throw new Error(`no server ${name}`);
			const ended = new Set(target.finished.map((f) => f.promptId));
			const running = target.prompts.find((p) => p.seed !== null && wanted.has(p.seed) && target.started.includes(p.promptId) && !ended.has(p.promptId));
			if (running && done >= seeds.length / 4) {
				const killed = await getJson<{ name: string; url: string; at: number }>(`${controlUrl}/kill?name=${encodeURIComponent(name)}`, 'POST');
				return { ...killed, runningSeed: running.seed!, done };
			}
			await sleep(50);
		}
		return undefined;
	})().catch((error: unknown) => `could not kill ${name}: ${String(error)}`);
	return { stop: () => (stopped = true), result };
}

function seedIn(server: ServerRecords, promptId: string): number | null {
	return server.prompts.find((p) => p.promptId === promptId)?.seed ?? null;
}

/** Every change of one server's breaker in Redis (the package's own key and encoding), read every 20 ms. */
function watchBreaker(fleet: FleetFile, serverId: string): { stop: () => void; result: Promise<{ seen: Array<{ seenAt: number; state: BreakerState }>; error?: string }> } {
	const specs = parseServerList(fleet.serversText);
	const key = clusterKeys(clusterHash(specs), fleet.statePrefix).breaker;
	const redis = new Redis({ ...fleet.redis, maxRetriesPerRequest: 1 });
	let stopped = false;
	const result = (async () => {
		const seen: Array<{ seenAt: number; state: BreakerState }> = [];
		let last: string | null | undefined;
		try {
			while (!stopped) {
				const text = await redis.hget(key, serverId);
				if (text !== last) seen.push({ seenAt: Date.now(), state: decodeBreaker(text) });
				last = text;
				await sleep(20);
			}
			return { seen };
		} catch (error) {
			return { seen, error: `reading ${key} from Redis: ${String(error)}` };
		} finally {
			redis.disconnect();
		}
	})();
	return { stop: () => (stopped = true), result };
}

interface LogLine {
	at: number;
	message: string;
	meta: Record<string, unknown>;
}

/** The JSON lines of an n8n log (N8N_LOG_FORMAT=json) from `since` on. */
function readLog(file: string, since: number): LogLine[] {
	const lines: LogLine[] = [];
	for (const text of readFileSync(file, 'utf8').split('\n')) {
		if (!text.startsWith('{')) continue;
		try {
			const entry = JSON.parse(text) as { message?: unknown; timestamp?: string; metadata?: Record<string, unknown> };
			const meta = entry.metadata ?? {};
			const at = Date.parse(String(entry.timestamp ?? meta.timestamp));
			if (typeof entry.message === 'string' && at >= since) lines.push({ at, message: entry.message, meta });
		} catch {
			// not a log entry of n8n's
		}
	}
	return lines;
}

/** The package's line for every placement: "<node>: scene N started on <server> (attempt k)". */
const PLACEMENT = /: scene (\d+) started on (\S+) \(attempt \d+\)$/;

interface Check {
	ok: boolean;
	text: string;
}

const check = (label: string, problems: string[], text: string): Check => ({
	ok: problems.length === 0,
	text: `${label}: ${text}${problems.length ? ` | PROBLEMS: ${problems.join('; ')}` : ''}`,
});

/** Where the two executions ran: one on each worker, at the same time; the main only enqueued them. */
function checkWorkers(o: RunOptions, since: number): Check {
	const problems: string[] = [];
	const runs = o.workerLogs.flatMap((file, w) => {
		const lines = readLog(file, since);
		return lines.flatMap((l) => {
			const id = /^Worker started execution (\d+)/.exec(l.message)?.[1];
			if (!id) return [];
			const finish = lines.find((f) => f.message.startsWith(`Worker finished execution ${id} `));
			const placements = lines.filter((p) => PLACEMENT.test(p.message) && p.at >= l.at && (!finish || p.at <= finish.at)).length;
			return [{ worker: `worker-${w + 1}`, id, start: l.at, end: finish?.at, success: finish?.meta.success, placements }];
		});
	});
	const main = readLog(o.mainLog, since);
	for (const run of runs) {
		if (run.end === undefined) problems.push(`execution ${run.id} did not finish on ${run.worker}`);
		else if (run.success !== true) problems.push(`execution ${run.id} finished on ${run.worker} without success`);
		if (!main.some((l) => l.message.startsWith(`Enqueued execution ${run.id} `))) problems.push(`the main did not enqueue execution ${run.id}`);
		if (run.placements === 0) problems.push(`execution ${run.id} placed no scene on ${run.worker}`);
	}
	if (runs.length !== 2) problems.push(`${runs.length} execution(s) started on the workers, expected 2`);
	if (new Set(runs.map((r) => r.worker)).size !== Math.min(2, runs.length)) problems.push('both executions ran on one worker');
	const ranOnMain = main.filter((l) => PLACEMENT.test(l.message) || l.message.startsWith('Worker started execution')).length;
	if (ranOnMain) problems.push(`${ranOnMain} scene placement(s) in the main's log`);
	const together = runs.length === 2 ? Math.min(...runs.map((r) => r.end ?? Infinity)) - Math.max(...runs.map((r) => r.start)) : 0;
	if (runs.length === 2 && !(together > 0)) problems.push('the two executions did not overlap');
	const each = runs.map((r) => `${r.id} on ${r.worker} (${r.placements} placements, ${r.end ? seconds(r.end - r.start) : 'unfinished'})`).join(' and ');
	return check(o.label, problems, `executions ${each || 'none'}, ${together > 0 && together < Infinity ? seconds(together) : 'no time'} at once; the main enqueued both and ran none`);
}

/** Each server held at most one prompt at a time (max=1) while both workers sent it scenes. */
function checkMax(o: RunOptions, since: number, servers: ServerRecords[], perServer: Map<string, number[]>): Check {
	const problems: string[] = [];
	const peaks = servers.map((s) => {
		const peak = Math.max(0, ...s.activity.filter((a) => a.at >= since).map((a) => a.active));
		if (peak > 1 || s.peakActive > 1) problems.push(`${s.name} held ${Math.max(peak, s.peakActive)} prompts at once`);
		return `${s.name} ${peak}`;
	});
	const shared = servers.filter((s) => (perServer.get(s.url) ?? [0, 0]).every((n) => n > 0));
	if (shared.length === 0) problems.push('no server ran scenes of both executions');
	const split = servers.map((s) => `${s.name} ${(perServer.get(s.url) ?? [0, 0]).join('+')}`).join(', ');
	return check(o.label, problems, `max=1 held across both workers: peak prompts at once ${peaks.join(', ')}; scenes per server (call 1 + call 2) ${split}`);
}

/**
 * Every scene has its outputs, from the prompt that ran it. Without a kill, each seed was submitted once
 * and finished once anywhere in the fleet. With one, no scene is lost and none ran to the end twice on
 * servers that stayed up; the scene the killed server was running is retried elsewhere.
 */
function checkScenes(o: RunOptions, since: number, seeds: number[][], answers: Array<{ items?: Item[]; error?: string }>, servers: ServerRecords[], urlOf: (server: string) => string, kill?: Kill): Check {
	const problems: string[] = [];
	let withOutputs = 0;
	const rerun: string[] = [];
	const total = seeds.flat().length;
	answers.forEach((a, e) => {
		if (a.error) problems.push(`call ${e + 1}: ${a.error}`);
		else if (a.items?.length !== seeds[e].length) problems.push(`call ${e + 1} answered ${a.items?.length} items for ${seeds[e].length} scenes`);
	});
	seeds.forEach((list, e) =>
		list.forEach((seed, i) => {
			const item = answers[e].items?.[i];
			if (!item) return;
			if (item.error || !(item.outputs && item.outputs.length > 0)) {
				problems.push(`seed ${seed}: ${item.error ?? 'no outputs'}`);
				return;
			}
			withOutputs++;
			const prompts = servers
				.flatMap((s) => s.prompts.filter((p) => p.seed === seed).map((p) => ({ ...p, server: s, status: s.finished.find((f) => f.promptId === p.promptId)?.status })))
				.sort((a, b) => a.receivedAt - b.receivedAt);
			const done = prompts.filter((p) => p.status === 'success');
			const fromItem = done.find((p) => p.promptId === item.promptId && p.server.url === urlOf(item.server ?? ''));
			if (!fromItem) problems.push(`seed ${seed}: its item's prompt ${item.promptId} on ${item.server} did not run to success there`);
			if (!kill) {
				if (prompts.length !== 1 || done.length !== 1) problems.push(`seed ${seed}: submitted ${prompts.length}×, finished ${done.length}×`);
				return;
			}
			const upDone = done.filter((p) => p.server.name !== kill.name);
			if (upDone.length > 1) problems.push(`seed ${seed} ran to the end ${upDone.length}× on servers that stayed up`);
			if (prompts.length > 1) rerun.push(`${seed} (${prompts.map((p) => p.server.name).join(' → ')})`);
		}),
	);
	if (!kill) return check(o.label, problems, `every scene once: ${withOutputs}/${total} scenes with outputs; each of the ${total} seeds submitted once and finished once across the fleet`);
	return check(
		o.label,
		problems,
		`${total - withOutputs} scenes lost: ${withOutputs}/${total} scenes with outputs; ${kill.name} was SIGKILLed ${seconds(kill.at - since)} into the run (${kill.done} scenes done) while running seed ${kill.runningSeed}; re-run elsewhere: ${rerun.join(', ') || 'none'}`,
	);
}

/** Once the killed server's breaker is open in Redis, no worker places a scene there. */
function checkBreaker(
	o: RunOptions,
	since: number,
	kill: Kill,
	endedAt: number,
	killedUrl: string,
	{ seen, error }: { seen: Array<{ seenAt: number; state: BreakerState }>; error?: string },
	answers: Array<{ items?: Item[] }>,
): Check {
	const problems: string[] = error ? [error] : [];
	const opened = seen.find((s) => s.state.open);
	const placements = o.workerLogs.flatMap((file, w) =>
		readLog(file, since)
			.filter((l) => PLACEMENT.exec(l.message)?.[2] === killedUrl)
			.map((l) => ({ at: l.at, worker: `worker-${w + 1}` })),
	);
	const outcomes = answers.flatMap((a) => (a.items ?? []).flatMap((i) => (i.attempts ?? []).filter((t) => t.server === killedUrl).map((t) => t.outcome)));
	const tally = [...new Set(outcomes)].map((kind) => `${kind} ${outcomes.filter((k) => k === kind).length}`).join(', ') || 'none';
	if (!opened) {
		problems.push(`its breaker never opened in Redis (${seen.length} state(s) seen)`);
		return check(o.label, problems, `breaker of ${kill.name}: never open; ${placements.length} placement(s) there`);
	}
	const openedAt = opened.state.lastOpenedAt;
	const after = placements.filter((p) => p.at > openedAt);
	const before = placements.length - after.length;
	if (after.length) problems.push(`${after.length} placement(s) on ${kill.name} after its breaker opened: ${after.map((p) => `${p.worker} at +${seconds(p.at - openedAt)}`).join(', ')}`);
	const reopened = new Set(seen.filter((s) => s.state.open).map((s) => s.state.lastOpenedAt)).size - 1;
	return check(
		o.label,
		problems,
		`breaker of ${kill.name} open in Redis ${seconds(openedAt - kill.at)} after the SIGKILL, for ${seconds(opened.state.openUntil - openedAt)}${reopened > 0 ? ` (re-opened ${reopened}×)` : ''}; ` +
			`placements there from then to the end of the run (${seconds(endedAt - openedAt)}): ${after.length}, by either worker (${before} before: while it ran, or just died); attempts on it in the items: ${tally}`,
	);
}

async function runCommand(argv: string[]): Promise<number> {
	const o = runOptions(argv);
	const seeds = [0, 1].map((e) => Array.from({ length: o.scenes }, (_, i) => o.seedBase + e * o.scenes + i));
	const specs = parseServerList(o.fleet.serversText);
	// The package names a server by its normalised URL; the simulators by their own.
	const urlOf = (server: string): string => o.fleet.servers[specs.findIndex((s) => s.url === server)]?.url ?? server;
	const since = Date.now();
	const killIndex = o.kill ? o.fleet.servers.findIndex((s) => s.name === o.kill) : -1;
	if (o.kill && killIndex < 0) throw new Error(`no server ${o.kill}`);
	const breaker = o.kill ? watchBreaker(o.fleet, specs[killIndex].id) : undefined;
	const killer = o.kill ? killMidRun(o.fleet.control, o.kill, seeds.flat()) : undefined;
	const answers = await Promise.all(seeds.map((list) => trigger(o.webhook, list)));
	const endedAt = Date.now();
	killer?.stop();
	breaker?.stop();
	const killed = await killer?.result;
	const kill = typeof killed === 'object' ? killed : undefined;
	const breakerStates = (await breaker?.result) ?? { seen: [] };
	// The workers log "finished" right after they report the job done; give the log files a moment.
	await sleep(500);
	const servers = await getJson<ServerRecords[]>(`${o.fleet.control}/records`);
	const perServer = new Map(servers.map((s) => [s.url, answers.map((a) => (a.items ?? []).filter((i) => urlOf(i.server ?? '') === s.url).length)]));
	const checks = [checkWorkers(o, since), checkMax(o, since, servers, perServer), checkScenes(o, since, seeds, answers, servers, urlOf, kill)];
	if (o.kill) {
		if (!kill) checks.push(check(o.label, [typeof killed === 'string' ? killed : 'the batch ended before a quarter of it was done with a scene running there'], `${o.kill} was never killed`));
		else checks.push(checkBreaker(o, since, kill, endedAt, specs[killIndex].url, breakerStates, answers));
	}
	for (const c of checks) process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'} ${c.text}\n`);
	return checks.some((c) => !c.ok) ? 1 : 0;
}

async function main(): Promise<void> {
	const [command, ...args] = process.argv.slice(2);
	if (command === 'fleet') return fleetCommand(args);
	if (command === 'run') process.exit(await runCommand(args));
	throw new Error(`unknown command ${command}: fleet or run`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(2);
});
