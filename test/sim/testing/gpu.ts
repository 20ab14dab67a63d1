/**
 * Decides what the tests of the simulator's GPU behaviour (model loads, the cache, memory) share: a
 * txt2img graph on a given checkpoint whose latent may be a video of many frames, a run through
 * HTTP and the websocket that keeps when each message arrived, and the memory figures of a server.
 */
import { Recorder, send, until } from '../../contract/replay';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** Every node of txt2img costs nothing beyond its steps: the time a test sees is the model load. */
export const NO_CLASS_COSTS = { CheckpointLoaderSimple: 0, EmptyLatentImage: 0, CLIPTextEncode: 0, KSampler: 0, VAEDecode: 0, SaveAnimatedWEBP: 0 };

export type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/**
 * Checkpoint (4) → text (6), latent of `frames` frames of size² (5) → sampler (3) → decode (8) →
 * animated WebP (9). Nodes run in the order 4, 6, 5, 3, 8, 9.
 */
export function txt2img(ckpt: string, seed: number, { frames = 1, size = 64, steps = 2 } = {}): Graph {
	return {
		'4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
		'5': { class_type: 'EmptyLatentImage', inputs: { width: size, height: size, batch_size: frames } },
		'6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse', clip: ['4', 1] } },
		'3': { class_type: 'KSampler', inputs: { seed, steps, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['6', 0], latent_image: ['5', 0] } },
		'8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
		'9': { class_type: 'SaveAnimatedWEBP', inputs: { images: ['8', 0], filename_prefix: 'gpu', fps: 6, lossless: false, quality: 80, method: 'default' } },
	};
}

/** A websocket of its own client id, with the time each frame arrived. */
export class Watcher {
	/** by index of the recorder's frame (it records each frame before this listener runs) */
	readonly arrivals: number[] = [];

	private constructor(
		readonly clientId: string,
		readonly recorder: Recorder,
	) {
		recorder.ws.on('message', () => (this.arrivals[recorder.frames.length - 1] = Date.now()));
	}

	static async open(url: string): Promise<Watcher> {
		const clientId = `gpu-${Math.random().toString(36).slice(2)}`;
		return new Watcher(clientId, await Recorder.open(`${url.replace(/^http/, 'ws')}/ws?clientId=${clientId}`));
	}

	async submit(url: string, prompt: Graph): Promise<string> {
		const reply = await send(url, 'POST', '/prompt', { json: { prompt, client_id: this.clientId } });
		if (reply.status !== 200) throw new Error(`submit answered ${reply.status}: ${reply.bytes.toString()}`);
		return (reply.json as { prompt_id: string }).prompt_id;
	}

	/** Resolves once a frame of `type` about the prompt (and node: null for the end of a run) came. */
	async until(promptId: string, type: string, node?: string | null, timeoutMs = 30_000): Promise<void> {
		const seen = (): boolean => this.recorder.frames.some((f) => f.type === type && f.data?.prompt_id === promptId && (node === undefined || f.data?.node === node));
		await until(seen, timeoutMs, `${type} ${node ?? ''} of ${promptId}`);
	}

	/** The nodes the prompt really ran, in order, each with when its `executing` arrived. */
	executing(promptId: string): Array<{ node: string; at: number }> {
		return this.recorder.frames.flatMap((f, i) => (f.type === 'executing' && f.data?.prompt_id === promptId && typeof f.data.node === 'string' ? [{ node: f.data.node, at: this.arrivals[i] }] : []));
	}

	close(): void {
		this.recorder.close();
	}
}

export interface Run {
	promptId: string;
	status: string;
	/** the nodes of `execution_cached` */
	cached: string[];
	executing: Array<{ node: string; at: number }>;
}

/** Runs a prompt to its end and tells what the server said about it. */
export async function run(url: string, prompt: Graph): Promise<Run> {
	const watcher = await Watcher.open(url);
	try {
		const promptId = await watcher.submit(url, prompt);
		await watcher.until(promptId, 'executing', null);
		const cached = watcher.recorder.frames.find((f) => f.type === 'execution_cached' && f.data?.prompt_id === promptId)?.data?.nodes as string[];
		const history = (await send(url, 'GET', `/history/${promptId}`)).json as Record<string, { status: { status_str: string } }>;
		return { promptId, status: history[promptId].status.status_str, cached, executing: watcher.executing(promptId) };
	} finally {
		watcher.close();
	}
}

/** Time from the loader's `executing` to the next node's: its load. */
export function loaderGap(r: Run, loader = '4'): number {
	const i = r.executing.findIndex((e) => e.node === loader);
	return r.executing[i + 1].at - r.executing[i].at;
}

export interface Figures {
	ramTotal: number;
	ramFree: number;
	vramTotal: number;
	vramFree: number;
	torchVramTotal: number;
	torchVramFree: number;
}

/** The memory figures of GET /system_stats (first device). */
export async function figures(url: string): Promise<Figures> {
	const stats = (await send(url, 'GET', '/system_stats')).json as {
		system: { ram_total: number; ram_free: number };
		devices: Array<{ vram_total: number; vram_free: number; torch_vram_total: number; torch_vram_free: number }>;
	};
	const d = stats.devices[0];
	return { ramTotal: stats.system.ram_total, ramFree: stats.system.ram_free, vramTotal: d.vram_total, vramFree: d.vram_free, torchVramTotal: d.torch_vram_total, torchVramFree: d.torch_vram_free };
}
