/** Credential tests: S3 heads the default bucket (or lists buckets), a failure names the bucket; Cloudflare calls the cheap stats endpoint. */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { CloudflareImagesClient, S3Storage, StorageError } from '../../../src/storage';
import { redact } from '../../../src/util';
import { cloudflareConfigFromCredential, s3ConfigFromCredential, secretsIn } from '../helpers/engine';

function failure(error: unknown, secrets: readonly string[]): INodeCredentialTestResult {
	const message = error instanceof StorageError ? error.describe() : error instanceof Error ? error.message : String(error);
	return { status: 'Error', message: redact(message, secrets) };
}

export async function s3CompatibleApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const bucket = String(data.bucket ?? '').trim();
	let storage: S3Storage | undefined;
	try {
		storage = new S3Storage(s3ConfigFromCredential(data, bucket || 'credential-test', { maxSockets: 8 }));
		const signal = AbortSignal.timeout(15_000);
		if (bucket) {
			await storage.check(signal);
			return { status: 'OK', message: `Bucket "${bucket}" is reachable` };
		}
		const buckets = await storage.listBuckets(signal);
		return { status: 'OK', message: `Connected; ${buckets.length} bucket(s) visible` };
	} catch (error) {
		const failed = failure(error, secretsIn('s3', data));
		if (!bucket) return failed;
		if (error instanceof StorageError && (error.httpStatus === 404 || error.code === 'NoSuchBucket')) {
			return { status: 'Error', message: `Bucket "${bucket}" was not found (${failed.message}): check the Default Bucket, and the region or endpoint it lives at` };
		}
		return { status: 'Error', message: `Bucket "${bucket}": ${failed.message}` };
	} finally {
		storage?.destroy();
	}
}

export async function cloudflareImagesApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	let client: CloudflareImagesClient | undefined;
	try {
		client = new CloudflareImagesClient(cloudflareConfigFromCredential(credential.data ?? {}, { requestTimeoutMs: 15_000 }));
		await client.check();
		return { status: 'OK', message: 'Cloudflare Images answered' };
	} catch (error) {
		return failure(error, secretsIn('cloudflareImages', credential.data ?? {}));
	} finally {
		await client?.close();
	}
}
