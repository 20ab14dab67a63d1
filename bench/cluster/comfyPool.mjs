// ComfyPool of @saintno/comfyui-sdk (ESM only) on the same fleet, for comparison.
// Usage: node comfyPool.mjs '<json {urls, mode: "PICK_LOWEST"|"PICK_ZERO", graphs: [...]}>'
// Prints one JSON line: {elapsedMs, ok, failed}.
import { WebSocket } from 'ws';
import { CallWrapper, ComfyApi, ComfyPool, EQueueMode, PromptBuilder } from '@saintno/comfyui-sdk';

// Node 20 has no global WebSocket; the SDK expects one (as in browsers and Node 22).
globalThis.WebSocket ??= WebSocket;

// The SDK's background polling can reject on a closed keep-alive socket; count it, do not die.
let backgroundErrors = 0;
process.on('unhandledRejection', () => backgroundErrors++);
process.on('uncaughtException', () => backgroundErrors++);

let ok = 0;
let failed = 0;
const args = JSON.parse(process.argv[2]);
const deadline = setTimeout(() => {
	process.stdout.write(`${JSON.stringify({ elapsedMs: null, ok, failed, backgroundErrors, timedOut: true })}\n`);
	process.exit(0);
}, args.deadlineMs ?? 120_000);
const apis = args.urls.map((url, i) => new ComfyApi(url, `bench-${process.pid}-${i}`));
// The pool initialises its clients and marks each online on its first websocket status message.
const pool = new ComfyPool([], EQueueMode[args.mode]);
let connected = 0;
const allConnected = new Promise((resolve) => pool.on('connected', () => ++connected === apis.length && resolve()));
for (const api of apis) await pool.addClient(api);
await allConnected;
const started = Date.now();
await Promise.all(
	args.graphs.map((graph) =>
		pool.run(async (api) => {
			const workflow = new PromptBuilder(graph, [], ['images']).setOutputNode('images', '9');
			const result = await new CallWrapper(api, workflow).run().catch(() => false);
			if (result) ok++;
			else failed++;
		}),
	),
);
const elapsedMs = Date.now() - started;
clearTimeout(deadline);
process.stdout.write(`${JSON.stringify({ elapsedMs, ok, failed, backgroundErrors })}\n`);
pool.destroy();
process.exit(0);
