/** Small API-format graphs the simulator runs quickly. */
import type { ApiGraph } from '../../../src/comfyui/client';

/** EmptyImage → ProbeProgress (reports `steps` progress messages) → SaveImage. */
export function probeGraph(steps: number, color = 1, prefix = 'client/p'): ApiGraph {
	return {
		'1': { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color } },
		'2': { class_type: 'ProbeProgress', inputs: { image: ['1', 0], steps, delay: 0, send_preview: false } },
		'3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: prefix } },
	};
}

/** EmptyImage → SaveImage: no progress steps at all. */
export function quickGraph(color = 7): ApiGraph {
	return {
		'1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color } },
		'2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'client/q' } },
	};
}

/** A fresh colour per call, so the server's cache never serves a test's prompt. */
let nextColor = 1000 + Math.floor(Math.random() * 100000);
export function freshColor(): number {
	return nextColor++;
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
	const end = Date.now() + timeoutMs;
	while (!(await predicate())) {
		if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}
