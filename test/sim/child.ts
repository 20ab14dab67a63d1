/**
 * One simulated ComfyUI server in a process of its own, driven by its parent over IPC (see
 * processFleet.ts): `start` it with SimulatorOptions, `call` any public method or read any property
 * of the simulator by name, `stop` it. Every record the simulator makes is also sent to the parent as
 * it happens, so the parent's copy survives a SIGKILL and can be read while this process is stopped.
 * A server that runs out of RAM ends this process as the kernel's OOM killer would (SIGKILL).
 */
import { ComfyUiSimulator } from './server';
import type { SimulatorRecords } from './server';
import type { FromChild, ToChild } from './processFleet';

let sim: ComfyUiSimulator | undefined;

function send(message: FromChild): void {
	process.send?.(message);
}

/** Out of RAM: nothing more runs or answers, and once the parent has every record, SIGKILL. */
function outOfMemory(): void {
	sim?.crash();
	const die = (): void => void process.kill(process.pid, 'SIGKILL');
	if (process.send) process.send({ kind: 'dying', reason: 'ran out of memory' } satisfies FromChild, die);
	else die();
}

function messageOf(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/**
 * The simulator records by pushing to arrays and assigning counters; both are observed here, so the
 * simulator itself knows nothing of processes (and new record fields are sent without changes here).
 */
function streamRecords(records: SimulatorRecords): void {
	const fields = records as unknown as Record<string, unknown>;
	for (const [field, value] of Object.entries(fields)) {
		if (Array.isArray(value)) {
			Object.defineProperty(value, 'push', {
				value: (...items: unknown[]): number => {
					send({ kind: 'record', field, at: Date.now(), items });
					return Array.prototype.push.apply(value, items);
				},
			});
		} else if (typeof value === 'number') {
			let current = value;
			Object.defineProperty(fields, field, {
				enumerable: true,
				get: () => current,
				set: (next: number) => {
					if (next === current) return;
					current = next;
					send({ kind: 'record', field, at: Date.now(), value: next });
				},
			});
		}
	}
}

async function handle(message: ToChild): Promise<void> {
	switch (message.kind) {
		case 'start':
			try {
				sim = await ComfyUiSimulator.start(message.options, { outOfMemory });
				streamRecords(sim.records);
				send({ kind: 'ready', port: sim.port, url: sim.url, records: sim.records });
			} catch (error) {
				send({ kind: 'failed', message: messageOf(error) });
				process.exit(1);
			}
			return;
		case 'call': {
			const target = sim as unknown as Record<string, unknown> | undefined;
			try {
				if (!target) throw new Error('the simulator has not started');
				const member = target[message.method];
				if (typeof member === 'function') {
					send({ kind: 'result', id: message.id, ok: true, value: await (member as (...args: unknown[]) => unknown).apply(sim, message.args) });
				} else if (member !== undefined && message.args.length === 0) {
					send({ kind: 'result', id: message.id, ok: true, value: member });
				} else {
					throw new Error(`the simulator has no method ${message.method}`);
				}
			} catch (error) {
				send({ kind: 'result', id: message.id, ok: false, message: messageOf(error) });
			}
			return;
		}
		case 'stop':
			await sim?.stop().catch(() => undefined);
			process.exit(0);
	}
}

process.on('message', (message: ToChild) => void handle(message));
// The parent is gone (it exited, or was killed): so is its server.
process.on('disconnect', () => process.exit(0));
