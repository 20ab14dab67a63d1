/**
 * Decides where a server's memory goes and the figures /system_stats reports. With `memory.live` off
 * (the default) nothing moves: the figures are the configured ones. With it on, model files sit in
 * VRAM while it has room and in RAM beyond (models the running prompt does not use make room first,
 * moving to RAM); every IMAGE, LATENT and MASK output of a cached or running node holds width ×
 * height × frames × `bytesPerPixel` of RAM; unloading the models moves them to RAM; a result the
 * cache drops frees what it held. RAM in use beyond its total is the end of the process.
 */
import type { NodeClassDef } from './catalogue';
import type { ModelFile } from './models';
import type { SimValue } from './nodes';
import type { SimulatorOptions } from './types';

const GB = 1024 ** 3;
/** Output types that are tensors in RAM (a MODEL, CLIP or VAE output is the loader's model, counted once). */
const TENSOR_TYPES = new Set(['IMAGE', 'LATENT', 'MASK']);

interface PlacedModel {
	bytes: number;
	/** bytes of it in VRAM; the rest is in RAM */
	vram: number;
}

/** In bytes, as /system_stats reports them. */
export interface MemoryFigures {
	vramTotal: number;
	vramFree: number;
	torchVramTotal: number;
	torchVramFree: number;
	ramTotal: number;
	ramFree: number;
	ramUsed: number;
}

/** One server's memory: what the cache holds (by signature of the node that made it) and where. */
export class Memory {
	readonly live: boolean;
	private readonly vramTotal: number;
	private readonly ramTotal: number;
	/** in use with nothing loaded (ComfyUI itself, the OS, other programs) */
	private readonly vramBase: number;
	private readonly ramBase: number;
	private readonly bytesPerPixel: number;
	/** a CPU device has no VRAM of its own: models are in RAM, the device reports RAM */
	private readonly cpu: boolean;
	/** by signature of the loader that read them, oldest use first */
	private readonly models = new Map<string, PlacedModel[]>();
	private readonly tensors = new Map<string, number>();
	/** VRAM torch's allocator holds, used or kept for reuse, until /free empties its cache */
	private reserved = 0;

	constructor(opts: SimulatorOptions) {
		const m = opts.memory ?? {};
		this.live = m.live === true;
		this.vramTotal = m.vramTotal ?? 24 * GB;
		this.ramTotal = m.ramTotal ?? 64 * GB;
		this.vramBase = this.vramTotal - (m.vramFree ?? Math.round(this.vramTotal * 0.9));
		this.ramBase = this.ramTotal - (m.ramFree ?? Math.round(this.ramTotal * 0.75));
		this.bytesPerPixel = m.bytesPerPixel ?? 12;
		this.cpu = opts.device === 'cpu';
	}

	/** The files a loader read: in VRAM as far as there is room, in RAM beyond. */
	holdModels(key: string, files: ModelFile[], inUse: ReadonlySet<string>): void {
		if (!this.live || files.length === 0) return;
		const placed = files.map((f) => ({ bytes: f.bytes, vram: 0 }));
		this.models.set(key, placed);
		this.toVram(placed, inUse);
	}

	/** A prompt starts: the models it uses (signatures in `inUse`) go back to VRAM if they left it. */
	use(inUse: ReadonlySet<string>): void {
		for (const [key, placed] of [...this.models]) {
			if (!inUse.has(key)) continue;
			this.models.delete(key);
			this.models.set(key, placed);
			this.toVram(placed, inUse);
		}
	}

	/** What a node's tensor outputs hold in RAM while its result is kept. */
	holdOutputs(key: string, def: NodeClassDef, outputs: SimValue[]): void {
		if (!this.live) return;
		let bytes = 0;
		outputs.forEach((v, i) => {
			if (TENSOR_TYPES.has(def.info.output[i]) && v) bytes += v.width * v.height * Math.max(1, v.batch) * this.bytesPerPixel;
		});
		if (bytes > 0) this.tensors.set(key, bytes);
	}

	/** The result of `key` left the cache: what it held is free. */
	release(key: string): void {
		this.models.delete(key);
		this.tensors.delete(key);
	}

	/** ComfyUI's unload_all_models: every model leaves VRAM for RAM (the cache still holds it). */
	unloadModels(): void {
		for (const placed of this.models.values()) for (const m of placed) m.vram = 0;
	}

	/** gc and torch's empty_cache after /free: the allocator gives back the VRAM nothing uses. */
	emptyCache(): void {
		this.reserved = this.vramInUse();
	}

	/** A restart: nothing is loaded. */
	clear(): void {
		this.models.clear();
		this.tensors.clear();
		this.reserved = 0;
	}

	/** More RAM in use than there is: the process cannot go on. */
	outOfMemory(): boolean {
		return this.live && this.figures().ramUsed > this.ramTotal;
	}

	figures(): MemoryFigures {
		const vramInUse = this.vramInUse();
		let ramUsed = this.ramBase;
		for (const placed of this.models.values()) for (const m of placed) ramUsed += m.bytes - m.vram;
		for (const bytes of this.tensors.values()) ramUsed += bytes;
		const ramFree = Math.max(0, this.ramTotal - ramUsed);
		if (this.live && this.cpu) return { vramTotal: this.ramTotal, vramFree: ramFree, torchVramTotal: this.ramTotal, torchVramFree: ramFree, ramTotal: this.ramTotal, ramFree, ramUsed };
		const vramFree = Math.max(0, this.vramTotal - this.vramBase - vramInUse);
		return {
			vramTotal: this.vramTotal,
			vramFree,
			// torch's own figures: what its allocator reserved, and the part of it not in use
			torchVramTotal: this.live ? this.reserved : this.vramTotal,
			torchVramFree: this.live ? this.reserved - vramInUse : vramFree,
			ramTotal: this.ramTotal,
			ramFree,
			ramUsed,
		};
	}

	private vramInUse(): number {
		let n = 0;
		for (const placed of this.models.values()) for (const m of placed) n += m.vram;
		return n;
	}

	/** Moves what of `placed` is in RAM to VRAM: models the prompt does not use leave first, oldest use first. */
	private toVram(placed: PlacedModel[], inUse: ReadonlySet<string>): void {
		const room = (): number => (this.cpu ? 0 : Math.max(0, this.vramTotal - this.vramBase - this.vramInUse()));
		const wanted = placed.reduce((n, m) => n + m.bytes - m.vram, 0);
		for (const [key, other] of this.models) {
			if (room() >= wanted) break;
			if (!inUse.has(key)) for (const m of other) m.vram = 0;
		}
		for (const m of placed) m.vram += Math.min(m.bytes - m.vram, room());
		this.reserved = Math.max(this.reserved, this.vramInUse());
	}
}
