/**
 * Deletes many objects (S3) or images (Cloudflare Images) through one concurrency limit, each request
 * under the storage retry policy. Each failure stays with its item.
 */
import pLimit from 'p-limit';
import type { CloudflareImagesClient } from './cloudflareImages';
import { normalizeKey } from './keyTemplate';
import { withRetries, type StorageRetryOptions } from './retryPolicy';
import type { S3Storage } from './s3';

export type DeleteTarget = { provider: 's3'; storage: S3Storage } | { provider: 'cloudflareImages'; client: CloudflareImagesClient };

export interface DeleteSpec {
	itemIndex: number;
	/** Object key (S3) or image ID (Cloudflare Images), as the author gave it. */
	key: string;
}

export type DeleteResult =
	| { itemIndex: number; ok: true; key: string; deleted: boolean }
	| { itemIndex: number; ok: false; error: unknown };

/** Deletes in flight at once by default. */
export const DEFAULT_DELETE_CONCURRENCY = 8;

export interface RemoverOptions extends Omit<StorageRetryOptions, 'where'> {
	concurrency?: number;
}

/**
 * One result per spec, in order. `deleted` is false only when Cloudflare answers that the image does
 * not exist (S3 deletes are idempotent and say nothing about it).
 */
export async function deleteAll(specs: readonly DeleteSpec[], target: DeleteTarget, options: RemoverOptions = {}): Promise<DeleteResult[]> {
	const limit = pLimit(Math.max(1, Math.floor(options.concurrency ?? DEFAULT_DELETE_CONCURRENCY)));
	return Promise.all(
		specs.map((spec) =>
			limit(async (): Promise<DeleteResult> => {
				try {
					const key = keyOf(spec.key, target.provider);
					const retries = { ...options, where: `Item ${spec.itemIndex}, key "${key}"` };
					const deleted = await withRetries(() => remove(target, key, options.signal), retries);
					return { itemIndex: spec.itemIndex, ok: true, key, deleted };
				} catch (error) {
					return { itemIndex: spec.itemIndex, ok: false, error };
				}
			}),
		),
	);
}

async function remove(target: DeleteTarget, key: string, signal?: AbortSignal): Promise<boolean> {
	if (target.provider === 'cloudflareImages') return target.client.delete(key, signal);
	await target.storage.delete(key, signal);
	return true;
}

function keyOf(raw: string, provider: DeleteTarget['provider']): string {
	if (provider === 's3') return normalizeKey(raw);
	const id = raw.trim();
	if (!id) throw new Error('The image ID is empty');
	return id;
}
