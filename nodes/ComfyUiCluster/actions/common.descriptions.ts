import type { INodeProperties } from 'n8n-workflow';
import { KEEP_IN_MEMORY_BYTES } from '../../../src/cluster';
import {
	DEFAULT_CONCURRENCY,
	DEFAULT_HEAVY_PER_SERVER,
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
	INPUT_IMAGE_SOURCES,
	MB,
	OUTPUT_KINDS,
	OUTPUT_MODES,
	SCENE_OPTION_LIMITS as LIMITS,
	SEED_MODES,
	STRATEGIES,
} from '../helpers/defaults';
import { runWide } from '../../shared/runWide';

/** Parameters shared by several operations of the ComfyUI Cluster node. */

export const workflowField: INodeProperties = {
	displayName: 'Workflow (JSON)',
	name: 'workflow',
	type: 'json',
	default: '',
	required: true,
	typeOptions: { rows: 8 },
	description:
		'The ComfyUI workflow of this scene: API format ("Export (API)" in ComfyUI, optionally wrapped as {"prompt": {...}}) or the UI format that "Save" writes, converted with the server\'s node catalogue. Expressions make each item its own scene.',
};

export const overridesField: INodeProperties = {
	displayName: 'Overrides',
	name: 'overrides',
	type: 'fixedCollection',
	placeholder: 'Add Override',
	typeOptions: { multipleValues: true, sortable: true },
	default: {},
	description: 'Set an input of a node before the scene is queued, e.g. the prompt text, seed or size',
	options: [
		{
			displayName: 'Override',
			name: 'override',
			values: [
				{
					displayName: 'Node',
					name: 'node',
					type: 'string',
					default: '',
					placeholder: '6 or Positive Prompt',
					description: 'Node ID, or the node\'s title as shown in ComfyUI',
				},
				{
					displayName: 'Input',
					name: 'input',
					type: 'string',
					default: '',
					placeholder: 'text',
					description: 'Name of the node input to set, e.g. text, seed, steps, width',
				},
				{
					displayName: 'Value',
					name: 'value',
					type: 'string',
					default: '',
					description: 'New value; numbers and true/false are converted to the input\'s type',
				},
			],
		},
	],
};

export const placeholdersField: INodeProperties = {
	displayName: 'Placeholders',
	name: 'placeholders',
	type: 'fixedCollection',
	placeholder: 'Add Placeholder',
	typeOptions: { multipleValues: true },
	default: {},
	description: 'Values for {{name}} placeholders written inside string inputs of the workflow',
	options: [
		{
			displayName: 'Placeholder',
			name: 'placeholder',
			values: [
				{ displayName: 'Name', name: 'name', type: 'string', default: '' },
				{ displayName: 'Value', name: 'value', type: 'string', default: '' },
			],
		},
	],
};

export const inputImagesField: INodeProperties = {
	displayName: 'Input Images',
	name: 'inputImages',
	type: 'fixedCollection',
	placeholder: 'Add Input Image',
	typeOptions: { multipleValues: true },
	default: {},
	description:
		'Images uploaded to the chosen server before the scene runs (once per server, by content hash) and set on a LoadImage-style node',
	options: [
		{
			displayName: 'Image',
			name: 'image',
			values: [
				{
					displayName: 'Binary Property',
					name: 'binaryProperty',
					type: 'string',
					default: DEFAULT_INPUT_IMAGE_PROPERTY,
					description: 'Name of the binary property of the input item that holds the image',
				},
				{
					displayName: 'Input',
					name: 'input',
					type: 'string',
					default: DEFAULT_INPUT_IMAGE_INPUT,
					description: 'Input of that node that takes the image file name',
				},
				{
					displayName: 'Node',
					name: 'node',
					type: 'string',
					default: '',
					placeholder: '10 or Load Image',
					description: 'Node ID or title of the node that loads the image',
				},
				{
					displayName: 'Source',
					name: 'source',
					type: 'options',
					default: DEFAULT_INPUT_IMAGE_SOURCE,
					options: [...INPUT_IMAGE_SOURCES],
				},
				{
					displayName: 'URL',
					name: 'url',
					type: 'string',
					default: '',
					description: 'Image URL;	fetched once per execution even when many scenes use it',
				},
			],
		},
	],
};

export const inactivityTimeoutOption: INodeProperties = {
	displayName: 'Inactivity Timeout (Seconds)',
	name: 'inactivityTimeout',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: DEFAULT_INACTIVITY_TIMEOUT_S,
	description: 'Fail over when a running scene shows no progress for this long; 0 = never',
};

