import { startFleet } from './fleet';
import type { SimulatorOptions } from './server';

/** Starts simulated ComfyUI servers until SIGINT/SIGTERM and prints one JSON line per server: {name,url}. */
export const HELP = `Usage: npm run sim -- [options]

Starts simulated ComfyUI servers (the HTTP and websocket API of ComfyUI 0.3.64) until Ctrl-C, and
prints one JSON line per server: {"name", "url"}.

  --count N               servers (default: as many as --speeds lists, else 1)
  --speeds 3,2,1          speed of each server (work per second relative to 1)
  --base-port N           ports N, N+1, …; 0 (default) picks free ports
  --host 127.0.0.1        address to listen on
  --ms-per-step 50        time of one sampling step at speed 1
  --checkpoints a,b       checkpoint files the servers list
  --model-load-ms 5000    a loader not in the cache takes this long (wall clock, any speed)
  --disk-mbps 2000        or: loads take file size ÷ this (MB/s)
  --model-mb a=6800,b=2000  file sizes (MB) for --disk-mbps and memory
  --cache-lru 30          ComfyUI's --cache-lru N (node results kept); default: the classic cache
  --vram-gb 24  --ram-gb 64  memory totals
  --memory-live           /system_stats reports live figures; running out of RAM kills the server
  --bytes-per-pixel 12    RAM an IMAGE/LATENT output holds per pixel and frame
  --help                  this text

A comma list (--speeds, --disk-mbps, --model-load-ms, --cache-lru, --vram-gb, --ram-gb,
--bytes-per-pixel) gives server i its i-th value (the last one for the servers beyond it).
`;

const OPTIONS = new Set(['count', 'speeds', 'base-port', 'host', 'ms-per-step', 'checkpoints', 'model-load-ms', 'disk-mbps', 'model-mb', 'cache-lru', 'vram-gb', 'ram-gb', 'memory-live', 'bytes-per-pixel', 'help']);

function parseArgs(argv: string[]): Record<string, string> {
	const out: Record<string, string> = {};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (!a.startsWith('--')) continue;
		const eq = a.indexOf('=');
		if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
		else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[a.slice(2)] = argv[++i];
		else out[a.slice(2)] = 'true';
	}
	return out;
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2));
	if (args.help) {
		process.stdout.write(HELP);
		return;
	}
	const unknown = Object.keys(args).filter((name) => !OPTIONS.has(name));
	if (unknown.length > 0) {
		process.stderr.write(`Unknown option ${unknown.map((name) => `--${name}`).join(', ')}: see npm run sim -- --help\n`);
		process.exit(2);
	}
	/** The value of a comma-list option for server i: its own, else the last one given. */
	const perServer = (name: string, i: number): number | undefined => {
		const values = (args[name] ?? '').split(',').filter(Boolean).map(Number);
		return values[i] ?? values.at(-1);
	};
	const gib = (name: string, i: number): number | undefined => {
		const gb = perServer(name, i);
		return gb === undefined ? undefined : Math.round(gb * 1024 ** 3);
	};
	const count = Number(args.count ?? ((args.speeds ?? '').split(',').filter(Boolean).length || 1));
	const basePort = Number(args['base-port'] ?? 0);
	const checkpoints = (args.checkpoints ?? 'sd_xl_base_1.0.safetensors,v1-5-pruned-emaonly.safetensors').split(',').filter(Boolean);
	const modelMB = args['model-mb'] ? Object.fromEntries(args['model-mb'].split(',').map((pair) => [pair.slice(0, pair.lastIndexOf('=')), Number(pair.slice(pair.lastIndexOf('=') + 1))])) : undefined;
	const specs: SimulatorOptions[] = Array.from({ length: count }, (_, i) => ({
		name: `sim-${i + 1}`,
		host: args.host ?? '127.0.0.1',
		port: basePort > 0 ? basePort + i : 0,
		speed: perServer('speeds', i) ?? 1,
		msPerStep: args['ms-per-step'] ? Number(args['ms-per-step']) : undefined,
		models: { checkpoints, loras: [], vae: [], upscale_models: [] },
		diskMBps: perServer('disk-mbps', i),
		modelLoadMs: perServer('model-load-ms', i),
		modelMB,
		cacheLru: perServer('cache-lru', i),
		memory: { vramTotal: gib('vram-gb', i), ramTotal: gib('ram-gb', i), live: args['memory-live'] === 'true', bytesPerPixel: perServer('bytes-per-pixel', i) },
	}));
	const fleet = await startFleet(specs);
	for (const s of fleet.servers) process.stdout.write(JSON.stringify({ name: s.name, url: s.url }) + '\n');
	let stopping = false;
	const shutdown = (): void => {
		if (stopping) return;
		stopping = true;
		fleet.stop().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
	process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
	process.exit(1);
});
