/**
 * Decides what running one prompt does: which nodes run in which order, which come from the cache,
 * what each costs (model loads included), the websocket messages sent, and the history entry and
 * record written at the end; and when the flags of POST /free take effect.
 */
import { readFileSync } from 'fs';
import { ResultCache } from './cache';
import { Catalogue, classDef } from './catalogue';
import type { Faults } from './faults';
import { sha, type DataFiles } from './files';
import type { Memory } from './memory';
import { loadMs, modelFiles } from './models';
import { isSimValue, NodeResult, NodeRuntimeError, runNode, SimValue } from './nodes';
import type { PauseResult, PromptQueue } from './queue';
import type { Sockets } from './sockets';
import type { HistoryEntry, QueueItem, SimulatorOptions, SimulatorRecords } from './types';
import { isLink, Prompt } from './validate';

const DEFAULT_CLASS_COST: Record<string, number> = { VAEDecode: 20, CheckpointLoaderSimple: 10, SaveImage: 5 };

export interface ExecutorParts {
	opts: SimulatorOptions;
	catalogue: Catalogue;
	records: SimulatorRecords;
	queue: PromptQueue;
	sockets: Sockets;
	faults: Faults;
	files: DataFiles;
	memory: Memory;
	/** RAM ran out (while `promptId` ran, or at a /free): the server dies. */
	outOfMemory(promptId: string | null): void;
}

/** Runs prompts the way ComfyUI's executor does, with its cache of node results (lost on restart). */
export class Executor {
	private readonly cache: ResultCache<NodeResult>;
	/** Flags of POST /free the worker has not applied yet (it does between prompts). */
	private freeFlags: { unloadModels: boolean; freeMemory: boolean } | null = null;

	constructor(private readonly p: ExecutorParts) {
		this.cache = new ResultCache(p.opts.cacheLru ?? 0, (key) => p.memory.release(key));
	}

	reset(): void {
		this.cache.clear();
		this.p.memory.clear();
		this.freeFlags = null;
	}

	/**
	 * POST /free, as ComfyUI's prompt_worker applies its flags: at once when idle, after the running
	 * prompt otherwise. `free_memory` unloads the models too (the unload flag defaults to it); the
	 * unload moves them out of VRAM, to RAM, with the cache still holding them; `free_memory` then
	 * resets the cache, which frees them and every kept output.
	 */
	requestFree(unloadModels: boolean, freeMemory: boolean): void {
		if (!unloadModels && !freeMemory) return;
		const flags = (this.freeFlags ??= { unloadModels: false, freeMemory: false });
		flags.unloadModels ||= unloadModels;
		flags.freeMemory ||= freeMemory;
		if (!this.p.queue.running) this.applyFree();
	}

	private applyFree(): void {
		const { memory } = this.p;
		const flags = this.freeFlags;
		this.freeFlags = null;
		if (!flags) return;
		memory.unloadModels();
		if (flags.freeMemory) this.cache.clear();
		memory.emptyCache();
		if (memory.outOfMemory()) this.p.outOfMemory(null);
	}

	private nodeSignature(prompt: Prompt, id: string, memo: Map<string, string>, stack: Set<string> = new Set()): string {
		const known = memo.get(id);
		if (known) return known;
		const node = prompt[id];
		stack.add(id);
		const inputs: Record<string, unknown> = {};
		for (const k of Object.keys(node.inputs ?? {}).sort()) {
			const v = node.inputs[k];
			inputs[k] = isLink(v) && !stack.has(String(v[0])) ? ['link', this.nodeSignature(prompt, String(v[0]), memo, stack), v[1]] : v;
		}
		let changed = '';
		const def = classDef(this.p.catalogue, node.class_type);
		if (def?.behaviour === 'load-image') {
			const f = this.p.files.resolveAnnotated(String(node.inputs?.image ?? ''), 'input');
			changed = f ? sha(readFileSync(f)) : 'missing';
		}
		stack.delete(id);
		const sig = sha(Buffer.from(JSON.stringify([node.class_type, inputs, changed])));
		memo.set(id, sig);
		return sig;
	}

	/** Nodes needed by the outputs, dependencies first (output order, then depth-first). */
	private executionOrder(prompt: Prompt, outputs: string[]): string[] {
		const order: string[] = [];
		const seen = new Set<string>();
		const visit = (id: string): void => {
			if (seen.has(id) || !prompt[id]) return;
			seen.add(id);
			for (const v of Object.values(prompt[id].inputs ?? {})) if (isLink(v)) visit(String(v[0]));
			order.push(id);
		};
		for (const o of outputs) visit(o);
		return order;
	}

