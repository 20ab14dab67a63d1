/**
 * Output benchmark child: runs ComfyUI Cluster → Generate in n8n's engine with n8n's filesystem binary
 * mode against a simulator whose video output is `<megabytes>` MB, and prints the peak RSS growth as
 * JSON. Runs in its own process so nothing else shares its memory numbers.
 * Usage: TS_NODE_PREFER_TS_EXTS=true node --expose-gc -r ts-node/register/transpile-only bench/outputs/child.ts <server url> <megabytes>
 */
// First: n8n-core's settings file stays out of $HOME, as in the tests.
import '../../test/setup/env';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Container } from '@n8n/di';
import { BinaryDataService } from 'n8n-core';
import { ComfyUiClusterApi } from '../../credentials/ComfyUiClusterApi.credentials';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import { chain, node, NodeTypes, runWorkflow, useFilesystemBinaryData } from '../../test/workflow/harness';

/** EmptyImage → CreateVideo → SaveVideo: one mp4 named `<prefix>_00001_.mp4`. */
function videoGraph(prefix: string): string {
	return JSON.stringify({
		'1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 8, color: Math.floor(Math.random() * 0xffffff) } },
		'2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 8 } },
		'3': { class_type: 'SaveVideo', inputs: { video: ['2', 0], filename_prefix: prefix, format: 'auto', codec: 'auto' } },
	});
}

/** The kernel's high-water mark of this process's RSS (VmHWM), in bytes; undefined off Linux. */
function kernelPeak(): number | undefined {
	try {
		const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
		return kb ? Number(kb) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0), so it covers what follows only. */
function resetKernelPeak(): boolean {
	try {
		writeFileSync('/proc/self/clear_refs', '5');
		return true;
	} catch {
		return false;
	}
}

async function main(): Promise<void> {
	const [url, megabytes] = process.argv.slice(2);
	const expected = Number(megabytes) * 1024 * 1024;
	const storage = mkdtempSync(join(tmpdir(), 'n8n-binary-bench-'));
	await useFilesystemBinaryData(storage);
	const nodeTypes = new NodeTypes([new ComfyUiCluster()]);
	const generate = async (prefix: string) => {
		const result = await runWorkflow({
			nodes: [
				node('Items', 'test.items', { items: JSON.stringify([{ json: {} }]) }),
				node('Generate', 'comfyUiCluster', { operation: 'generate', workflow: videoGraph(prefix), options: { totalTimeout: 600 } }, { credentials: { comfyUiClusterApi: { id: 'c1', name: 'cluster' } } }),
			],
			connections: chain('Items', 'Generate'),
			nodeTypes,
			credentialTypes: [new ComfyUiClusterApi()],
			credentials: { comfyUiClusterApi: { servers: url, authentication: 'none', statePrefix: `bench-outputs-${process.pid}` } },
			timeoutMs: 600_000,
		});
		const video = result.output('Generate')[0]?.binary?.video_0;
		if (result.status !== 'success' || !video?.id) throw new Error(`the run ended ${result.status}: ${String(result.nodeError('Generate')?.message ?? 'no video output')}`);
		return { bytes: video.bytes ?? 0, onDisk: statSync(Container.get(BinaryDataService).getPath(video.id)).size };
	};
	// Warm-up: a small spooled video loads every code path (engine, spooling, n8n's binary data), so
	// the growth measured below is what the large video costs, not module loading.
	await generate('warmup');
	const gc = (globalThis as { gc?: () => void }).gc;
	gc?.();
	const baseline = process.memoryUsage().rss;
	const kernelReset = resetKernelPeak();
	let peak = baseline;
	const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
	const started = Date.now();
	const { bytes, onDisk } = await generate('bigvideo');
	const seconds = (Date.now() - started) / 1000;
	clearInterval(sampler);
	peak = Math.max(peak, process.memoryUsage().rss);
	// Between two samples RSS may rise and fall again; the kernel's mark sees every page.
	const hwm = kernelReset ? kernelPeak() : undefined;
	if (hwm !== undefined) peak = Math.max(peak, hwm);
	await closeAllRuntimes();
	rmSync(storage, { recursive: true, force: true });
	if (bytes !== expected || onDisk !== expected) throw new Error(`expected ${expected} bytes, n8n holds ${bytes} (${onDisk} on disk)`);
	process.stdout.write(JSON.stringify({ seconds, baselineMb: baseline / 1048576, peakGrowthMb: (peak - baseline) / 1048576, size: bytes, kernelPeak: hwm !== undefined }) + '\n');
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
