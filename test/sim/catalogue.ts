/**
 * Node classes a simulated server offers. `info` is exactly what `/object_info/{class}` returns
 * (shapes follow ComfyUI 0.3.64); the other fields tell the simulator how to run the class.
 */

export type InputSpec = [unknown] | [unknown, Record<string, unknown>];

export interface ObjectInfoEntry {
	input: { required?: Record<string, InputSpec>; optional?: Record<string, InputSpec>; hidden?: Record<string, string> };
	input_order: { required?: string[]; optional?: string[]; hidden?: string[] };
	output: string[];
	output_is_list: boolean[];
	output_name: string[];
	name: string;
	display_name: string | null;
	description: string;
	python_module: string;
	category: string;
	output_node: boolean;
	output_tooltips?: string[];
	[key: string]: unknown;
}

/** Where a combo's options come from at request time (they differ per server). */
export type ComboSource = 'checkpoints' | 'loras' | 'vae' | 'upscale_models' | 'input_images';

/** What the simulator does when the class runs. */
export type NodeBehaviour =
	| 'checkpoint-loader'
	| 'passthrough'
	| 'empty-latent'
	| 'empty-image'
	| 'sampler'
	| 'load-image'
	| 'image-scale'
	| 'image-scale-by'
	| 'image-invert'
	| 'save-image'
	| 'preview-image'
	| 'save-animated-webp'
	| 'create-video'
	| 'save-video'
	| 'save-webm'
	| 'vhs-video-combine'
	| 'empty-latent-audio'
	| 'vae-decode-audio'
	| 'save-audio'
	| 'progress-probe';

export interface NodeClassDef {
	info: ObjectInfoEntry;
	behaviour: NodeBehaviour;
	/** combos filled per server (models, input files) */
	dynamicCombos?: Record<string, ComboSource>;
	/** input holding a step count: the node reports progress per step and costs msPerStep per step */
	stepsInput?: string;
	/** input names checked by the class' own VALIDATE_INPUTS (combo check skipped, custom message) */
	customValidated?: string[];
}

export type Catalogue = Record<string, NodeClassDef>;

/** The class a prompt names, as ComfyUI's dict lookup finds it: never a property every object inherits (`constructor`). */
export function classDef(catalogue: Catalogue, classType: string): NodeClassDef | undefined {
	return Object.hasOwn(catalogue, classType) ? catalogue[classType] : undefined;
}

// ---------------------------------------------------------------------------------------------

const SAMPLERS = [
	'euler', 'euler_cfg_pp', 'euler_ancestral', 'euler_ancestral_cfg_pp', 'heun', 'heunpp2', 'dpm_2', 'dpm_2_ancestral',
	'lms', 'dpm_fast', 'dpm_adaptive', 'dpmpp_2s_ancestral', 'dpmpp_2s_ancestral_cfg_pp', 'dpmpp_sde', 'dpmpp_sde_gpu',
	'dpmpp_2m', 'dpmpp_2m_cfg_pp', 'dpmpp_2m_sde', 'dpmpp_2m_sde_gpu', 'dpmpp_2m_sde_heun', 'dpmpp_2m_sde_heun_gpu',
	'dpmpp_3m_sde', 'dpmpp_3m_sde_gpu', 'ddpm', 'lcm', 'ipndm', 'ipndm_v', 'deis', 'res_multistep', 'res_multistep_cfg_pp',
	'res_multistep_ancestral', 'res_multistep_ancestral_cfg_pp', 'gradient_estimation', 'gradient_estimation_cfg_pp',
	'er_sde', 'seeds_2', 'seeds_3', 'sa_solver', 'sa_solver_pece', 'ddim', 'uni_pc', 'uni_pc_bh2',
];
const SCHEDULERS = ['simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal'];
const UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'];
const SEED_MAX = 0xffffffffffffffff;

interface EntryArgs {
	required?: Record<string, InputSpec>;
	optional?: Record<string, InputSpec>;
	hidden?: Record<string, string>;
	output?: string[];
	outputName?: string[];
	displayName: string | null;
	description?: string;
	category: string;
	outputNode?: boolean;
	pythonModule?: string;
	outputTooltips?: string[];
	extra?: Record<string, unknown>;
}

