/** Decisions over a finished prompt's history entry (pure). */
import type { HistoryEntry, StatusMessage } from './types';

export interface FailureDetails {
	nodeId?: string;
	nodeType?: string;
	exceptionMessage?: string;
	exceptionType?: string;
}

export type HistoryOutcome =
	| { kind: 'success' }
	| { kind: 'error'; details: FailureDetails }
	| { kind: 'interrupted'; details: FailureDetails };

function messages(entry: HistoryEntry): StatusMessage[] {
	const list = entry.status?.messages;
	return Array.isArray(list) ? list.filter((m): m is StatusMessage => Array.isArray(m) && typeof m[0] === 'string') : [];
}

function str(value: unknown): string | undefined {
	return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** Failure details from an `execution_error` / `execution_interrupted` payload (ws or history). */
export function failureDetails(data: Record<string, unknown> | undefined): FailureDetails {
	if (!data) return {};
	return {
		nodeId: str(data.node_id),
		nodeType: str(data.node_type),
		exceptionMessage: str(data.exception_message),
		exceptionType: str(data.exception_type),
	};
}

/**
 * How a prompt ended. Interrupted runs have `status_str: "error"` too; the last message tells them
 * apart. Servers older than 2024-01 have no `status`: an entry then means success.
 */
export function interpretHistory(entry: HistoryEntry): HistoryOutcome {
	const list = messages(entry);
	const interrupted = list.find((m) => m[0] === 'execution_interrupted');
	if (interrupted) return { kind: 'interrupted', details: failureDetails(interrupted[1]) };
	const failed = list.find((m) => m[0] === 'execution_error');
	if (failed) return { kind: 'error', details: failureDetails(failed[1]) };
	if (entry.status && entry.status.status_str === 'error') return { kind: 'error', details: {} };
	return { kind: 'success' };
}

/** Server-clock execution time from the status message timestamps, when present. */
export function executionMsFromHistory(entry: HistoryEntry): number | undefined {
	const list = messages(entry);
	const start = list.find((m) => m[0] === 'execution_start')?.[1]?.timestamp;
	const end = list.find((m) => m[0] === 'execution_success' || m[0] === 'execution_error' || m[0] === 'execution_interrupted')?.[1]
		?.timestamp;
	if (typeof start !== 'number' || typeof end !== 'number' || end < start) return undefined;
	return end - start;
}

/** The nodes the run took from the server's cache (its `execution_cached` message). */
export function cachedNodes(entry: HistoryEntry): string[] {
	const nodes = messages(entry).find((m) => m[0] === 'execution_cached')?.[1]?.nodes;
	return Array.isArray(nodes) ? nodes.map(String) : [];
}

/** True when every output node that ran was served from cache (no new files written). */
export function wasFullyCached(entry: HistoryEntry): boolean {
	const cached = new Set(cachedNodes(entry));
	if (cached.size === 0) return false;
	const tuple = entry.prompt;
	const outputsToExecute = Array.isArray(tuple) && Array.isArray(tuple[4]) ? tuple[4].map(String) : Object.keys(entry.outputs ?? {});
	return outputsToExecute.length > 0 && outputsToExecute.every((id) => cached.has(id));
}

export function describeFailure(promptId: string, details: FailureDetails, interrupted: boolean): string {
	const where = details.nodeId ? `node ${details.nodeId}${details.nodeType ? ` (${details.nodeType})` : ''}` : undefined;
	if (interrupted) return `ComfyUI prompt ${promptId} was interrupted${where ? ` at ${where}` : ''}.`;
	const what = [details.exceptionType, details.exceptionMessage?.trim()].filter(Boolean).join(': ');
	return `ComfyUI prompt ${promptId} failed${where ? ` in ${where}` : ''}${what ? `: ${what}` : ''}.`;
}
