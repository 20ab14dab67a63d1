/**
 * Builds the addresses of Cloudflare Images: image IDs encoded for API paths and delivery URLs, the
 * account hash read from variant URLs, delivery URLs of a variant (on imagedelivery.net or a custom
 * domain) and signed delivery URLs of private images.
 */
import { createHmac } from 'crypto';
import { StorageError } from '../errors';

/** Account hash from a variant URL (`imagedelivery.net/<hash>/...` or `/cdn-cgi/imagedelivery/<hash>/...`). */
export function accountHashFromVariants(variants: readonly string[]): string | undefined {
	for (const url of variants) {
		const match = /imagedelivery\.net\/([^/]+)\//.exec(url) ?? /\/cdn-cgi\/imagedelivery\/([^/]+)\//.exec(url);
		if (match) return match[1];
	}
	return undefined;
}

/** Encodes an image ID for a delivery URL, keeping `/` between segments (so `%` becomes `%25`). */
export function encodeImageId(id: string): string {
	return id.split('/').map(encodeURIComponent).join('/');
}

/**
 * `{image_id}` in an API path: one segment, fully URL-encoded — Cloudflare requires it ("must be
 * fully URL encoded", delete-images docs) and its SDK sends `/` as `%2F`. Unencoded, `renders/x`
 * would be another route and the image would never be found.
 */
export function encodeApiImageId(id: string): string {
	if (id === '' || id === '.' || id === '..') {
		throw new StorageError(`The image ID "${id}" cannot name an image: give the ID an upload returned`, { provider: 'cloudflareImages', code: 'InvalidId', key: id });
	}
	return encodeURIComponent(id);
}

/** Flexible variants (`w=400,sharpen=3`) as opposed to named ones (`public`). */
export function isFlexibleVariant(variant: string): boolean {
	return variant.includes('=');
}

/**
 * Signs a delivery URL of a private image as Cloudflare defines it in "Serve private images"
 * (developers.cloudflare.com/images/optimization/hosted-images/serve-private-images/): `exp` (Unix
 * seconds) joins the query, then `sig` = hex HMAC-SHA256 of `pathname + "?" + query`, keyed with the
 * UTF-8 bytes of the Images signing key.
 */
export function signDeliveryUrl(url: string, signingKey: string, expiresAt: number): string {
	const signed = new URL(url);
	signed.searchParams.delete('sig');
	signed.searchParams.set('exp', String(Math.floor(expiresAt)));
	const sig = createHmac('sha256', signingKey).update(`${signed.pathname}?${signed.searchParams.toString()}`).digest('hex');
	signed.searchParams.set('sig', sig);
	return signed.toString();
}

/** Why a URL cannot be signed: the key is missing. `option` names the node setting that asked for it. */
export function signingKeyMissing(option: string): string {
	return `${option} needs the URL Signing Key of the Cloudflare Images credential, which is empty: copy a key from Images → Keys in the Cloudflare dashboard into the credential's "URL Signing Key" field, or turn ${option} off`;
}

/** Delivery URL of one variant, on imagedelivery.net or on a custom domain of the same account. */
export function buildDeliveryUrl(input: { accountHash: string; id: string; variant: string; deliveryDomain?: string }): string {
	const path = `${encodeURIComponent(input.accountHash)}/${encodeImageId(input.id)}/${input.variant.split('/').map(encodeURIComponent).join('/').replace(/%3D/g, '=').replace(/%2C/g, ',')}`;
	const domain = input.deliveryDomain?.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
	return domain ? `https://${domain}/cdn-cgi/imagedelivery/${path}` : `https://imagedelivery.net/${path}`;
}
