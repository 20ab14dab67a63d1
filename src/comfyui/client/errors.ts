/** Errors only this client raises, built on the shared classes of `../errors`. */
import { TransientServerError, type TransientReason } from '../errors';
import type { FileRef } from './types';

/**
 * `/prompt` was sent but no answer came back: the server may or may not have queued it. The prompt
 * id was ours, so `client.lookup(promptId)` tells which.
 */
export class AmbiguousSubmitError extends TransientServerError {
	constructor(
		message: string,
		readonly promptId: string,
		readonly networkReason: TransientReason,
		server?: string,
	) {
		super(message, 'ambiguous-submit', server);
	}
}

/** A download was larger than the caller allowed. */
export class OutputTooLargeError extends Error {
	constructor(
		readonly file: FileRef,
		readonly maxBytes: number,
		server?: string,
	) {
		super(
			`The output file "${file.filename}"${server ? ` on ${server}` : ''} is larger than the allowed ${maxBytes} bytes; raise the size limit or make the workflow produce smaller files.`,
		);
		this.name = 'OutputTooLargeError';
	}
}
