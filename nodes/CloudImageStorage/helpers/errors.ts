/** From engine errors to n8n's: a provider's answer becomes a NodeApiError, anything else a NodeOperationError; each with a hint. */
import { NodeApiError, NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type JsonObject } from 'n8n-workflow';
import { StorageError } from '../../../src/storage';
import { errorItem } from '../../shared/errorItem';
import { keepMessage } from '../../shared/keepMessage';

/** Turns an engine error into the n8n error for item `itemIndex`: provider answers → NodeApiError; its message as the engine wrote it. */
export function toNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof StorageError) {
		error.itemIndex ??= itemIndex;
		const message = error.describe();
		const description = hintFor(error);
		if (error.httpStatus !== undefined) {
			const apiError = new NodeApiError(ctx.getNode(), { message, code: error.code ?? '', httpCode: String(error.httpStatus) } as JsonObject, {
				message,
				description,
				httpCode: String(error.httpStatus),
				itemIndex,
			});
			return keepMessage(apiError, message);
		}
		return keepMessage(new NodeOperationError(ctx.getNode(), message, { itemIndex, description }), message);
	}
	const message = error instanceof Error ? error.message : String(error);
	return keepMessage(new NodeOperationError(ctx.getNode(), message, { itemIndex }), message);
}

function hintFor(error: StorageError): string | undefined {
	if (error.httpStatus === 401 || error.httpStatus === 403) return 'Check the credential\'s keys or token and its permissions on this bucket or account.';
	if (error.code === 'NoSuchBucket') return 'Check the bucket name and the region.';
	if (error.httpStatus === 429 || error.code === '971') return 'The provider is rate limiting: lower the concurrency or the rate, or use a batch token.';
	if (error.code === '5413' || error.httpStatus === 413 || error.code === 'ImageTooLarge') return 'The file is larger than the provider accepts (Cloudflare Images: 10 MB, 12,000 px per side, 100 megapixels): make it smaller or store it in S3-compatible storage.';
	if (error.code === '5415' || error.code === '5455') return 'Cloudflare Images takes PNG, JPEG, GIF, WebP, SVG and HEIC images only: convert the file or store it in S3-compatible storage.';
	if (error.code === 'RouteNotFound' || (error.httpStatus === 404 && error.code !== '5404')) return 'Check the API Base URL of the Cloudflare Images credential: it should be https://api.cloudflare.com/client/v4 (or a proxy of it).';
	if (error.code === 'SigningKeyMissing') return 'Add the URL Signing Key to the Cloudflare Images credential.';
	if (error.retryable) return `Gave up after ${error.attempts ?? 1} attempt(s); raise "Attempts" or try again later.`;
	return undefined;
}

/** The failure of item `itemIndex`: thrown as the node's error, or (continue on fail) its error item. */
export function itemError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): INodeExecutionData {
	const nodeError = toNodeError(ctx, error, itemIndex);
	if (!ctx.continueOnFail()) throw nodeError;
	return errorItem(nodeError, itemIndex);
}
