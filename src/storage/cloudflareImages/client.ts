/**
 * `CloudflareImagesClient`: what this package does with Cloudflare Images through one API token.
 * Uploads with pre-checks (`precheck.ts`), 5409 "already exists" as success, gets and deletes, and
 * delivery URLs, signed or not (`urls.ts`); every request goes through `transport.ts`, which keeps
 * the token's request budget and its batch tokens.
 */
import { FormData } from 'undici';
import { StorageError } from '../errors';
import type { StorageLogger } from '../types';
import { precheckCloudflareUpload } from './precheck';
import { CloudflareTransport, isImageNotFound } from './transport';
import type { CloudflareImage, CloudflareImagesConfig, CloudflareUploadRequest, Envelope } from './types';
import { accountHashFromVariants, buildDeliveryUrl, encodeApiImageId, signDeliveryUrl, signingKeyMissing } from './urls';

export class CloudflareImagesClient {
	private readonly transport: CloudflareTransport;
	private readonly log: StorageLogger;
	private accountHash?: string;

	constructor(private readonly config: CloudflareImagesConfig) {
		if (!config.accountId?.trim()) throw new Error('The Cloudflare account ID is empty');
		if (!config.apiToken?.trim()) throw new Error('The Cloudflare API token is empty');
		this.log = config.log ?? (() => undefined);
		this.transport = new CloudflareTransport(config, this.log);
		this.accountHash = config.accountHash?.trim() || undefined;
	}

	get account(): string {
		return this.config.accountId;
	}

	get knownAccountHash(): string | undefined {
		return this.accountHash;
	}

	/** Whether the credential holds a signing key for private images' delivery URLs. */
	get canSign(): boolean {
		return !!this.config.signingKey?.trim();
	}

	/** Uploads one image; a taken custom ID returns the stored image with `existed: true`. */
	async upload(request: CloudflareUploadRequest, signal?: AbortSignal): Promise<CloudflareImage> {
		precheckCloudflareUpload(request);
		const form = new FormData();
		form.append('file', new Blob([request.data], { type: request.contentType }), request.fileName || 'image');
		// The custom ID travels as a form field, as is: only API paths need it encoded.
		if (request.id !== undefined) form.append('id', request.id);
		if (request.metadata !== undefined) form.append('metadata', JSON.stringify(request.metadata));
		if (request.requireSignedURLs !== undefined) form.append('requireSignedURLs', String(request.requireSignedURLs));
		try {
			const envelope = await this.transport.call('POST', '', { body: form, signal, key: request.id });
			return this.toImage(envelope, false);
		} catch (error) {
			if (request.id !== undefined && error instanceof StorageError && (error.code === '5409' || error.httpStatus === 409)) {
				this.log('info', `Cloudflare Images already has "${request.id}" (5409); returning the stored image instead of uploading again`);
				const existing = await this.get(request.id, signal);
				if (existing) return { ...existing, existed: true };
			}
			throw error;
		}
	}

	/** The stored image, or undefined when Cloudflare answers that it does not know the ID (5404). */
	async get(id: string, signal?: AbortSignal): Promise<CloudflareImage | undefined> {
		try {
			return this.toImage(await this.transport.call('GET', `/${encodeApiImageId(id)}`, { signal, key: id }), true);
		} catch (error) {
			if (isImageNotFound(error)) return undefined;
			throw error;
		}
	}

	/** Deletes an image; returns false when Cloudflare answers that it did not exist (5404). */
	async delete(id: string, signal?: AbortSignal): Promise<boolean> {
		try {
			await this.transport.call('DELETE', `/${encodeApiImageId(id)}`, { signal, key: id });
			return true;
		} catch (error) {
			if (isImageNotFound(error)) return false;
			throw error;
		}
	}

	/** A cheap authenticated call for the credential test. */
	async check(signal?: AbortSignal): Promise<void> {
		await this.transport.api('GET', '/stats', { signal });
	}

	/**
	 * Delivery URL of `variant`; needs the account hash (configured, or seen in a variant URL). With
	 * `signedForSeconds` it is signed (see `signDeliveryUrl`) on imagedelivery.net, the host
	 * Cloudflare documents signing for, even when a delivery domain is set.
	 */
	deliveryUrl(id: string, variant: string, variants: readonly string[] = [], signedForSeconds?: number): string | undefined {
		if (!this.accountHash) this.accountHash = accountHashFromVariants(variants);
		if (!this.accountHash) return undefined;
		if (signedForSeconds === undefined) return buildDeliveryUrl({ accountHash: this.accountHash, id, variant, deliveryDomain: this.config.deliveryDomain });
		return this.sign(buildDeliveryUrl({ accountHash: this.accountHash, id, variant }), signedForSeconds);
	}

	/** Signs a delivery URL for `seconds`; throws when the credential has no signing key. */
	sign(url: string, seconds: number): string {
		const key = this.config.signingKey?.trim();
		if (!key) throw new StorageError(signingKeyMissing('Require Signed URLs'), { provider: 'cloudflareImages', code: 'SigningKeyMissing' });
		if (!(seconds >= 1)) throw new StorageError(`A signed URL must be valid for at least 1 second; got ${seconds}`, { provider: 'cloudflareImages', code: 'InvalidExpiry' });
		return signDeliveryUrl(url, key, Date.now() / 1000 + seconds);
	}

	close(): Promise<void> {
		return this.transport.close();
	}

	private toImage(envelope: Envelope, existed: boolean): CloudflareImage {
		const result = envelope.result ?? {};
		if (!result.id) throw new StorageError('Cloudflare Images answered without an image ID', { provider: 'cloudflareImages' });
		const variants = Array.isArray(result.variants) ? result.variants : [];
		if (!this.accountHash) this.accountHash = accountHashFromVariants(variants);
		return {
			id: result.id,
			filename: result.filename,
			uploaded: result.uploaded,
			requireSignedURLs: result.requireSignedURLs,
			variants,
			// The API schema names it `meta`; some documentation examples show `metadata`.
			metadata: result.meta ?? result.metadata,
			existed,
		};
	}
}
