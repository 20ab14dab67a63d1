/** Errors only this client raises, built on the shared classes of `../errors`. */
import { formatBytes } from '../../util/bytes';
import { ExecutionError, TransientServerError, type TransientReason } from '../errors';
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

/**
 * An output file is larger than the caller allows. The same file would be as large on any server, so
 * it is not the server's fault: it ends the scene like an execution error, without a retry elsewhere.
 */
export class OutputTooLargeError extends ExecutionError {
	constructor(
		readonly file: FileRef,
		readonly maxBytes: number,
		server?: string,
		/** The size the server declared (Content-Length), when it did. */
		readonly declaredBytes?: number,
	) {
		const name = file.subfolder ? `${file.subfolder}/${file.filename}` : file.filename;
		const size = declaredBytes !== undefined ? `${formatBytes(declaredBytes)}, ` : '';
		super(
			`The output file "${name}"${server ? ` on ${server}` : ''} is ${size}larger than the Max Output Size of ${formatBytes(maxBytes)}; raise Max Output Size (MB) or make the workflow write smaller files.`,
			{ promptId: '' },
			server,
		);
	}
}
