/** What a graph needs of a server (node classes, model files) and whether a server's catalogue has it. */
import { own } from '../../util/own';
import type { MissingCapabilities } from '../errors';
import { comboOptions, findInputSpec, isUploadCombo, type ObjectInfo } from './objectInfo';
import type { ApiGraph } from './types';

/** Inputs that name model files on the server, recognised even without the server's catalogue. */
export const MODEL_INPUTS: ReadonlySet<string> = new Set([
	'ckpt_name',
	'lora_name',
	'vae_name',
	'unet_name',
	'clip_name',
	'clip_name1',
	'clip_name2',
	'clip_name3',
	'control_net_name',
	'upscale_model',
	'model_name',
	'style_model_name',
	'gligen_name',
	'hypernetwork_name',
	'config_name',
]);

export interface ComboRequirement {
	nodeId: string;
	classType: string;
	input: string;
	value: string;
	/** A file in the server's input folder (LoadImage and friends): uploaded per run, not a server capability. */
	upload?: boolean;
}

export interface Requirements {
	/** Node classes used, sorted. */
	nodeClasses: string[];
	/** Every literal combo value (checkpoints, LoRAs, VAEs, sampler names...). */
	comboValues: ComboRequirement[];
}

/**
 * What a server must offer to run the graph. With `objectInfo`, every input declared as a combo counts;
 * without it (or for classes it does not know), the common model-file inputs are recognised by name.
 */
export function requirements(graph: ApiGraph, objectInfo?: ObjectInfo): Requirements {
	const classes = new Set<string>();
	const comboValues: ComboRequirement[] = [];
	for (const [nodeId, node] of Object.entries(graph)) {
		classes.add(node.class_type);
		const info = own(objectInfo, node.class_type);
		for (const [input, value] of Object.entries(node.inputs)) {
			if (typeof value !== 'string') continue;
			const spec = findInputSpec(info, input);
			if (spec && comboOptions(spec) !== undefined) {
				comboValues.push({
					nodeId,
					classType: node.class_type,
					input,
					value,
					...(isUploadCombo(spec) ? { upload: true } : {}),
				});
			} else if (!spec && MODEL_INPUTS.has(input)) {
				comboValues.push({ nodeId, classType: node.class_type, input, value });
			}
		}
	}
	return { nodeClasses: [...classes].sort(), comboValues };
}

/** A node that loads model files from disk (checkpoint, UNet, CLIP, VAE, LoRA…) and the files it names, sorted. */
export interface ModelLoad {
	nodeId: string;
	files: string[];
}

/** The loader nodes of a graph: nodes with a literal model-file input (recognised by the input's name). */
export function modelLoads(graph: ApiGraph): ModelLoad[] {
	const loads: ModelLoad[] = [];
	for (const [nodeId, node] of Object.entries(graph)) {
		const files = Object.entries(node.inputs).flatMap(([input, value]) => (MODEL_INPUTS.has(input) && typeof value === 'string' ? [value] : []));
		if (files.length > 0) loads.push({ nodeId, files: [...new Set(files)].sort() });
	}
	return loads;
}

/**
 * What this server lacks: node classes it does not know, and combo values it does not list (a missing
 * checkpoint or LoRA). Upload combos are skipped: the file is uploaded before the run.
 */
export function checkCapability(req: Requirements, objectInfo: ObjectInfo): MissingCapabilities {
	const nodeClasses = req.nodeClasses.filter((c) => !own(objectInfo, c));
	const values: MissingCapabilities['values'] = [];
	for (const combo of req.comboValues) {
		if (combo.upload) continue;
		const info = own(objectInfo, combo.classType);
		if (!info) continue;
		const spec = findInputSpec(info, combo.input);
		const options = spec ? comboOptions(spec) : undefined;
		if (!options) continue;
		if (!options.some((o) => String(o) === combo.value)) {
			values.push({ nodeId: combo.nodeId, classType: combo.classType, input: combo.input, value: combo.value });
		}
	}
	return { nodeClasses, values };
}

export function isCapable(missing: MissingCapabilities): boolean {
	return missing.nodeClasses.length === 0 && missing.values.length === 0;
}

/** One line for an author: what the server lacks. */
export function describeMissing(missing: MissingCapabilities): string {
	const parts: string[] = [];
	if (missing.nodeClasses.length > 0) parts.push(`node classes ${missing.nodeClasses.join(', ')}`);
	for (const v of missing.values) parts.push(`${v.input} "${v.value}" (node ${v.nodeId}, ${v.classType})`);
	return parts.length > 0 ? `missing ${parts.join('; ')}` : 'nothing missing';
}

/** Classes whose nodes produce outputs, for when the server's catalogue is not at hand. */
const KNOWN_OUTPUT_CLASSES: ReadonlySet<string> = new Set([
	'SaveImage',
	'PreviewImage',
	'SaveAnimatedWEBP',
	'SaveAnimatedPNG',
	'SaveVideo',
	'SaveWEBM',
	'SaveAudio',
	'SaveAudioMP3',
	'SaveAudioOpus',
	'PreviewAudio',
	'SaveLatent',
	'SaveGLB',
	'VHS_VideoCombine',
]);

/** Ids of the graph's output nodes: `output_node` in the catalogue, else known save/preview classes. */
export function outputNodeIds(graph: ApiGraph, objectInfo?: ObjectInfo): string[] {
	return Object.keys(graph).filter((id) => {
		const classType = graph[id].class_type;
		const info = own(objectInfo, classType);
		if (info) return info.output_node === true;
		return KNOWN_OUTPUT_CLASSES.has(classType) || /^(Save|Preview)[A-Z]/.test(classType);
	});
}
