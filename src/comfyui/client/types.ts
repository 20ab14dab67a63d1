/** Shapes of what a ComfyUI server sends and what the client hands back. */
import type { ObjectInfo } from '../workflow/objectInfo';
import type { ApiGraph as WorkflowApiGraph } from '../workflow/types';

/** How a request proves who it is; applied to HTTP and the websocket alike. */
export type ServerAuth =
	| { type: 'none' }
	| { type: 'bearer'; token: string }
	| { type: 'basic'; user: string; password: string }
	| { type: 'header'; name: string; value: string };

export interface ClientLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
}

/** An API-format graph: node id → `{class_type, inputs}` (the workflow model's type). */
export type ApiGraph = WorkflowApiGraph;

/** One validation error of `/prompt`'s `node_errors`, as sent by the server. */
export interface RawNodeError {
	type?: string;
	message?: string;
	details?: string;
	extra_info?: { input_name?: string } & Record<string, unknown>;
}

export type RawNodeErrors = Record<string, { errors?: RawNodeError[]; dependent_outputs?: string[]; class_type?: string }>;

export interface SubmitResult {
	promptId: string;
	number: number;
	/** Outputs that failed validation while others were queued (HTTP 200); empty when all validated. */
	nodeErrors: RawNodeErrors;
}

/** A file reference as it appears in history outputs and `/upload/image` answers. */
export interface FileRef {
	filename: string;
	subfolder: string;
	type: string;
}

export type OutputKind = 'image' | 'animated' | 'video' | 'audio';

export interface OutputFile extends FileRef {
	nodeId: string;
	kind: OutputKind;
	mimeType: string;
	/** The format a custom node declared (e.g. VideoHelperSuite's `video/h264-mp4`). */
	format?: string;
}

/** `[event, data]` pairs of a history entry's `status.messages`. */
export type StatusMessage = [string, Record<string, unknown>];

export interface HistoryEntry {
	/** The queue tuple `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
	prompt?: unknown[];
	outputs: Record<string, Record<string, unknown>>;
	status?: { status_str?: string; completed?: boolean; messages?: StatusMessage[] } | null;
	meta?: Record<string, unknown>;
}

export interface QueueItem {
	number: number;
	promptId: string;
	clientId?: string;
}

export interface QueueState {
	running: QueueItem[];
	/** Sorted by `number` (the server does not sort its heap). */
	pending: QueueItem[];
}

export interface QueueInfo {
	/** Pending plus running prompts. */
	queueRemaining: number;
}

export interface SystemStats {
	system: {
		os?: string;
		ram_total?: number;
		ram_free?: number;
		comfyui_version?: string;
		python_version?: string;
		pytorch_version?: string;
		[key: string]: unknown;
	};
	devices: Array<{
		name?: string;
		type?: string;
		index?: number | null;
		vram_total?: number;
		vram_free?: number;
		torch_vram_total?: number;
		torch_vram_free?: number;
		[key: string]: unknown;
	}>;
}

/** `/object_info`, typed by the workflow model. */
export type ObjectInfoMap = ObjectInfo;

export type PromptPhase = 'queued' | 'running';

export interface ProgressEvent {
	promptId: string;
	phase: PromptPhase;
	node?: string;
	value?: number;
	max?: number;
	/** 0..100 from the last `progress` message, when one was seen. */
	percent?: number;
}

export interface WatchOptions {
	/** Longest wait until the prompt starts running. */
	queueWaitMs?: number;
	/** Longest stretch without a sign of life while running. */
	inactivityMs?: number;
	/** Longest time for the whole watch. */
	totalMs?: number;
	/** Longest stretch during which every poll fails to reach the server (default 30 s). */
	unreachableMs?: number;
	signal?: AbortSignal;
	onProgress?: (progress: ProgressEvent) => void;
	pollMinMs?: number;
	pollMaxMs?: number;
	useWebSocket?: boolean;
	/** When the prompt was submitted (ms since epoch); timings count from it. The client fills it for its own submits. */
	submittedAt?: number;
}

export interface WatchResult {
	status: 'success';
	promptId: string;
	outputs: OutputFile[];
	history: HistoryEntry;
	timings: { queuedMs: number; executionMs: number; totalMs: number };
	/** Every output node was served from the server's cache (no new files were written). */
	cached: boolean;
	/** The nodes taken from the server's cache, and how long each node that ran took (from the websocket). */
	nodes: NodeTimings;
}

export interface NodeTimings {
	cached: string[];
	/** Node id → ms from its `executing` to the next node's (or the end); empty without the websocket. */
	ms: Record<string, number>;
}

export type CancelOutcome = 'deleted' | 'interrupted' | 'not-found';
export type LookupOutcome = 'pending' | 'running' | 'done' | 'unknown';

export interface UploadResult {
	name: string;
	subfolder: string;
	type: string;
	/** The value for `LoadImage.image`. */
	reference: string;
	/** False when the server already had these bytes and the upload was skipped. */
	uploaded: boolean;
}
