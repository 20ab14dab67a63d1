/** The storage engine from the node's credential: S3-compatible storage or Cloudflare Images, its logger and its secrets. */
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type IExecuteFunctions,
} from 'n8n-workflow';
import { CloudflareImagesApi } from '../../../credentials/CloudflareImagesApi.credentials';
import { S3CompatibleApi } from '../../../credentials/S3CompatibleApi.credentials';
import { redact } from '../../../src/util';
import {
	CloudflareImagesClient,
	S3Storage,
	isPresetName,
	type ChecksumMode,
	type CloudflareImagesConfig,
	type S3StorageConfig,
	type StorageLogger,
} from '../../../src/storage';

export type Provider = 's3' | 'cloudflareImages';

/** What an operation works with: the provider's client, built once per run by the router, and the node's logger. */
export type StorageEngine = ({ provider: 's3'; storage: S3Storage } | { provider: 'cloudflareImages'; client: CloudflareImagesClient }) & {
	log: StorageLogger;
};

/** Settings of the engine an operation asks for (the Upload options that configure the client). */
export interface EngineSettings {
	s3?: Partial<S3StorageConfig>;
	cloudflare?: Partial<CloudflareImagesConfig>;
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

/** The credential of `provider`, as n8n decrypts it. */
export function providerCredential(ctx: IExecuteFunctions, provider: Provider): Promise<ICredentialDataDecryptedObject> {
	return ctx.getCredentials(CREDENTIAL_TYPES[provider].name);
}

/** Builds the client of `provider` (S3: for `bucket`, or the credential's default bucket). */
export function createEngine(
	ctx: IExecuteFunctions,
	provider: Provider,
	credential: ICredentialDataDecryptedObject,
	bucket: string,
	settings: EngineSettings = {},
): StorageEngine {
	const log = nodeLogger(ctx, secretsIn(provider, credential));
	if (provider === 's3') {
		try {
			return { provider, storage: new S3Storage(s3ConfigFromCredential(credential, bucket, settings.s3)), log };
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: 'Check the S3 Compatible credential and the Bucket parameter.' });
		}
	}
	try {
		return { provider, client: new CloudflareImagesClient(cloudflareConfigFromCredential(credential, { log, ...settings.cloudflare })), log };
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: 'Check the Cloudflare Images credential.' });
	}
}

export async function closeEngine(engine: StorageEngine): Promise<void> {
	if (engine.provider === 's3') engine.storage.destroy();
	else await engine.client.close();
}

/** n8n's logger for the engine's lines, prefixed with the node's name, with the credential's secrets taken out. */
function nodeLogger(ctx: IExecuteFunctions, secrets: readonly string[]): StorageLogger {
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
