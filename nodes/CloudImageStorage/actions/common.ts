/** Shared pieces of the Cloud Image Storage operations: parameters, engine construction, errors. */
import {
	NodeApiError,
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type IExecuteFunctions,
	type INodeProperties,
	type JsonObject,
} from 'n8n-workflow';
import { CloudflareImagesApi } from '../../../credentials/CloudflareImagesApi.credentials';
import { S3CompatibleApi } from '../../../credentials/S3CompatibleApi.credentials';
import { redact } from '../../../src/util/redact';
import {
	CloudflareImagesClient,
	S3Storage,
	StorageError,
	isPresetName,
	type ChecksumMode,
	type CloudflareImagesConfig,
	type S3StorageConfig,
	type StorageLogger,
} from '../../../src/storage';

export type Provider = 's3' | 'cloudflareImages';

export const s3Only = { provider: ['s3'] };
export const cfOnly = { provider: ['cloudflareImages'] };

export const bucketField: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	placeholder: 'my-images',
	description: 'Bucket name; empty = the credential\'s default bucket',
};

/** Builds the S3 engine from the credential (+ node bucket). */
/** Lifetime of presigned URLs, shown for the operation in `show` when the URL kind is presigned. */
export function presignExpiryField(show: Record<string, string[]>, description: string): INodeProperties {
	return {
		displayName: 'Expires In (Seconds)',
		name: 'presignExpiry',
		type: 'number',
		default: 3600,
		typeOptions: { minValue: 1, maxValue: 604800 },
		displayOptions: { show: { ...show, ...s3Only, urlKind: ['presigned'] } },
		description,
	};
}

export function s3ConfigFromCredential(credential: ICredentialDataDecryptedObject, bucket: string, extra: Partial<S3StorageConfig> = {}): S3StorageConfig {
	const preset = String(credential.preset ?? 'aws');
	if (!isPresetName(preset)) throw new Error(`Unknown S3 provider "${preset}" in the credential`);
	const style = String(credential.addressingStyle ?? 'preset');
	const checksum = String(credential.checksumMode ?? 'preset');
	return {
		preset,
		endpoint: String(credential.endpoint ?? '') || undefined,
		region: String(credential.region ?? '') || undefined,
		accountId: String(credential.accountId ?? '') || undefined,
		forcePathStyle: style === 'path' ? true : style === 'virtual' ? false : undefined,
		checksumMode: checksum === 'preset' ? undefined : (checksum as ChecksumMode),
		accessKeyId: String(credential.accessKeyId ?? ''),
		secretAccessKey: String(credential.secretAccessKey ?? ''),
		sessionToken: String(credential.sessionToken ?? '') || undefined,
		bucket: bucket.trim() || String(credential.bucket ?? ''),
		publicUrlBase: String(credential.publicUrlBase ?? '') || undefined,
		...extra,
	};
}

export function cloudflareConfigFromCredential(credential: ICredentialDataDecryptedObject, extra: Partial<CloudflareImagesConfig> = {}): CloudflareImagesConfig {
	return {
		accountId: String(credential.accountId ?? ''),
		apiToken: String(credential.apiToken ?? ''),
		signingKey: String(credential.signingSecretKey ?? '') || undefined,
		deliveryDomain: String(credential.deliveryDomain ?? '') || undefined,
		accountHash: String(credential.accountHash ?? '') || undefined,
		apiBaseUrl: String(credential.apiBaseUrl ?? '') || undefined,
		batchBaseUrl: String(credential.batchBaseUrl ?? '') || undefined,
		...extra,
	};
}

export async function createS3(ctx: IExecuteFunctions, bucket: string, extra: Partial<S3StorageConfig> = {}): Promise<S3Storage> {
	const credential = await ctx.getCredentials('s3CompatibleApi');
	try {
		return new S3Storage(s3ConfigFromCredential(credential, bucket, extra));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: 'Check the S3 Compatible credential and the Bucket parameter.' });
	}
}

export async function createCloudflare(ctx: IExecuteFunctions, extra: Partial<CloudflareImagesConfig> = {}): Promise<CloudflareImagesClient> {
	const credential = await ctx.getCredentials('cloudflareImagesApi');
	try {
		return new CloudflareImagesClient(cloudflareConfigFromCredential(credential, { log: nodeLogger(ctx, secretsIn('cloudflareImages', credential)), ...extra }));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: 'Check the Cloudflare Images credential.' });
	}
}

/** n8n's logger for the engine's lines, prefixed with the node's name, with the credential's secrets taken out. */
export function nodeLogger(ctx: IExecuteFunctions, secrets: readonly string[]): StorageLogger {
	const name = ctx.getNode().name;
	return (level, message) => ctx.logger[level](`[${name}] ${redact(message, secrets)}`);
}

const CREDENTIAL_TYPES: Record<Provider, ICredentialType> = { s3: new S3CompatibleApi(), cloudflareImages: new CloudflareImagesApi() };

/** A presigned URL carries the session token by design (`X-Amz-Security-Token`): it may be in the URLs returned. */
const CARRIED_BY_URLS = new Set(['sessionToken']);

/** The secrets of a provider's credential: its fields shown as passwords, so a new secret field is covered at once. */
export function secretsIn(provider: Provider, credential: ICredentialDataDecryptedObject, options: { inUrls?: boolean } = {}): string[] {
	return CREDENTIAL_TYPES[provider].properties
		.filter((p) => p.typeOptions?.password && !(options.inUrls && CARRIED_BY_URLS.has(p.name)))
		.map((p) => credential[p.name])
		.filter((v): v is string => typeof v === 'string' && v !== '');
}

/** The secrets of the credential `provider` uses: `all` for errors and logs, `outputs` for the items that carry URLs. */
export async function storageSecrets(ctx: IExecuteFunctions, provider: Provider): Promise<{ all: string[]; outputs: string[] }> {
	const credential = await ctx.getCredentials(CREDENTIAL_TYPES[provider].name);
	return { all: secretsIn(provider, credential), outputs: secretsIn(provider, credential, { inUrls: true }) };
}

/** Turns an engine error into the n8n error for item `itemIndex`: provider answers → NodeApiError. */
export function toNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof StorageError) {
		error.itemIndex ??= itemIndex;
		const message = error.describe();
		const description = hintFor(error);
		if (error.httpStatus !== undefined) {
			return new NodeApiError(ctx.getNode(), { message, code: error.code ?? '', httpCode: String(error.httpStatus) } as JsonObject, {
				message,
				description,
				httpCode: String(error.httpStatus),
				itemIndex,
			});
		}
		return new NodeOperationError(ctx.getNode(), message, { itemIndex, description });
	}
	return new NodeOperationError(ctx.getNode(), error instanceof Error ? error.message : String(error), { itemIndex });
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

/** Items × operation results → output items with pairedItem; errors thrown or kept per continueOnFail. */
export function itemError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): { json: JsonObject; pairedItem: { item: number } } {
	const nodeError = toNodeError(ctx, error, itemIndex);
	if (!ctx.continueOnFail()) throw nodeError;
	return { json: { error: nodeError.message, ...(nodeError.description ? { description: nodeError.description } : {}) }, pairedItem: { item: itemIndex } };
}
