/**
 * Control of one ComfyUI server's queue: reads which prompts wait and run, decides how to stop
 * prompts (delete the pending, interrupt the running), purges abandoned ones and asks the server to
 * free memory.
 */
import type { HttpTransport } from './http';
import { parseQueue } from './parse';
import type { CancelOutcome, QueueInfo, QueueState } from './types';

export class QueueControl {
	constructor(private readonly http: HttpTransport) {}

	/** `/queue`: the running and pending prompts. */
	async read(signal?: AbortSignal, timeoutMs?: number): Promise<QueueState> {
		const req = { method: 'GET' as const, route: '/queue', signal, timeoutMs };
		const body = await this.http.expectJson<unknown>(req);
		const state = parseQueue(body);
		if (!state) throw this.http.unexpected(req, 200, 'not a queue');
		return state;
	}

	/** `/prompt`: how many prompts the server still has to run. */
	async info(signal?: AbortSignal): Promise<QueueInfo> {
		const body = await this.http.expectJson<{ exec_info?: { queue_remaining?: unknown } }>({ method: 'GET', route: '/prompt', signal });
		const remaining = Number(body?.exec_info?.queue_remaining);
		return { queueRemaining: Number.isFinite(remaining) ? remaining : 0 };
	}

	/**
	 * Cancels several prompts of this server: the pending ones leave the queue in one request before
	 * the running one is interrupted, so none of them starts only to be interrupted.
	 */
	async cancelMany(promptIds: readonly string[], signal?: AbortSignal): Promise<Map<string, CancelOutcome>> {
		const outcomes = new Map<string, CancelOutcome>(promptIds.map((id) => [id, 'not-found']));
		const state = await this.read(signal);
		const pending = promptIds.filter((id) => state.pending.some((i) => i.promptId === id));
		const running = promptIds.filter((id) => state.running.some((i) => i.promptId === id));
		if (pending.length > 0) {
			await this.http.expectOk({ method: 'POST', route: '/queue', json: { delete: pending }, signal });
			for (const id of pending) outcomes.set(id, 'deleted');
		}
		for (const id of running) {
			await this.interrupt(id, signal);
			outcomes.set(id, 'interrupted');
		}
		if (pending.length > 0) {
			// Some may have started between the read and the delete.
			const after = await this.read(signal);
			for (const id of pending) {
				if (!after.running.some((i) => i.promptId === id)) continue;
				await this.interrupt(id, signal);
				outcomes.set(id, 'interrupted');
			}
		}
		return outcomes;
	}

	/**
	 * Makes sure prompts we abandoned never run: deletes them from the queue and interrupts whichever
	 * of them runs, every request at once and without reading the queue first. A server that was
	 * stopped handles them, in the order they arrived, as soon as it resumes. Unknown ids are ignored.
	 */
	async purge(promptIds: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
		if (promptIds.length === 0) return;
		const { signal, timeoutMs } = options;
		await Promise.all([
			this.http.expectOk({ method: 'POST', route: '/queue', json: { delete: [...promptIds] }, signal, timeoutMs }),
			...promptIds.map((id) => this.http.expectOk({ method: 'POST', route: '/interrupt', json: { prompt_id: id }, signal, timeoutMs })),
		]);
	}

	/** Asks the server to unload models and/or free memory after the current job. */
	free(options: { unloadModels?: boolean; freeMemory?: boolean; signal?: AbortSignal } = {}): Promise<void> {
		return this.http.expectOk({
			method: 'POST',
			route: '/free',
			json: { unload_models: options.unloadModels ?? false, free_memory: options.freeMemory ?? false },
			signal: options.signal,
		});
	}

	private async interrupt(promptId: string, signal?: AbortSignal): Promise<void> {
		await this.http.expectOk({ method: 'POST', route: '/interrupt', json: { prompt_id: promptId }, signal });
	}
}
