/**
 * From failures to n8n errors that name the item, the field or the server and say what to do: bad
 * parameters, failed scenes, output files n8n could not store, and a server list that does not parse.
 */
import { NodeApiError, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';
import { ComfyUiError } from '../../../src/comfyui';
import { SceneFailedError } from '../../../src/cluster';
import { ServerSpecError, type ServerSpec } from '../../../src/cluster';
import { redact } from '../../../src/util';
import { keepMessage } from '../../shared/keepMessage';
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

/** The error a failed scene raises when the node does not continue on fail; `servers` are the cluster's, in the credential's order. */
export function sceneError(
	ctx: IExecuteFunctions,
	error: SceneFailedError | ComfyUiError | Error,
	itemIndex: number,
	secrets: readonly string[],
	servers: ReadonlyArray<Pick<ServerSpec, 'id' | 'url'>>,
): NodeOperationError {
	const details = redact(error.message, secrets);
	const unreachable = error instanceof SceneFailedError ? unreachableHeadline(error, servers) : undefined;
	if (unreachable) {
		const description = `Start ComfyUI on ${servers.length === 1 ? 'it' : 'them'}, or fix the addresses in the ComfyUI Servers credential (its test probes every server). ${details}`;
		return keepMessage(new NodeOperationError(ctx.getNode(), unreachable, { itemIndex, description }), unreachable);
	}
	const description =
		error instanceof SceneFailedError
			? describeCause(error.cause)
			: 'See the message for what failed; other scenes of this execution were cancelled on their servers.';
	return keepMessage(new NodeOperationError(ctx.getNode(), details, { itemIndex, description }), details);
}

/**
 * The headline of a scene no server could take because every attempt failed to connect: "Scene 0
 * failed: All 3 ComfyUI servers refused the connection: 10.0.0.11:8188, …", "… The ComfyUI server
 * 10.0.0.11:8188 refused the connection", or "2 of 3 …" when some were not tried (Max Attempts, tags).
 * Undefined when any attempt reached a server (an HTTP error, a failed execution): the scene's own
 * message says more then.
 */
export function unreachableHeadline(error: SceneFailedError, servers: ReadonlyArray<Pick<ServerSpec, 'id' | 'url'>>): string | undefined {
	const tried = error.attempts.filter((a) => a.outcome !== 'moved');
	if (tried.length === 0 || !tried.every((a) => CONNECT_FAILURE.test(a.reason || error.cause.message))) return undefined;
	const failed = servers.filter((server) => tried.some((a) => a.serverId === server.id));
	if (failed.length === 0) return undefined;
	const verb = tried.every((a) => REFUSED.test(a.reason || error.cause.message)) ? 'refused the connection' : 'could not be reached';
	const list = failed.map((server) => address(server.url)).join(', ');
	const scene = `Scene ${error.index} failed: `;
	if (servers.length === 1) return `${scene}The ComfyUI server ${list} ${verb}`;
	if (failed.length === servers.length) return `${scene}All ${servers.length} ComfyUI servers ${verb}: ${list}`;
	return `${scene}${failed.length} of ${servers.length} ComfyUI servers ${verb}: ${list} (the others were not tried)`;
}

// How the engine words a server it could not connect to (src/comfyui's transport, the refusal memory of attempts).
const REFUSED = /refused the connection|ECONNREFUSED/;
const CONNECT_FAILURE = /refused the connection|could not be reached|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;

/** A server's address as people write it: host and port (and path), without the scheme. */
function address(server: string): string {
	return server.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/$/, '');
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
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	return error instanceof Error && error.message ? keepMessage(new NodeOperationError(ctx.getNode(), error), error.message) : new NodeOperationError(ctx.getNode(), error as Error);
}
