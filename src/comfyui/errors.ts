/**
 * The error classes that decide everything after a failure (DESIGN.md, "How a scene travels"):
 * - InvalidWorkflowError: the server rejected the graph (HTTP 400 with node_errors) → fail the scene at once.
 * - IncapableServerError: this server lacks a node class or model → exclude the server for this scene.
 * - TransientServerError: refused, reset, timeout, 5xx, websocket loss, restart that lost the prompt
 *   → count against the server's breaker and try another server.
 * - ExecutionError: the workflow ran and a node raised → fail the scene (not the server's fault).
 * - CancelledError: our caller aborted.
 * Messages are written for a workflow author and never contain credentials.
 */

export type ComfyUiErrorKind = 'invalid' | 'incapable' | 'transient' | 'execution' | 'cancelled';

export abstract class ComfyUiError extends Error {
	abstract readonly kind: ComfyUiErrorKind;
	/** Display address of the server involved (never carries credentials), when known. */
	server?: string;

	protected constructor(message: string, server?: string) {
		super(message);
		this.name = new.target.name;
		this.server = server;
	}
}

/** One validation error of one node, as ComfyUI reports it in `node_errors`. */
export interface NodeValidationError {
	nodeId: string;
	classType?: string;
	type: string;
	message: string;
	details?: string;
	inputName?: string;
}

export class InvalidWorkflowError extends ComfyUiError {
	readonly kind = 'invalid' as const;
	constructor(
		message: string,
		readonly nodeErrors: NodeValidationError[] = [],
		server?: string,
		/** ComfyUI's top-level `error.type`, e.g. `prompt_outputs_failed_validation`. */
		readonly errorType?: string,
	) {
		super(message, server);
	}
}

/** What a server lacks to run a workflow. */
export interface MissingCapabilities {
	nodeClasses: string[];
	/** Combo values the server does not offer, e.g. a checkpoint file. */
	values: Array<{ nodeId: string; classType: string; input: string; value: string }>;
}

export class IncapableServerError extends ComfyUiError {
	readonly kind = 'incapable' as const;
	constructor(
		message: string,
		readonly missing: MissingCapabilities,
		server?: string,
	) {
		super(message, server);
	}
}

export type TransientReason =
	| 'refused'
	| 'reset'
	| 'timeout'
	| 'http-5xx'
	| 'websocket'
	| 'lost'
	| 'queue-wait-timeout'
	| 'inactivity-timeout'
	| 'total-timeout'
	| 'unresponsive'
	| 'ambiguous-submit'
	| 'unexpected-response'
	/** An answer larger than any ComfyUI sends (see MAX_ANSWER_BYTES). */
	| 'answer-too-large'
	| 'network';

export class TransientServerError extends ComfyUiError {
	readonly kind = 'transient' as const;
	constructor(
		message: string,
		readonly reason: TransientReason,
		server?: string,
		/** HTTP status when the failure was an HTTP answer. */
		readonly status?: number,
		/** Server-imposed wait from `Retry-After`, in ms. */
		readonly retryAfterMs?: number,
	) {
		super(message, server);
	}
}

export class ExecutionError extends ComfyUiError {
	readonly kind = 'execution' as const;
	constructor(
		message: string,
		readonly details: {
			promptId: string;
			nodeId?: string;
			nodeType?: string;
			exceptionMessage?: string;
			exceptionType?: string;
			interrupted?: boolean;
		},
		server?: string,
	) {
		super(message, server);
	}
}

export class CancelledError extends ComfyUiError {
	readonly kind = 'cancelled' as const;
	constructor(message = 'Cancelled', server?: string) {
		super(message, server);
	}
}

export function isComfyUiError(error: unknown): error is ComfyUiError {
	return error instanceof ComfyUiError;
}
