/**
 * What one scene is (the engine's input for one n8n item) and how it ends.
 */
import type { ComfyUiError } from '../comfyui/errors';
import type { OutputFile, OutputKind } from '../comfyui/client';
import type { ApiGraph, ModelLoad, Requirements } from '../comfyui/workflow';
import type { SpooledFile } from '../util/spool';

/** An input file to upload to the chosen server and set on a node input (e.g. LoadImage.image). */
export interface SceneInputFile {
	/** Node id or title. */
	node: string;
	input: string;
	fileName: string;
	bytes: Buffer;
}

export interface SceneTimeouts {
	/** Longest wait in a server's queue before the scene starts (0 = none). */
	queueWaitMs: number;
	/** Longest stretch without progress while running (0 = none). */
	inactivityMs: number;
	/** Longest time of one attempt from submit to result (0 = none). */
	totalMs: number;
}

export interface SceneRequest {
	/** Position of the scene in its batch (the n8n item index). */
	index: number;
	/** API-format graph, overrides already applied (input files are set per server). */
	graph: ApiGraph;
	/** Key of the per-workflow speed averages (structure, not prompt text or seed). */
	workflowKey: string;
	/** Expected GPU work read from the graph (steps × latent size): the prior until the workflow is timed. */
	work: number;
	requirements: Requirements;
	/** Its loader nodes and the model files each loads: a server that holds them skips the load. */
	models: ModelLoad[];
	/** A video or a large latent (isHeavy): its working set may not fit beside another's (memory.ts). */
	heavy: boolean;
	inputs: SceneInputFile[];
	/** 1..10, higher first; from FRONT_PRIORITY up also submitted ahead of the server queue. */
	priority: number;
	timeouts: SceneTimeouts;
	maxAttempts: number;
	/** Ask the server to unload models and free memory after the scene. */
	freeMemoryAfter: boolean;
	/** Which output files to return. */
	outputKinds: OutputKind[];
	/** Download outputs (true) or return references only. */
	download: boolean;
	/** Largest output file accepted, in bytes (Max Output Size). */
	maxOutputBytes?: number;
}

export const FRONT_PRIORITY = 8;

/**
 * How one try ended. `moved` and `unreachable` (a refused connection before anything was queued,
 * while another server answered) do not use up one of the scene's attempts.
 */
export type AttemptOutcomeKind = 'success' | 'transient' | 'unreachable' | 'incapable' | 'invalid' | 'execution' | 'cancelled' | 'moved';

/** One try of a scene on one server. */
export interface AttemptRecord {
	serverId: string;
	server: string;
	promptId?: string;
	outcome: AttemptOutcomeKind;
	/** Why it ended (empty on success). */
	reason: string;
	startedAt: number;
	endedAt: number;
}

export interface SceneOutput extends OutputFile {
	/** `/view` address of the file (no credentials). */
	url: string;
	/** File bytes of a downloaded file small enough to keep in memory. */
	data?: Buffer;
	/**
	 * A downloaded file too large for memory, in a temporary file: whoever takes the outcome removes it
	 * (`discardOutputs` / `discardOutcomes` in `outputs.ts`), whatever happens.
	 */
	spooled?: SpooledFile;
}

export interface SceneTimings {
	/** Time the accepted prompt waited in the server queue. */
	queueWaitMs: number;
	/** Time it ran. */
	executionMs: number;
	/** Of that, time spent loading models the server did not hold (from the websocket's node timing). */
	modelLoadMs?: number;
	/** From the batch start to the scene's result, all attempts included. */
	totalMs: number;
}

export interface SceneResult {
	index: number;
	serverId: string;
	server: string;
	promptId: string;
	attempts: AttemptRecord[];
	outputs: SceneOutput[];
	timings: SceneTimings;
	/** Every output came from the server's cache (identical resubmission). */
	cached: boolean;
}

/** A scene that could not be completed: names the scene, each server tried and why. */
export class SceneFailedError extends Error {
	constructor(
		readonly index: number,
		readonly cause: ComfyUiError,
		readonly attempts: AttemptRecord[],
	) {
		super(describeFailure(index, cause, attempts));
		this.name = 'SceneFailedError';
	}
}

export type SceneOutcome = { index: number; ok: true; result: SceneResult } | { index: number; ok: false; error: SceneFailedError };

function describeFailure(index: number, cause: ComfyUiError, attempts: AttemptRecord[]): string {
	const tried = attempts.filter((a) => a.outcome !== 'moved');
	// The cause is already the message: an attempt that ended with it is not repeated word for word.
	const lines = tried.map((a, i) => `attempt ${i + 1} on ${a.server}: ${a.outcome}${a.reason && a.reason !== cause.message ? ` (${a.reason})` : ''}`);
	const history = lines.length ? ` Tried: ${lines.join('; ')}.` : '';
	return `Scene ${index} failed: ${cause.message}${history}`;
}
