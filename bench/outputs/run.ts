/**
 * Output benchmark: one 1 GB video output through ComfyUI Cluster → Generate in n8n's engine, with n8n's
 * filesystem binary mode, in a child process; peak RSS growth over the baseline after a warm-up run.
 * The simulator generates the video's bytes while sending (its own mp4 header, then zeros), so neither
 * side holds the file in memory to produce it.
 * Run: npm run bench:outputs   (writes bench/results/outputs.md)
 */
import { spawn } from 'child_process';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ComfyUiSimulator } from '../../test/sim';

const MEGABYTES = 1024;
const RUNS = 3;
const GOAL_MB = 150;

interface ChildResult {
	seconds: number;
	baselineMb: number;
	peakGrowthMb: number;
	size: number;
	kernelPeak: boolean;
}

function runChild(url: string): Promise<ChildResult> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', join(__dirname, 'child.ts'), url, String(MEGABYTES)], {
			stdio: ['ignore', 'pipe', 'inherit'],
			cwd: join(__dirname, '..', '..'),
			// `X.node` must load X.node.ts, not the X.node.json codex beside it.
			env: { ...process.env, TS_NODE_PREFER_TS_EXTS: 'true' },
		});
		let out = '';
		child.stdout.on('data', (c: Buffer) => (out += c.toString()));
		child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult) : reject(new Error(`the child exited ${code}`))));
	});
}

async function main(): Promise<void> {
	const sim = await ComfyUiSimulator.start({
		msPerStep: 1,
		faults: { view: [{ match: 'bigvideo', size: MEGABYTES * 1024 * 1024 }, { match: 'warmup', size: 16 * 1024 * 1024 }] },
	});
	const results: ChildResult[] = [];
	try {
		for (let run = 1; run <= RUNS; run++) {
			const result = await runChild(sim.url);
			results.push(result);
			process.stderr.write(`run ${run}: ${result.seconds.toFixed(1)} s, baseline ${result.baselineMb.toFixed(0)} MB, peak growth ${result.peakGrowthMb.toFixed(1)} MB\n`);
		}
	} finally {
		await sim.stop();
	}
	const worst = results.reduce((a, b) => (b.peakGrowthMb > a.peakGrowthMb ? b : a));
	const lines = [
		`## P11: one ${MEGABYTES / 1024} GB video output into n8n's filesystem binary data (child process, ${RUNS} runs)`,
		'',
		'The simulator streams the file (declared size, 256 KiB writes); the engine spools it to a temporary file while it',
		'downloads and n8n copies it from there into its binary data folder. Baseline RSS is taken after a warm-up run with a',
		'16 MB video in the same process; the peak is the largest of RSS samples every 20 ms and the kernel\'s high-water mark (VmHWM).',
		'',
		'| Run | Size | Time | Baseline RSS | Peak RSS growth | Goal | met |',
		'|---|---|---|---|---|---|---|',
		...results.map(
			(r, i) =>
				`| ${i + 1}${r === worst ? ' (worst)' : ''} | ${(r.size / 1048576).toFixed(0)} MB | ${r.seconds.toFixed(1)} s | ${r.baselineMb.toFixed(0)} MB | ${r.peakGrowthMb.toFixed(1)} MB | ≤ ${GOAL_MB} MB | ${r.peakGrowthMb <= GOAL_MB ? 'yes' : 'no'} |`,
		),
	];
	const report = `# Output benchmark\n\nMachine: ${process.platform} ${process.arch}, Node ${process.version}; simulator and node share the same cores and disk.\n\n${lines.join('\n')}\n`;
	process.stdout.write(report);
	mkdirSync(join(__dirname, '..', 'results'), { recursive: true });
	writeFileSync(join(__dirname, '..', 'results', 'outputs.md'), report);
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
