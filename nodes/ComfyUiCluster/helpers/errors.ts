/**
 * From failures to n8n errors that name the item, the field or the server and say what to do: bad
 * parameters, failed scenes, output files n8n could not store, and a server list that does not parse.
 */
import { NodeApiError, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';
import { ComfyUiError } from '../../../src/comfyui';
import { SceneFailedError } from '../../../src/cluster';
import { ServerSpecError } from '../../../src/cluster';
import { redact } from '../../../src/util';
import { ParameterError } from './params';

/** Any failure while reading item `i` as a NodeOperationError naming the item and the field. */
export function asItemError(ctx: IExecuteFunctions, error: unknown, i: number, field?: string): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const message = error instanceof Error ? error.message : String(error);
	return new NodeOperationError(ctx.getNode(), field ? `Item ${i}, ${field}: ${message}` : `Item ${i}: ${message}`, {
		itemIndex: i,
		description: field ? fixFor(field) : undefined,
	});
}

/** An option of item `i` that does not validate (or whose expression fails), naming the item and the option. */
export function optionError(ctx: IExecuteFunctions, error: unknown, i: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const message = error instanceof Error ? error.message : String(error);
	// A ParameterError names the option already ("Options → priority: ...").
	return new NodeOperationError(ctx.getNode(), `Item ${i}, ${error instanceof ParameterError ? message : `Options: ${message}`}`, {
		itemIndex: i,
		description: fixFor('Options'),
	});
}

function fixFor(field: string): string {
	switch (field) {
		case 'Workflow (JSON)':
			return 'Check the workflow JSON of this item. In ComfyUI, "Export (API)" gives the API format; the UI format ("Save") is converted with the servers\' node catalogue.';
		case 'Placeholders':
			return 'Each placeholder needs a name that appears as {{name}} inside a string input of the workflow.';
		case 'Overrides':
			return 'Each override names a node (ID or title) and one of its inputs; the message lists what exists.';
		case 'Input Images':
			return 'Each input image needs the LoadImage node (ID or title) and a binary property of the item or a reachable URL.';
		case 'Options':
			return 'Check the option named in the message; an expression in an option is evaluated for each item.';
		default:
			return 'Check the parameter named in the message.';
	}
}

/** n8n could not take an output file into its binary data (memory mode and a file too large for it, a full disk). */
export function storeFailed(ctx: IExecuteFunctions, error: unknown, itemIndex: number, what: string): NodeOperationError {
	const message = error instanceof Error ? error.message : String(error);
	const inMemory = /string longer than|Invalid string length|Array buffer allocation failed|ERR_STRING_TOO_LONG/i.test(message);
	return new NodeOperationError(ctx.getNode(), `Item ${itemIndex}: n8n could not store the output file ${what}: ${message}`, {
		itemIndex,
		description: inMemory
			? 'n8n keeps binary data in memory here, which cannot hold a file this large: set N8N_DEFAULT_BINARY_DATA_MODE=filesystem (or s3), or lower Max Output Size (MB) so such files fail early.'
			: 'Check that n8n\'s binary data folder (N8N_BINARY_DATA_STORAGE_PATH) and the temporary folder have room for the file.',
	});
}

/** The error a failed scene raises when the node does not continue on fail. */
export function sceneError(ctx: IExecuteFunctions, error: SceneFailedError | ComfyUiError | Error, itemIndex: number, secrets: readonly string[]): NodeOperationError {
	const message = redact(error.message, secrets);
	const description =
		error instanceof SceneFailedError
			? describeCause(error.cause)
			: 'See the message for what failed; other scenes of this execution were cancelled on their servers.';
	return new NodeOperationError(ctx.getNode(), message, { itemIndex, description });
}

export function describeCause(cause: ComfyUiError): string {
	switch (cause.kind) {
		case 'invalid':
			return 'ComfyUI rejected the workflow. Fix the inputs named in the message (or the overrides that set them) and run again.';
		case 'incapable':
			return 'Install the missing node classes or model files on at least one server, or choose a workflow the servers can run.';
		case 'execution':
			return 'The workflow ran and a node raised an error on the server; the message carries ComfyUI\'s exception.';
		case 'cancelled':
			return 'The execution was cancelled; the scene was removed from its server.';
		default:
			return 'Every attempt failed on a server (unreachable, crashed, hung or restarted). Check the servers in the Cluster Status operation, or raise Max Attempts.';
	}
}

/** Any error that leaves the node, as n8n's: a server list that does not parse names the credential field and the fix. */
export function nodeError(ctx: IExecuteFunctions, error: unknown): NodeOperationError | NodeApiError {
	if (error instanceof ServerSpecError) {
		return new NodeOperationError(ctx.getNode(), `ComfyUI Cluster credential, Servers: ${error.message}`, {
			description: 'Fix the server list in the ComfyUI Cluster API credential: one URL per line, e.g. http://10.0.0.5:8188 weight=2 max=2',
		});
	}
	return error instanceof NodeOperationError || error instanceof NodeApiError ? error : new NodeOperationError(ctx.getNode(), error as Error);
}
