/**
 * What a failed attempt means for its scene and its server (pure): settle the scene, leave the
 * server out for it, or put it back in the queue after a delay — in the manner of a retry policy
 * beside a circuit breaker, decided from the error and the scene's history alone.
 *
 * - Cancelled (the execution was stopped): the scene settles as cancelled.
 * - Moved (its server stopped answering before it started there): requeued at once, no attempt used.
 * - Server-specific (a missing model or node class there, refused credentials): that server is left
 *   out for the scene, which goes elsewhere at once, or fails when no server is left.
 * - The workflow's own fault (invalid graph, a node exception that is not the machine's): settles.
 * - Transient (the server's fault): retried; a server that has not failed the scene may take it at
 *   once, else after a backoff (or the server's Retry-After); it settles after Max Attempts or Total
 *   Timeout. A refused connection before anything was queued uses no attempt while another server
 *   answers.
 */
import { backoffDelay, type BackoffOptions } from '../util/backoff';
import { CancelledError, ComfyUiError, ExecutionError, IncapableServerError, InvalidWorkflowError, TransientServerError } from '../comfyui/errors';
import { MODEL_INPUTS } from '../comfyui/workflow';
import { candidateServers, usesAnAttempt, type ServerAdmission } from './planning/candidates';
import type { AttemptOutcomeKind } from './scene';
import type { OutcomeKind } from './store/HealthStore';

export interface FailedAttempt {
	error: ComfyUiError;
	serverId: string;
	serverUrl: string;
	/** The connection was refused before the server accepted anything. */
	refusedBeforeQueued: boolean;
	/** The execution was cancelled while the attempt ran. */
	cancelled: boolean;
	/** The scheduler gave the attempt up without waiting for its server, and why. */
	abandoned?: { kind: 'moved' | 'failed'; reason: string };
}

export interface SceneHistory {
	/** Servers that cannot run the scene. */
	incapable: ReadonlySet<string>;
	/** Servers that failed it transiently. */
	failedOn: ReadonlySet<string>;
	/** Attempts that counted as transient failures before this one. */
	transientTries: number;
	maxAttempts: number;
	/** Its Total Timeout has passed since it first started. */
	overTime: boolean;
}

export type Verdict = {
	/** How the attempt is recorded in the scene's history. */
	record: AttemptOutcomeKind;
	/** What it counts as for the server in the shared store (breaker, last error). */
	store: OutcomeKind;
	/** The error the scene reports when it settles. */
	error: ComfyUiError;
	/** Why, for the attempt's record (not yet redacted). */
	reason: string;
	/** The server leaves the scene's candidates: it cannot run it, or it failed it. */
	exclude?: 'incapable' | 'failedOn';
	/** The server refused the connection: news for every scene on it. */
	refused?: boolean;
} & ({ next: 'settle' } | { next: 'requeue'; delayMs: number; retry: boolean });

export function decideFailure(attempt: FailedAttempt, scene: SceneHistory, servers: readonly ServerAdmission[], backoff: BackoffOptions): Verdict {
	const { error, serverId } = attempt;
	if (error instanceof CancelledError || attempt.cancelled) {
		return { record: 'cancelled', store: 'cancelled', error: new CancelledError('The execution was cancelled', attempt.serverUrl), reason: 'the execution was cancelled', next: 'settle' };
	}
	if (attempt.abandoned?.kind === 'moved') {
		const moved = new TransientServerError(attempt.abandoned.reason, 'unresponsive', attempt.serverUrl);
		return { record: 'moved', store: 'cancelled', error: moved, reason: moved.message, next: 'requeue', delayMs: 0, retry: false };
	}
	if (isServerSpecific(error)) {
		const incapable = new Set([...scene.incapable, serverId]);
		const left = candidateServers(servers, { incapable, failedOn: scene.failedOn });
		const none = left.length === 0 || incapable.size >= servers.length;
		return { record: 'incapable', store: 'workflow', error, reason: error.message, exclude: 'incapable', ...(none ? { next: 'settle' } : { next: 'requeue', delayMs: 0, retry: false }) };
	}
	if (error instanceof InvalidWorkflowError || (error instanceof ExecutionError && !isServerFault(error))) {
		return { record: error instanceof InvalidWorkflowError ? 'invalid' : 'execution', store: 'workflow', error, reason: error.message, next: 'settle' };
	}
	const transient = attempt.abandoned ? new TransientServerError(attempt.abandoned.reason, 'unresponsive', attempt.serverUrl) : error;
	const refused = transient instanceof TransientServerError && transient.reason === 'refused';
	const failedOn = new Set([...scene.failedOn, serverId]);
	const others = candidateServers(servers, { incapable: scene.incapable, failedOn });
	const counts = usesAnAttempt(attempt, others.some((s) => s.id !== serverId && !s.unreachable));
	const tries = scene.transientTries + (counts ? 1 : 0);
	const verdict = { record: counts ? 'transient' : 'unreachable', store: 'transient', error: transient, reason: transient.message, exclude: 'failedOn', refused } as const;
	if (tries >= scene.maxAttempts || scene.overTime) return { ...verdict, next: 'settle' };
	// The backoff (and Retry-After) spare the servers that failed; one that has not failed the scene may take it at once.
	const untried = others.some((s) => !failedOn.has(s.id));
	const imposed = transient instanceof TransientServerError ? transient.retryAfterMs : undefined;
	const delayMs = untried ? 0 : Math.max(backoffDelay(Math.max(0, tries - 1), backoff), imposed ?? 0);
	return { ...verdict, next: 'requeue', delayMs, retry: true };
}

/** The server cannot run this scene (a missing model file, refused credentials); another server may. */
export function isServerSpecific(error: ComfyUiError): boolean {
	if (error instanceof IncapableServerError) return true;
	// The server refused our credentials: retrying it cannot help and it is not unhealthy; others may accept theirs.
	if (error instanceof TransientServerError && (error.status === 401 || error.status === 403)) return true;
	if (!(error instanceof InvalidWorkflowError) || error.nodeErrors.length === 0) return false;
	return error.nodeErrors.every((e) => e.type === 'value_not_in_list' && e.inputName !== undefined && MODEL_INPUTS.has(e.inputName));
}

/** A node error that says more about the machine than the workflow (out of memory, interrupted by someone else). */
export function isServerFault(error: ExecutionError): boolean {
	if (error.details.interrupted) return true;
	const text = `${error.details.exceptionType ?? ''} ${error.details.exceptionMessage ?? ''}`;
	return /out of memory|OutOfMemory|CUDA error|device-side assert/i.test(text);
}