	async execute(item: QueueItem, epoch: number): Promise<void> {
		const { opts, catalogue, records, queue, sockets, faults, files, memory } = this.p;
		const [, promptId, prompt, extra, outputs] = item;
		const sid = typeof extra.client_id === 'string' ? extra.client_id : undefined;
		const messages: Array<[string, Record<string, unknown>]> = [];
		const alive = (): boolean => epoch === queue.epoch;
		const addMessage = (type: string, data: Record<string, unknown>, broadcast = false): void => {
			const d = { ...data, timestamp: Date.now() };
			messages.push([type, d]);
			if (sid !== undefined || broadcast) sockets.send(sid, type, d);
		};
		/** messages sent with the prompt's sid: not at all when the prompt has no client */
		const toClient = (type: string, data: Record<string, unknown>): void => {
			if (sid !== undefined) sockets.send(sid, type, data);
		};
		/** progress and progress_state: to the client, or broadcast when there is none */
		const toClientOrAll = (type: string, data: Record<string, unknown>): void => sockets.send(sid, type, data);

		addMessage('execution_start', { prompt_id: promptId });
		const order = this.executionOrder(prompt, outputs);
		const memo = new Map<string, string>();
		const sigs = new Map(order.map((id) => [id, this.nodeSignature(prompt, id, memo)]));
		const inUse = new Set(sigs.values());
		this.cache.startPrompt(inUse);
		memory.use(inUse);
		const cached = order.filter((id) => this.cache.has(sigs.get(id)!));
		addMessage('execution_cached', { nodes: cached, prompt_id: promptId });

		const states: Record<string, Record<string, unknown>> = {};
		const sendStates = (): void => toClientOrAll('progress_state', { prompt_id: promptId, nodes: JSON.parse(JSON.stringify(states)) });
		const setState = (id: string, value: number, max: number, state: string): void => {
			states[id] = { value, max, state, node_id: id, prompt_id: promptId, display_node_id: id, parent_node_id: null, real_node_id: id };
		};
		const results = new Map<string, NodeResult>();
		const executed: string[] = [];
		const ui: Record<string, unknown> = {};
		const pngText: Record<string, string> = { prompt: JSON.stringify(prompt) };
		const pnginfo = extra.extra_pnginfo;
		if (pnginfo && typeof pnginfo === 'object') for (const [k, v] of Object.entries(pnginfo)) pngText[k] = JSON.stringify(v);

		type Outcome = { kind: 'success' } | { kind: 'interrupted'; node: string } | { kind: 'error'; node: string; message: string; exceptionType: string; inputs: Record<string, unknown> };
		let outcome: Outcome = { kind: 'success' };
		let outputFiles = 0;
		for (const id of order) {
			const node = prompt[id];
			const def = classDef(catalogue, node.class_type)!;
			const sig = sigs.get(id)!;
			const hit = this.cache.get(sig);
			if (hit) {
				results.set(id, hit);
				executed.push(id);
				if (hit.ui) {
					ui[id] = hit.ui;
					toClient('executed', { node: id, display_node: id, output: hit.ui, prompt_id: promptId });
					setState(id, 1, 1, 'finished');
					sendStates();
				}
				continue;
			}
			if (faults.hang) {
				const r = await queue.pause(0, epoch);
				if (r === 'dead') return;
			}
			if (!alive()) return;
			if (queue.interruptFlag) {
				outcome = { kind: 'interrupted', node: id };
				break;
			}
			setState(id, 0, 1, 'running');
			sendStates();
			queue.runningNode = id;
			toClient('executing', { node: id, display_node: id, prompt_id: promptId });
			const inputs: Record<string, unknown> = {};
			for (const [k, v] of Object.entries(node.inputs ?? {})) inputs[k] = isLink(v) ? results.get(String(v[0]))?.outputs[v[1]] : v;

			const steps = def.stepsInput ? Math.max(0, Math.floor(Number(node.inputs?.[def.stepsInput]) || 0)) : 0;
			const msPerStep = opts.msPerStep ?? 50;
			const costs = opts.classCostMs ?? {};
			const fixed = Object.hasOwn(costs, node.class_type) ? costs[node.class_type] : Object.hasOwn(DEFAULT_CLASS_COST, node.class_type) ? DEFAULT_CLASS_COST[node.class_type] : 2;
			// a loader first reads its files from disk: wall-clock time, whatever the server's speed
			const models = modelFiles(node.class_type, node.inputs, opts);
			const loading = models.reduce((ms, f) => ms + loadMs(f, opts), 0);
			let stop: PauseResult = loading > 0 ? await queue.pause(loading, epoch, 1) : 'ok';
			if (models.length > 0 && stop === 'ok') records.loads.push({ promptId, node: id, files: models.map((f) => f.name), ms: loading, at: Date.now() });
			if (steps > 0) {
				const preview = node.inputs?.send_preview === true || def.behaviour === 'sampler';
				for (let s = 1; s <= steps && stop === 'ok'; s++) {
					stop = await queue.pause(msPerStep, epoch);
					if (stop !== 'ok') break;
					setState(id, s, steps, 'running');
					sendStates();
					if (preview && node.inputs?.send_preview === true) sockets.sendPreview(sid, promptId, id, true);
					toClientOrAll('progress', { value: s, max: steps, prompt_id: promptId, node: id });
					if (preview && node.inputs?.send_preview === true) sockets.sendPreview(sid, promptId, id, false);
				}
			}
			if (stop === 'ok') stop = await queue.pause(fixed, epoch);
			if (stop === 'dead') return;
			if (stop === 'interrupt') {
				outcome = { kind: 'interrupted', node: id };
				break;
			}
			const raised = faults.executionErrorAt(promptId, id, node.class_type);
			if (raised) {
				outcome = { kind: 'error', node: id, ...raised, inputs };
				break;
			}
			let result: NodeResult;
			try {
				result = runNode(def.behaviour, inputs, files.nodeIo(() => outputFiles++), pngText);
			} catch (e) {
				const err = e instanceof NodeRuntimeError ? e : new NodeRuntimeError(e instanceof Error ? e.message : String(e), 'Exception');
				outcome = { kind: 'error', node: id, message: err.message, exceptionType: err.exceptionType, inputs };
				break;
			}
			results.set(id, result);
			this.cache.set(sig, result);
			memory.holdModels(sig, models, inUse);
			memory.holdOutputs(sig, def, result.outputs);
			if (memory.outOfMemory()) return this.p.outOfMemory(promptId);
			executed.push(id);
			if (result.ui) {
				ui[id] = result.ui;
				toClient('executed', { node: id, display_node: id, output: result.ui, prompt_id: promptId });
			}
			setState(id, steps > 0 ? steps : 1, steps > 0 ? steps : 1, 'finished');
			sendStates();
		}
		if (!alive()) return;
		queue.runningNode = null;

		let statusStr: 'success' | 'error' = 'success';
		let recordStatus: 'success' | 'error' | 'interrupted' = 'success';
		if (outcome.kind === 'success') {
			addMessage('execution_success', { prompt_id: promptId });
		} else if (outcome.kind === 'interrupted') {
			statusStr = 'error';
			recordStatus = 'interrupted';
			const n = outcome.node;
			addMessage('execution_interrupted', { prompt_id: promptId, node_id: n, node_type: prompt[n].class_type, executed: [...executed] }, true);
		} else {
			statusStr = 'error';
			recordStatus = 'error';
			const n = outcome.node;
			addMessage('execution_error', {
				prompt_id: promptId,
				node_id: n,
				node_type: prompt[n].class_type,
				executed: [...executed],
				exception_message: outcome.message,
				exception_type: outcome.exceptionType,
				traceback: [
					'  File "/srv/ComfyUI/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
					`  File "/srv/ComfyUI/nodes.py", line 1, in ${prompt[n].class_type}\n    raise ${outcome.exceptionType}(...)\n`,
				],
				current_inputs: Object.fromEntries(Object.entries(outcome.inputs).map(([k, v]) => [k, [isSimValue(v) ? describeTensor(v) : v]])),
				current_outputs: [...order].reverse(),
			});
		}
		const meta: HistoryEntry['meta'] = {};
		for (const id of Object.keys(ui)) meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
		faults.forgetAuth(promptId);
		// the real server keeps the newest entry last; re-using an id moves it
		queue.history.delete(promptId);
		queue.history.set(promptId, {
			prompt: item,
			outputs: ui,
			status: { status_str: statusStr, completed: statusStr === 'success', messages },
			meta,
		});
		while (queue.history.size > 10000) queue.history.delete(queue.history.keys().next().value as string);
		queue.running = null;
		records.finished.push({ promptId, status: recordStatus, at: Date.now(), outputs: outputFiles });
		queue.statusChanged();
		toClient('executing', { node: null, prompt_id: promptId });
		this.applyFree();
	}
}

function describeTensor(v: SimValue): string {
	return `tensor(<${v.batch}x${v.height}x${v.width}x3>)`;
}