export const maxOutputSizeOption: INodeProperties = {
	displayName: 'Max Output Size (MB)',
	name: 'maxOutputSize',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: DEFAULT_MAX_OUTPUT_SIZE_MB,
	description: `Largest output file to download; a larger one fails its scene (naming the file and the server) without a retry elsewhere. Files over ${KEEP_IN_MEMORY_BYTES / MB} MB go to a temporary file while they download and are streamed from there into n8n's binary data.`,
};

export const outputKindsOption: INodeProperties = {
	displayName: 'Output Kinds',
	name: 'outputKinds',
	type: 'multiOptions',
	default: [...DEFAULT_OUTPUT_KINDS],
	options: [...OUTPUT_KINDS],
	description: 'Which output files to return',
};

export const outputModeOption: INodeProperties = {
	displayName: 'Output Mode',
	name: 'outputMode',
	type: 'options',
	default: DEFAULT_OUTPUT_MODE,
	options: [...OUTPUT_MODES],
};

export const queueWaitTimeoutOption: INodeProperties = {
	displayName: 'Queue Wait Timeout (Seconds)',
	name: 'queueWaitTimeout',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: DEFAULT_QUEUE_WAIT_TIMEOUT_S,
	description: 'Fail over when a scene waits this long in a server\'s queue before it starts; 0 = never',
};

export const totalTimeoutOption: INodeProperties = {
	displayName: 'Total Timeout (Seconds)',
	name: 'totalTimeout',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: DEFAULT_TOTAL_TIMEOUT_S,
	description: 'Longest time one attempt of a scene may take from submit to result; 0 = never',
};

export const sceneOptionsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: DEFAULT_CONCURRENCY,
			description: runWide('Scenes in flight at once for this execution; 0 = the sum of the servers\' max'),
		},
		{
			displayName: 'Free Server Memory After Each Scene',
			name: 'freeMemoryAfter',
			type: 'boolean',
			// A literal, as n8n's community-package scanner wants (it ignores eslint-disable comments); test/workflow/description.test.ts keeps it DEFAULT_FREE_MEMORY_AFTER.
			default: false,
			description: 'Whether to ask the server to unload models and free memory (POST /free) after each scene',
		},
		{
			displayName: 'Heavy Scenes per Server',
			name: 'heavyPerServer',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: DEFAULT_HEAVY_PER_SERVER,
			description: runWide('Heavy scenes (videos, or latents of eight 512² images and more) one server runs at a time; 0 = no limit besides its max'),
		},
		inactivityTimeoutOption,
		{
			displayName: 'Max Attempts',
			name: 'maxAttempts',
			type: 'number',
			typeOptions: { minValue: LIMITS.maxAttempts.min, maxValue: LIMITS.maxAttempts.max },
			default: DEFAULT_MAX_ATTEMPTS,
			description: 'Attempts per scene across servers; transient failures (crash, hang, restart, 5xx) move the scene to another server',
		},
		maxOutputSizeOption,
		{
			displayName: 'Memory-Aware Admission',
			name: 'memoryAware',
			type: 'boolean',
			// A literal (see Free Server Memory After Each Scene); test/workflow/description.test.ts keeps it DEFAULT_MEMORY_AWARE.
			default: true,
			description: runWide(
				"Whether a heavy scene starts only where the server's live RAM holds its working set (learned from earlier runs of the workflow), after the server frees memory (POST /free) when it would not",
			),
		},
		{
			displayName: 'Model Affinity',
			name: 'modelAffinity',
			type: 'boolean',
			// A literal (see Free Server Memory After Each Scene); test/workflow/description.test.ts keeps it DEFAULT_MODEL_AFFINITY.
			default: true,
			description: runWide(
				'Whether scenes prefer servers that already hold their models (checkpoints, LoRAs, VAEs…), pricing a model load where they do not (Least Loaded and Fastest)',
			),
		},
		outputKindsOption,
		outputModeOption,
		{
			displayName: 'Priority',
			name: 'priority',
			type: 'number',
			typeOptions: { minValue: LIMITS.priority.min, maxValue: LIMITS.priority.max },
			default: DEFAULT_PRIORITY,
			description: 'Higher runs first; from 8 up scenes also jump ahead in the server queue',
		},
		queueWaitTimeoutOption,
		{
			displayName: 'Seed Mode',
			name: 'seedMode',
			type: 'options',
			default: DEFAULT_SEED_MODE,
			options: [...SEED_MODES],
		},
		{
			displayName: 'Strategy',
			name: 'strategy',
			type: 'options',
			default: DEFAULT_STRATEGY,
			options: [...STRATEGIES],
			description: runWide('How a server is chosen for each scene'),
		},
		totalTimeoutOption,
	],
};

export const handlesField: INodeProperties = {
	displayName: 'Handles',
	name: 'handles',
	type: 'json',
	default: '={{ $json.handle }}',
	required: true,
	description:
		'The handle of a submitted scene, as returned by the Submit operation in its "handle" field (one per item)',
};
