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
	memory?: { vramTotal?: number; vramFree?: number; ramTotal?: number; ramFree?: number };
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
}

/** As ComfyUI keeps a queued prompt: [number, prompt_id, prompt, extra_data, outputs to execute]. */
export type QueueItem = [number, string, Prompt, Record<string, unknown>, string[]];

export interface HistoryEntry {
	prompt: QueueItem;
	outputs: Record<string, unknown>;
	status: { status_str: 'success' | 'error'; completed: boolean; messages: Array<[string, Record<string, unknown>]> };
	meta: Record<string, { node_id: string; display_node: string; parent_node: null; real_node_id: string }>;
}
