/**
 * The node's parameters, read and validated in one place (zod): what each operation gets from n8n.
 * Errors name the field and the fix.
 */
import { z } from 'zod';

/** A parameter that does not validate; the operation turns it into a NodeOperationError for its item. */
export class ParameterError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ParameterError';
	}
}
import type { OutputKind } from '../../../src/comfyui';
import type { SceneTimeouts } from '../../../src/cluster';
import type { StrategyName } from '../../../src/cluster';
import {
	DEFAULT_CONCURRENCY,
	DEFAULT_FREE_MEMORY_AFTER,
	DEFAULT_HEAVY_PER_SERVER,
	DEFAULT_MEMORY_AWARE,
	DEFAULT_MODEL_AFFINITY,
	DEFAULT_INACTIVITY_TIMEOUT_S,
	DEFAULT_INPUT_IMAGE_INPUT,
	DEFAULT_INPUT_IMAGE_PROPERTY,
	DEFAULT_INPUT_IMAGE_SOURCE,
	DEFAULT_MAX_ATTEMPTS,
	DEFAULT_MAX_OUTPUT_SIZE_MB,
	DEFAULT_OUTPUT_KINDS,
	DEFAULT_OUTPUT_MODE,
	DEFAULT_PRIORITY,
	DEFAULT_QUEUE_WAIT_TIMEOUT_S,
	DEFAULT_SEED_MODE,
	DEFAULT_STRATEGY,
	DEFAULT_TOTAL_TIMEOUT_S,
	MB,
	OUTPUT_KINDS,
	OUTPUT_MODES,
	SCENE_OPTION_LIMITS as LIMITS,
	SEED_MODES,
	STRATEGIES,
	valuesOf,
} from './defaults';

const seconds = (field: string, fallback: number) =>
	z.coerce
		.number({ invalid_type_error: `${field} must be a number of seconds` })
		.min(0, `${field} cannot be negative; use 0 for no limit`)
		.default(fallback);

export const sceneOptionsSchema = z
	.object({
		concurrency: z.coerce.number().int('Concurrency must be a whole number').min(0).default(DEFAULT_CONCURRENCY),
		freeMemoryAfter: z.boolean().default(DEFAULT_FREE_MEMORY_AFTER),
		heavyPerServer: z.coerce.number().int('Heavy Scenes per Server must be a whole number').min(0, 'Heavy Scenes per Server cannot be negative; use 0 for no limit').default(DEFAULT_HEAVY_PER_SERVER),
		inactivityTimeout: seconds('Inactivity Timeout', DEFAULT_INACTIVITY_TIMEOUT_S),
		maxAttempts: z.coerce
			.number()
			.int()
			.min(LIMITS.maxAttempts.min, `Max Attempts must be at least ${LIMITS.maxAttempts.min}`)
			.max(LIMITS.maxAttempts.max, `Max Attempts can be at most ${LIMITS.maxAttempts.max}`)
			.default(DEFAULT_MAX_ATTEMPTS),
		memoryAware: z.boolean().default(DEFAULT_MEMORY_AWARE),
		modelAffinity: z.boolean().default(DEFAULT_MODEL_AFFINITY),
		maxOutputSize: z.coerce
			.number({ invalid_type_error: 'Max Output Size must be a number of megabytes' })
			.positive('Max Output Size must be more than 0 MB')
			.default(DEFAULT_MAX_OUTPUT_SIZE_MB),
		outputKinds: z.array(z.enum(valuesOf(OUTPUT_KINDS))).default(() => [...DEFAULT_OUTPUT_KINDS]),
		outputMode: z.enum(valuesOf(OUTPUT_MODES)).default(DEFAULT_OUTPUT_MODE),
		priority: z.coerce
			.number()
			.int()
			.min(LIMITS.priority.min, `Priority goes from ${LIMITS.priority.min} to ${LIMITS.priority.max}`)
			.max(LIMITS.priority.max, `Priority goes from ${LIMITS.priority.min} to ${LIMITS.priority.max}`)
			.default(DEFAULT_PRIORITY),
		queueWaitTimeout: seconds('Queue Wait Timeout', DEFAULT_QUEUE_WAIT_TIMEOUT_S),
		seedMode: z.enum(valuesOf(SEED_MODES)).default(DEFAULT_SEED_MODE),
		strategy: z.enum(valuesOf(STRATEGIES)).default(DEFAULT_STRATEGY),
		totalTimeout: seconds('Total Timeout', DEFAULT_TOTAL_TIMEOUT_S),
	})
	.strict();

export type SceneOptionsInput = z.input<typeof sceneOptionsSchema>;

export interface SceneOptions {
	concurrency: number;
	freeMemoryAfter: boolean;
	heavyPerServer: number;
	memoryAware: boolean;
	modelAffinity: boolean;
	maxAttempts: number;
	/** Largest output file accepted, in bytes. */
	maxOutputBytes: number;
	outputKinds: OutputKind[];
	download: boolean;
	priority: number;
	seedMode: 'keep' | 'random';
	strategy: StrategyName;
	timeouts: SceneTimeouts;
}

