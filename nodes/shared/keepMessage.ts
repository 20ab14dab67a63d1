/**
 * n8n rewrites an error message that mentions a network code (ECONNREFUSED, ETIMEDOUT, ECONNRESET, …)
 * into its generic "The service refused the connection - perhaps it is offline" and keeps the original
 * among the details. The messages of these nodes say which server or provider failed and how, so the
 * message is put back once n8n's constructor has run.
 */
import type { NodeApiError, NodeOperationError } from 'n8n-workflow';

export function keepMessage<E extends NodeOperationError | NodeApiError>(error: E, message: string): E {
	error.message = message;
	error.messages = error.messages.filter((m) => m !== message);
	return error;
}
