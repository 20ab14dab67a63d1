/** Decides the shapes the simulator's parts share: its options, its records, a queued prompt and a history entry. */
import type { Catalogue } from './catalogue';
import type { SimulatorFaults } from './faults';
import type { Prompt } from './validate';

export interface SimulatorOptions {
	host?: string;
	port?: number;
	name?: string;
	speed?: number;
	msPerStep?: number;
	classCostMs?: Record<string, number>;
	catalogue?: Catalogue;
	models?: { checkpoints?: string[]; loras?: string[]; vae?: string[]; upscale_models?: string[] };
	/**
	 * RAM and VRAM in bytes: totals (default 64 GiB, 24 GiB) and what is free with nothing loaded
	 * (default 75 %, 90 %). `live`: the figures move as models load, prompts run and /free releases,
	 * and RAM running out ends the server (default off: fixed figures, never out of memory). Each IMAGE,
	 * LATENT or MASK a running or cached node produced holds width × height × frames × `bytesPerPixel`
	 * bytes of RAM (default 12: float32 RGB). See memory.ts.
	 */
	memory?: { vramTotal?: number; vramFree?: number; ramTotal?: number; ramFree?: number; live?: boolean; bytesPerPixel?: number };
	/**
	 * A loader node that is not in the cache reads its model files (models.ts): each takes its size ÷
	 * `diskMBps` (MB = 2^20 bytes), or `modelLoadMs` — one time for every file, or by file name (files
	 * it does not name fall back to the disk). Wall-clock ms: the server's speed does not divide them.
	 * Default: loads take no time.
	 */
	diskMBps?: number;
	modelLoadMs?: number | Record<string, number>;
	/** Model file sizes in MB by file name (default: guessed from the name — SD1.5 2 GB, SDXL 7 GB, video 15–30 GB …). */
	modelMB?: Record<string, number>;
	/** ComfyUI's `--cache-lru N`: keep up to N node results across prompts (default 0: the classic cache, only what the previous prompt made). */
	cacheLru?: number;
	basePath?: string;
	requireAuth?: { header: string; value: string };
	faults?: SimulatorFaults;
	/** seed of the RNG behind fault rates (default 1) */
	seed?: number;
	/** reported device: a CUDA GPU (default) or the CPU as in the recordings (`index: null`) */
	device?: 'cuda' | 'cpu';
	/** folder holding input/, output/, temp/ (default: a fresh temp folder removed on stop) */
	dataDir?: string;
}

export interface SimulatorRecords {
	prompts: Array<{ promptId: string; clientId?: string; number: number; receivedAt: number; prompt: Record<string, unknown>; front: boolean }>;
	started: string[];
	/** how each run ended, when, and how many files it wrote to output/ (an interrupted run may have written some) */
	finished: Array<{ promptId: string; status: 'success' | 'error' | 'interrupted'; at: number; outputs: number }>;
	deleted: string[];
	interrupted: string[];
	uploads: string[];
	frees: number;
	peakActive: number;
	/** Prompts queued or running after every change of that count, with the time (ms) it changed. */
	activity: Array<{ at: number; active: number }>;
	/** clientId of every websocket that connected, in order */
	wsClients: string[];
	/** Every loader node that read model files (`ms`: how long it took, 0 unless loads are configured). */
	loads: Array<{ promptId: string; node: string; files: string[]; ms: number; at: number }>;
	/** Every time RAM ran out and the server died with it (`promptId`: the prompt running then). */
	outOfMemory: Array<{ at: number; promptId: string | null; ramUsed: number }>;
}

/** As ComfyUI keeps a queued prompt: [number, prompt_id, prompt, extra_data, outputs to execute]. */
export type QueueItem = [number, string, Prompt, Record<string, unknown>, string[]];

export interface HistoryEntry {
	prompt: QueueItem;
	outputs: Record<string, unknown>;
	status: { status_str: 'success' | 'error'; completed: boolean; messages: Array<[string, Record<string, unknown>]> };
	meta: Record<string, { node_id: string; display_node: string; parent_node: null; real_node_id: string }>;
}