function entry(name: string, a: EntryArgs): ObjectInfoEntry {
	const input: ObjectInfoEntry['input'] = {};
	const order: ObjectInfoEntry['input_order'] = {};
	if (a.required) {
		input.required = a.required;
		order.required = Object.keys(a.required);
	}
	if (a.optional) {
		input.optional = a.optional;
		order.optional = Object.keys(a.optional);
	}
	if (a.hidden) {
		input.hidden = a.hidden;
		order.hidden = Object.keys(a.hidden);
	}
	const output = a.output ?? [];
	const info: ObjectInfoEntry = {
		input,
		input_order: order,
		output,
		output_is_list: output.map(() => false),
		output_name: a.outputName ?? output,
		name,
		display_name: a.displayName,
		description: a.description ?? '',
		python_module: a.pythonModule ?? 'nodes',
		category: a.category,
		output_node: a.outputNode ?? false,
	};
	if (a.outputTooltips) info.output_tooltips = a.outputTooltips;
	return Object.assign(info, a.extra ?? {});
}

const imageOut = { output: ['IMAGE'] };

/** The classes of common SD / video / audio workflows, shaped as ComfyUI 0.3.64 reports them. */
export function defaultCatalogue(): Catalogue {
	const c: Catalogue = {};
	c.CheckpointLoaderSimple = {
		behaviour: 'checkpoint-loader',
		dynamicCombos: { ckpt_name: 'checkpoints' },
		info: entry('CheckpointLoaderSimple', {
			required: { ckpt_name: [[], { tooltip: 'The name of the checkpoint (model) to load.' }] },
			output: ['MODEL', 'CLIP', 'VAE'],
			displayName: 'Load Checkpoint',
			description: 'Loads a diffusion model checkpoint, diffusion models are used to denoise latents.',
			category: 'loaders',
			outputTooltips: [
				'The model used for denoising latents.',
				'The CLIP model used for encoding text prompts.',
				'The VAE model used for encoding and decoding images to and from latent space.',
			],
		}),
	};
	c.CLIPTextEncode = {
		behaviour: 'passthrough',
		info: entry('CLIPTextEncode', {
			required: {
				text: ['STRING', { multiline: true, dynamicPrompts: true, tooltip: 'The text to be encoded.' }],
				clip: ['CLIP', { tooltip: 'The CLIP model used for encoding the text.' }],
			},
			output: ['CONDITIONING'],
			displayName: 'CLIP Text Encode (Prompt)',
			description: 'Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.',
			category: 'conditioning',
			outputTooltips: ['A conditioning containing the embedded text used to guide the diffusion model.'],
		}),
	};
	c.EmptyLatentImage = {
		behaviour: 'empty-latent',
		info: entry('EmptyLatentImage', {
			required: {
				width: ['INT', { default: 512, min: 16, max: 16384, step: 8, tooltip: 'The width of the latent images in pixels.' }],
				height: ['INT', { default: 512, min: 16, max: 16384, step: 8, tooltip: 'The height of the latent images in pixels.' }],
				batch_size: ['INT', { default: 1, min: 1, max: 4096, tooltip: 'The number of latent images in the batch.' }],
			},
			output: ['LATENT'],
			displayName: 'Empty Latent Image',
			description: 'Create a new batch of empty latent images to be denoised via sampling.',
			category: 'latent',
			outputTooltips: ['The empty latent image batch.'],
		}),
	};
	const samplerCommon = {
		cfg: ['FLOAT', { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01, tooltip: 'The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values result in images more closely matching the prompt however too high values will negatively impact quality.' }] as InputSpec,
		sampler_name: [SAMPLERS, { tooltip: 'The algorithm used when sampling, this can affect the quality, speed, and style of the generated output.' }] as InputSpec,
		scheduler: [SCHEDULERS, { tooltip: 'The scheduler controls how noise is gradually removed to form the image.' }] as InputSpec,
		positive: ['CONDITIONING', { tooltip: 'The conditioning describing the attributes you want to include in the image.' }] as InputSpec,
		negative: ['CONDITIONING', { tooltip: 'The conditioning describing the attributes you want to exclude from the image.' }] as InputSpec,
		latent_image: ['LATENT', { tooltip: 'The latent image to denoise.' }] as InputSpec,
	};
	c.KSampler = {
		behaviour: 'sampler',
		stepsInput: 'steps',
		info: entry('KSampler', {
			required: {
				model: ['MODEL', { tooltip: 'The model used for denoising the input latent.' }],
				seed: ['INT', { default: 0, min: 0, max: SEED_MAX, control_after_generate: true, tooltip: 'The random seed used for creating the noise.' }],
				steps: ['INT', { default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' }],
				...samplerCommon,
				denoise: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling.' }],
			},
			output: ['LATENT'],
			displayName: 'KSampler',
			description: 'Uses the provided model, positive and negative conditioning to denoise the latent image.',
			category: 'sampling',
			outputTooltips: ['The denoised latent.'],
		}),
	};
	c.KSamplerAdvanced = {
		behaviour: 'sampler',
		stepsInput: 'steps',
		info: entry('KSamplerAdvanced', {
			required: {
				model: ['MODEL'],
				add_noise: [['enable', 'disable']],
				noise_seed: ['INT', { default: 0, min: 0, max: SEED_MAX, control_after_generate: true }],
				steps: ['INT', { default: 20, min: 1, max: 10000 }],
				cfg: ['FLOAT', { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 }],
				sampler_name: [SAMPLERS],
				scheduler: [SCHEDULERS],
				positive: ['CONDITIONING'],
				negative: ['CONDITIONING'],
				latent_image: ['LATENT'],
				start_at_step: ['INT', { default: 0, min: 0, max: 10000 }],
				end_at_step: ['INT', { default: 10000, min: 0, max: 10000 }],
				return_with_leftover_noise: [['disable', 'enable']],
			},
			output: ['LATENT'],
			displayName: 'KSampler (Advanced)',
			category: 'sampling',
		}),
	};
	c.VAEDecode = {
		behaviour: 'passthrough',
		info: entry('VAEDecode', {
			required: {
				samples: ['LATENT', { tooltip: 'The latent to be decoded.' }],
				vae: ['VAE', { tooltip: 'The VAE model used for decoding the latent.' }],
			},
			...imageOut,
			displayName: 'VAE Decode',
			description: 'Decodes latent images back into pixel space images.',
			category: 'latent',
			outputTooltips: ['The decoded image.'],
		}),
	};
	c.VAEEncode = {
		behaviour: 'passthrough',
		info: entry('VAEEncode', {
			required: { pixels: ['IMAGE'], vae: ['VAE'] },
			output: ['LATENT'],
			displayName: 'VAE Encode',
			category: 'latent',
		}),
	};
	c.VAELoader = {
		behaviour: 'checkpoint-loader',
		dynamicCombos: { vae_name: 'vae' },
		info: entry('VAELoader', { required: { vae_name: [[]] }, output: ['VAE'], displayName: 'Load VAE', category: 'loaders' }),
	};
	c.LoraLoader = {
		behaviour: 'passthrough',
		dynamicCombos: { lora_name: 'loras' },
		info: entry('LoraLoader', {
			required: {
				model: ['MODEL', { tooltip: 'The diffusion model the LoRA will be applied to.' }],
				clip: ['CLIP', { tooltip: 'The CLIP model the LoRA will be applied to.' }],
				lora_name: [[], { tooltip: 'The name of the LoRA.' }],
				strength_model: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the diffusion model. This value can be negative.' }],
				strength_clip: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the CLIP model. This value can be negative.' }],
			},
			output: ['MODEL', 'CLIP'],
			displayName: 'Load LoRA',
			description: 'LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.',
			category: 'loaders',
			outputTooltips: ['The modified diffusion model.', 'The modified CLIP model.'],
		}),
	};
	c.UpscaleModelLoader = {
		behaviour: 'checkpoint-loader',
		dynamicCombos: { model_name: 'upscale_models' },
		info: entry('UpscaleModelLoader', {
			required: { model_name: [[]] },
			output: ['UPSCALE_MODEL'],
			displayName: 'Load Upscale Model',
			category: 'loaders',
			pythonModule: 'comfy_extras.nodes_upscale_model',
		}),
	};
	c.LoadImage = {
		behaviour: 'load-image',
		dynamicCombos: { image: 'input_images' },
		customValidated: ['image'],
		info: entry('LoadImage', {
			required: { image: [[], { image_upload: true }] },
			output: ['IMAGE', 'MASK'],
			displayName: 'Load Image',
			category: 'image',
		}),
	};
	c.ImageScale = {
		behaviour: 'image-scale',
		info: entry('ImageScale', {
			required: {
				image: ['IMAGE'],
				upscale_method: [UPSCALE_METHODS],
				width: ['INT', { default: 512, min: 0, max: 16384, step: 1 }],
				height: ['INT', { default: 512, min: 0, max: 16384, step: 1 }],
				crop: [['disabled', 'center']],
			},
			...imageOut,
			displayName: 'Upscale Image',
			category: 'image/upscaling',
		}),
	};
	c.ImageScaleBy = {
		behaviour: 'image-scale-by',
		info: entry('ImageScaleBy', {
			required: {
				image: ['IMAGE'],
				upscale_method: [UPSCALE_METHODS],
				scale_by: ['FLOAT', { default: 1.0, min: 0.01, max: 8.0, step: 0.01 }],
			},
			...imageOut,
			displayName: 'Upscale Image By',
			category: 'image/upscaling',
		}),
	};
	c.ImageInvert = {
		behaviour: 'image-invert',
		info: entry('ImageInvert', { required: { image: ['IMAGE'] }, ...imageOut, displayName: 'Invert Image', category: 'image' }),
	};
	c.EmptyImage = {
		behaviour: 'empty-image',
		info: entry('EmptyImage', {
			required: {
				width: ['INT', { default: 512, min: 1, max: 16384, step: 1 }],
				height: ['INT', { default: 512, min: 1, max: 16384, step: 1 }],
				batch_size: ['INT', { default: 1, min: 1, max: 4096 }],
				color: ['INT', { default: 0, min: 0, max: 0xffffff, step: 1, display: 'color' }],
			},
			...imageOut,
			displayName: 'EmptyImage',
			category: 'image',
		}),
	};
	c.SaveImage = {
		behaviour: 'save-image',
		info: entry('SaveImage', {
			required: {
				images: ['IMAGE', { tooltip: 'The images to save.' }],
				filename_prefix: ['STRING', { default: 'ComfyUI', tooltip: 'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.' }],
			},
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
			displayName: 'Save Image',
			description: 'Saves the input images to your ComfyUI output directory.',
			category: 'image',
			outputNode: true,
		}),
	};
	c.PreviewImage = {
		behaviour: 'preview-image',
		info: entry('PreviewImage', {
			required: { images: ['IMAGE'] },
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
			displayName: 'Preview Image',
			description: 'Saves the input images to your ComfyUI output directory.',
			category: 'image',
			outputNode: true,
		}),
	};
	c.SaveAnimatedWEBP = {
		behaviour: 'save-animated-webp',
		info: entry('SaveAnimatedWEBP', {
			required: {
				images: ['IMAGE'],
				filename_prefix: ['STRING', { default: 'ComfyUI' }],
				fps: ['FLOAT', { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }],
				lossless: ['BOOLEAN', { default: true }],
				quality: ['INT', { default: 80, min: 0, max: 100 }],
				method: [['default', 'fastest', 'slowest']],
			},
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
			displayName: 'SaveAnimatedWEBP',
			category: 'image/animation',
			outputNode: true,
			pythonModule: 'comfy_extras.nodes_images',
		}),
	};
	c.CreateVideo = {
		behaviour: 'create-video',
		info: entry('CreateVideo', {
			required: {
				images: ['IMAGE', { tooltip: 'The images to create a video from.' }],
				fps: ['FLOAT', { default: 30.0, min: 1.0, max: 120.0, step: 1.0 }],
			},
			optional: { audio: ['AUDIO', { tooltip: 'The audio to add to the video.' }] },
			output: ['VIDEO'],
			displayName: 'Create Video',
			description: 'Create a video from images.',
			category: 'image/video',
			pythonModule: 'comfy_extras.nodes_video',
		}),
	};
	c.SaveVideo = {
		behaviour: 'save-video',
		info: entry('SaveVideo', {
			required: {
				video: ['VIDEO', { tooltip: 'The video to save.' }],
				filename_prefix: ['STRING', { default: 'video/ComfyUI', tooltip: 'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.' }],
				format: ['COMBO', { default: 'auto', tooltip: 'The format to save the video as.', multiselect: false, options: ['auto', 'mp4'] }],
				codec: ['COMBO', { default: 'auto', tooltip: 'The codec to use for the video.', multiselect: false, options: ['auto', 'h264'] }],
			},
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
			displayName: 'Save Video',
			description: 'Saves the input images to your ComfyUI output directory.',
			category: 'image/video',
			outputNode: true,
			pythonModule: 'comfy_extras.nodes_video',
		}),
	};
	c.SaveWEBM = {
		behaviour: 'save-webm',
		info: entry('SaveWEBM', {
			required: {
				images: ['IMAGE'],
				filename_prefix: ['STRING', { default: 'ComfyUI' }],
				codec: ['COMBO', { multiselect: false, options: ['vp9', 'av1'] }],
				fps: ['FLOAT', { default: 24.0, min: 0.01, max: 1000.0, step: 0.01 }],
				crf: ['FLOAT', { default: 32.0, min: 0, max: 63.0, step: 1, tooltip: 'Higher crf means lower quality with a smaller file size, lower crf means higher quality higher filesize.' }],
			},
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
			displayName: null,
			category: 'image/video',
			outputNode: true,
			pythonModule: 'comfy_extras.nodes_video',
			extra: { experimental: true },
		}),
	};
	c.VHS_VideoCombine = {
		behaviour: 'vhs-video-combine',
		info: entry('VHS_VideoCombine', {
			required: {
				images: ['IMAGE'],
				frame_rate: ['FLOAT', { default: 8, min: 1, step: 1 }],
				loop_count: ['INT', { default: 0, min: 0, max: 100, step: 1 }],
				filename_prefix: ['STRING', { default: 'AnimateDiff' }],
				format: [['image/gif', 'image/webp', 'video/h264-mp4', 'video/webm']],
				pingpong: ['BOOLEAN', { default: false }],
				save_output: ['BOOLEAN', { default: true }],
			},
			optional: { audio: ['AUDIO'], meta_batch: ['VHS_BatchManager'], vae: ['VAE'] },
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO', unique_id: 'UNIQUE_ID' },
			output: ['VHS_FILENAMES'],
			outputName: ['Filenames'],
			displayName: 'Video Combine 🎥🅥🅗🅢',
			category: 'Video Helper Suite 🎥🅥🅗🅢',
			outputNode: true,
			pythonModule: 'custom_nodes.ComfyUI-VideoHelperSuite',
		}),
	};
	c.EmptyLatentAudio = {
		behaviour: 'empty-latent-audio',
		info: entry('EmptyLatentAudio', {
			required: {
				seconds: ['FLOAT', { default: 47.6, min: 1.0, max: 1000.0, step: 0.1 }],
				batch_size: ['INT', { default: 1, min: 1, max: 4096, tooltip: 'The number of latent images in the batch.' }],
			},
			output: ['LATENT'],
			displayName: 'Empty Latent Audio',
			category: 'latent/audio',
			pythonModule: 'comfy_extras.nodes_audio',
		}),
	};
	c.VAEDecodeAudio = {
		behaviour: 'vae-decode-audio',
		info: entry('VAEDecodeAudio', {
			required: { samples: ['LATENT'], vae: ['VAE'] },
			output: ['AUDIO'],
			displayName: 'VAE Decode Audio',
			category: 'latent/audio',
			pythonModule: 'comfy_extras.nodes_audio',
		}),
	};
	c.SaveAudio = {
		behaviour: 'save-audio',
		info: entry('SaveAudio', {
			required: { audio: ['AUDIO'], filename_prefix: ['STRING', { default: 'audio/ComfyUI' }] },
			hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
			displayName: 'Save Audio (FLAC)',
			category: 'audio',
			outputNode: true,
			pythonModule: 'comfy_extras.nodes_audio',
		}),
	};
	return c;
}

/** The probe node used in the recorded transcripts (a custom node that reports progress per step). */
export function progressProbeClass(): NodeClassDef {
	return {
		behaviour: 'progress-probe',
		stepsInput: 'steps',
		info: entry('ProbeProgress', {
			required: {
				image: ['IMAGE'],
				steps: ['INT', { default: 3, min: 1, max: 10000 }],
				delay: ['FLOAT', { default: 0.05, min: 0.0, max: 10.0, step: 0.01 }],
				send_preview: ['BOOLEAN', { default: true }],
			},
			...imageOut,
			displayName: 'ProbeProgress',
			category: 'probe',
			pythonModule: 'custom_nodes.probe',
		}),
	};
}

/** Default catalogue plus the recordings' probe node. */
export function probeCatalogue(): Catalogue {
	return { ...defaultCatalogue(), ProbeProgress: progressProbeClass() };
}
