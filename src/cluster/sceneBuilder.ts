/**
 * From what a workflow author configured to a SceneRequest: load the workflow (API or UI format),
 * apply overrides, placeholders and the seed mode, and work out its requirements and speed key.
 * Pure; errors are the workflow model's, each naming the node and input at fault.
 */
import type { OutputKind } from '../comfyui/client';
import {
	applyOverrides,
	applySeedMode,
	expectedWork,
	fillPlaceholders,
	isHeavy,
	loadWorkflow,
	modelLoads,
	requirements,
	workflowKey,
	type ObjectInfo,
	type Override,
	type SeedMode,
} from '../comfyui/workflow';
import type { SceneInputFile, SceneRequest, SceneTimeouts } from './scene';

export interface SceneSpec {
	index: number;
	/** Workflow JSON text or object, API or UI format. */
	workflow: unknown;
	overrides?: Override[];
	/** Values for `{{name}}` placeholders; none given = placeholders are left alone. */
	placeholders?: Record<string, string | number>;
	seedMode?: SeedMode;
	inputs?: SceneInputFile[];
	priority?: number;
	timeouts?: Partial<SceneTimeouts>;
	maxAttempts?: number;
	freeMemoryAfter?: boolean;
	outputKinds?: OutputKind[];
	download?: boolean;
	maxOutputBytes?: number;
	random?: () => number;
}

export const DEFAULT_TIMEOUTS: SceneTimeouts = { queueWaitMs: 600_000, inactivityMs: 300_000, totalMs: 3_600_000 };
/** Largest output file a scene accepts unless told otherwise (Max Output Size, 2048 MB). */
export const DEFAULT_MAX_OUTPUT_BYTES = 2048 * 1024 * 1024;
export const ALL_OUTPUT_KINDS: OutputKind[] = ['image', 'animated', 'video', 'audio'];

export function buildScene(spec: SceneSpec, objectInfo?: ObjectInfo): SceneRequest {
	let graph = loadWorkflow(spec.workflow, objectInfo);
	if (spec.placeholders && Object.keys(spec.placeholders).length > 0) graph = fillPlaceholders(graph, spec.placeholders);
	if (spec.overrides?.length) graph = applyOverrides(graph, spec.overrides, objectInfo);
	graph = applySeedMode(graph, spec.seedMode ?? 'keep', spec.random, objectInfo);
	// Input files are uploaded per server later; check their target nodes and inputs now, with a stand-in value.
	if (spec.inputs?.length) applyOverrides(graph, spec.inputs.map((f) => ({ node: f.node, input: f.input, value: f.fileName })));
	return {
		index: spec.index,
		graph,
		workflowKey: workflowKey(graph),
		work: expectedWork(graph),
		requirements: requirements(graph, objectInfo),
		models: modelLoads(graph),
		heavy: isHeavy(graph),
		inputs: spec.inputs ?? [],
		priority: clamp(Math.round(spec.priority ?? 5), 1, 10),
		timeouts: { ...DEFAULT_TIMEOUTS, ...spec.timeouts },
		maxAttempts: clamp(Math.round(spec.maxAttempts ?? 3), 1, 10),
		freeMemoryAfter: spec.freeMemoryAfter ?? false,
		outputKinds: spec.outputKinds?.length ? spec.outputKinds : ALL_OUTPUT_KINDS,
		download: spec.download ?? true,
		maxOutputBytes: spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
	};
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, Number.isFinite(value) ? value : min));
}
