/**
 * Decides what a server says about itself: /system_stats (its memory figures, under pressure
 * included), the
 * /object_info of each class with its combos filled from the server's files and model lists, and the
 * combo options and file checks prompt validation uses.
 */
import { Catalogue, classDef, InputSpec, NodeClassDef, ObjectInfoEntry } from './catalogue';
import type { Faults } from './faults';
import type { DataFiles } from './files';
import type { Memory } from './memory';
import type { SimulatorOptions } from './types';

export interface InfoParts {
	opts: SimulatorOptions;
	catalogue: Catalogue;
	host: string;
	faults: Faults;
	files: DataFiles;
	memory: Memory;
	port(): number;
}

export class ServerInfo {
	constructor(private readonly p: InfoParts) {}

	systemStats(): unknown {
		const { opts, faults, memory } = this.p;
		const m = memory.figures();
		const vramFree = faults.memoryPressure?.vramFree ?? m.vramFree;
		const ramFree = faults.memoryPressure?.ramFree ?? m.ramFree;
		return {
			system: {
				os: 'posix',
				ram_total: m.ramTotal,
				ram_free: ramFree,
				comfyui_version: '0.3.64',
				required_frontend_version: '1.27.10',
				installed_templates_version: null,
				required_templates_version: '0.1.95',
				python_version: '3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]',
				pytorch_version: '2.8.0+cu128',
				embedded_python: false,
				argv: ['main.py', '--listen', this.p.host, '--port', String(this.p.port())],
			},
			devices: [
				{
					...(opts.device === 'cpu' ? { name: 'cpu', type: 'cpu', index: null } : { name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync', type: 'cuda', index: 0 }),
					vram_total: m.vramTotal,
					vram_free: vramFree,
					torch_vram_total: m.torchVramTotal,
					// fixed figures: torch's are the device's, pressure included
					torch_vram_free: memory.live ? m.torchVramFree : vramFree,
				},
			],
		};
	}

	objectInfo(cls: string): ObjectInfoEntry {
		const def = classDef(this.p.catalogue, cls)!;
		const info: ObjectInfoEntry = JSON.parse(JSON.stringify(def.info));
		for (const [name, source] of Object.entries(def.dynamicCombos ?? {})) {
			const spec = info.input.required?.[name] ?? info.input.optional?.[name];
			if (spec) spec[0] = this.comboSourceValues(source);
		}
		return info;
	}

	private comboSourceValues(source: string): string[] {
		if (source === 'input_images') return this.p.files.inputFiles();
		const models = (this.p.opts.models ?? {}) as Record<string, string[] | undefined>;
		return [...(models[source] ?? [])];
	}

	comboOptions(def: NodeClassDef, name: string, spec: InputSpec): string[] | null {
		const dyn = def.dynamicCombos?.[name];
		if (dyn) return this.comboSourceValues(dyn);
		const type = spec[0];
		if (Array.isArray(type)) return type.map(String);
		if (type === 'COMBO') {
			const opts = (spec[1] ?? {}) as { options?: unknown[] };
			return Array.isArray(opts.options) ? opts.options.map(String) : null;
		}
		return null;
	}

	customValidate(def: NodeClassDef, name: string, value: unknown): string | null {
		if (def.behaviour === 'load-image' && name === 'image') {
			return this.p.files.resolveAnnotated(String(value), 'input') ? null : `Invalid image file: ${String(value)}`;
		}
		return null;
	}}