export function parseSceneOptions(raw: unknown): SceneOptions {
	const parsed = sceneOptionsSchema.safeParse(raw ?? {});
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		throw new ParameterError(`Options → ${issue.path.join('.') || 'options'}: ${issue.message}`);
	}
	const o = parsed.data;
	return {
		concurrency: o.concurrency,
		freeMemoryAfter: o.freeMemoryAfter,
		heavyPerServer: o.heavyPerServer,
		memoryAware: o.memoryAware,
		modelAffinity: o.modelAffinity,
		maxAttempts: o.maxAttempts,
		maxOutputBytes: Math.round(o.maxOutputSize * MB),
		outputKinds: o.outputKinds,
		download: o.outputMode === 'binary',
		priority: o.priority,
		seedMode: o.seedMode,
		strategy: o.strategy,
		timeouts: {
			queueWaitMs: o.queueWaitTimeout * 1000,
			inactivityMs: o.inactivityTimeout * 1000,
			totalMs: o.totalTimeout * 1000,
		},
	};
}

const overrideSchema = z.object({
	node: z.string().trim().min(1, 'Overrides → Node is empty: give a node ID or title'),
	input: z.string().trim().min(1, 'Overrides → Input is empty: give an input name such as text or seed'),
	value: z.unknown(),
});

export function parseOverrides(raw: unknown): Array<{ node: string; input: string; value: unknown }> {
	const list = (raw as { override?: unknown[] } | undefined)?.override ?? [];
	return list.map((entry, i) => {
		const parsed = overrideSchema.safeParse(entry);
		if (!parsed.success) throw new ParameterError(`Override ${i + 1}: ${parsed.error.issues[0].message}`);
		return { node: parsed.data.node, input: parsed.data.input, value: parsed.data.value };
	});
}

const placeholderSchema = z.object({
	name: z.string().trim().min(1, 'Placeholders → Name is empty'),
	value: z.union([z.string(), z.number()]).default(''),
});

export function parsePlaceholders(raw: unknown): Record<string, string | number> {
	const list = (raw as { placeholder?: unknown[] } | undefined)?.placeholder ?? [];
	const values: Record<string, string | number> = {};
	list.forEach((entry, i) => {
		const parsed = placeholderSchema.safeParse(entry);
		if (!parsed.success) throw new ParameterError(`Placeholder ${i + 1}: ${parsed.error.issues[0].message}`);
		values[parsed.data.name] = parsed.data.value;
	});
	return values;
}

const inputImageSchema = z.discriminatedUnion('source', [
	z.object({
		source: z.literal('binary'),
		node: z.string().trim().min(1, 'Input Images → Node is empty: give the node ID or title of the LoadImage node'),
		input: z.string().trim().min(1).default(DEFAULT_INPUT_IMAGE_INPUT),
		binaryProperty: z.string().trim().min(1, 'Input Images → Binary Property is empty').default(DEFAULT_INPUT_IMAGE_PROPERTY),
	}),
	z.object({
		source: z.literal('url'),
		node: z.string().trim().min(1, 'Input Images → Node is empty: give the node ID or title of the LoadImage node'),
		input: z.string().trim().min(1).default(DEFAULT_INPUT_IMAGE_INPUT),
		url: z.string().trim().min(1, 'Input Images → URL is empty'),
	}),
]);

export type InputImageSpec = z.infer<typeof inputImageSchema>;

export function parseInputImages(raw: unknown): InputImageSpec[] {
	const list = (raw as { image?: unknown[] } | undefined)?.image ?? [];
	return list.map((entry, i) => {
		const parsed = inputImageSchema.safeParse({ source: DEFAULT_INPUT_IMAGE_SOURCE, input: DEFAULT_INPUT_IMAGE_INPUT, ...(entry as object) });
		if (!parsed.success) throw new ParameterError(`Input image ${i + 1}: ${parsed.error.issues[0].message}`);
		return parsed.data;
	});
}

/** A handle as Submit returns it (and Collect / Cancel take it). */
export const handleSchema = z.object({
	serverId: z.string().min(1),
	server: z.string().min(1),
	promptId: z.string().min(1),
	clientId: z.string().default(''),
	submittedAt: z.string().default(''),
	workflowKey: z.string().default(''),
	work: z.coerce.number().positive().optional(),
	index: z.coerce.number().default(0),
	outputKinds: z.array(z.string()).optional(),
});

export function parseHandle(raw: unknown): z.infer<typeof handleSchema> {
	let value = raw;
	let notJson = false;
	if (typeof value === 'string') {
		try {
			value = JSON.parse(value);
		} catch {
			notJson = true;
		}
	}
	if (notJson) {
		throw new ParameterError('Handles is not JSON: pass the "handle" object the Submit operation returned, e.g. {{ $json.handle }}');
	}
	const parsed = handleSchema.safeParse(value);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		throw new ParameterError(
			`Handles: ${issue.path.join('.') || 'value'} ${issue.message.toLowerCase()}; pass the "handle" object the Submit operation returned, e.g. {{ $json.handle }}`,
		);
	}
	return parsed.data;
}
