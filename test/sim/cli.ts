import { startFleet } from './fleet';
import type { SimulatorOptions } from './server';

/**
 * Starts simulated ComfyUI servers until SIGINT/SIGTERM and prints one JSON line per server: {name,url}.
 *   ts-node --transpile-only test/sim/cli.ts --count 3 --speeds 3,2,1 --base-port 0 [--ms-per-step 50]
 *     [--checkpoints a.safetensors,b.safetensors] [--host 127.0.0.1]
 *     [--disk-mbps 2000] [--model-load-ms 5000] [--model-mb a.safetensors=6800,b.safetensors=2000]
 *     [--cache-lru 30] [--vram-gb 24] [--ram-gb 64] [--memory-live] [--bytes-per-pixel 12]
 * --base-port N>0 gives ports N, N+1, …; 0 picks free ports. A comma list (--speeds, --disk-mbps,
 * --model-load-ms, --cache-lru, --vram-gb, --ram-gb, --bytes-per-pixel) gives server i its i-th value
 * (the last one for the servers beyond it). What each option does: SimulatorOptions (types.ts).
 */
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
