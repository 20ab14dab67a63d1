/** Defensive readers for server answers (servers differ by version; read what is there). */
import type { HistoryEntry, QueueItem, QueueState, RawNodeErrors } from './types';
import type { NodeValidationError } from '../errors';

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function queueItem(raw: unknown): QueueItem | undefined {
	if (!Array.isArray(raw) || raw.length < 2) return undefined;
	const [number, promptId, , extra] = raw;
	if (typeof promptId !== 'string') return undefined;
	const clientId = isRecord(extra) && typeof extra.client_id === 'string' ? extra.client_id : undefined;
	return { number: typeof number === 'number' ? number : Number(number) || 0, promptId, ...(clientId ? { clientId } : {}) };
}

/** `GET /queue` → running and pending items, pending sorted by priority number. */
export function parseQueue(body: unknown): QueueState | undefined {
	if (!isRecord(body)) return undefined;
	const list = (value: unknown) => (Array.isArray(value) ? value.map(queueItem).filter((i): i is QueueItem => i !== undefined) : []);
	const running = list(body.queue_running);
	const pending = list(body.queue_pending).sort((a, b) => a.number - b.number);
	return { running, pending };
}

/** `GET /history/{id}` → the entry, or undefined when the server answered `{}` (not finished or unknown). */
export function parseHistoryEntry(body: unknown, promptId: string): HistoryEntry | undefined {
	if (!isRecord(body)) return undefined;
	const entry = body[promptId];
	if (!isRecord(entry)) return undefined;
	return {
		...entry,
		outputs: isRecord(entry.outputs) ? (entry.outputs as HistoryEntry['outputs']) : {},
	} as HistoryEntry;
}

/** `node_errors` → one flat list, every error of every node. */
export function flattenNodeErrors(nodeErrors: unknown): NodeValidationError[] {
	if (!isRecord(nodeErrors)) return [];
	const out: NodeValidationError[] = [];
	for (const [nodeId, raw] of Object.entries(nodeErrors as RawNodeErrors)) {
		if (!isRecord(raw)) continue;
		const classType = typeof raw.class_type === 'string' ? raw.class_type : undefined;
		const errors = Array.isArray(raw.errors) ? raw.errors : [];
		if (errors.length === 0) out.push({ nodeId, classType, type: 'unknown', message: 'Node failed validation' });
		for (const error of errors) {
			if (!isRecord(error)) continue;
			const extra = isRecord(error.extra_info) ? error.extra_info : {};
			out.push({
				nodeId,
				classType,
				type: typeof error.type === 'string' ? error.type : 'unknown',
				message: typeof error.message === 'string' ? error.message : 'Validation failed',
				details: typeof error.details === 'string' && error.details !== '' ? error.details : undefined,
				inputName: typeof extra.input_name === 'string' ? extra.input_name : undefined,
			});
		}
	}
	return out;
}

/** One line per node error, for a workflow author. */
export function describeNodeErrors(errors: NodeValidationError[]): string {
	return errors
		.map((e) => {
			const where = `node ${e.nodeId}${e.classType ? ` (${e.classType})` : ''}${e.inputName ? ` input "${e.inputName}"` : ''}`;
			const details = e.details && !e.message.includes(e.details) ? ` — ${e.details}` : '';
			return `${where}: ${e.message}${details}`;
		})
		.join('; ');
}
