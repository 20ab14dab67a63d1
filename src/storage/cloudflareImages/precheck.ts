/**
 * Decides, before a request is spent, whether Cloudflare Images would refuse an upload: its format,
 * size, dimensions, metadata and custom ID against the hosted-image limits.
 */
import { isVideo, sniffContentType } from '../contentType';
import { StorageError } from '../errors';
import { countFrames, readImageDimensions } from '../imageSize';
import type { CloudflareUploadRequest } from './types';

// Hosted-image limits, from Cloudflare's "Limits and formats" (developers.cloudflare.com/images/get-started/limits/).
export const CF_MAX_BYTES = 10 * 1024 * 1024;
/** Longest side, for every format but WebP (and AVIF, refused here), which the limit excludes. */
export const CF_MAX_DIMENSION = 12_000;
/** Area of a still image, or of all frames of an animation together. */
export const CF_MAX_MEGAPIXELS = 100;
export const CF_MAX_METADATA_BYTES = 1024;
export const CF_ACCEPTED_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml', 'image/heic'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks everything Cloudflare would refuse, before spending a request. Throws a final StorageError. */
export function precheckCloudflareUpload(request: CloudflareUploadRequest): void {
	const fail = (message: string, code: string) => {
		throw new StorageError(message, { provider: 'cloudflareImages', code, retryable: false, key: request.id });
	};
	if (isVideo(request.contentType)) {
		fail(`Cloudflare Images does not store videos (${request.contentType}): use an S3-compatible bucket or R2 for video`, 'UnsupportedFormat');
	}
	if (!CF_ACCEPTED_TYPES.includes(request.contentType.split(';')[0].trim().toLowerCase())) {
		fail(
			`Cloudflare Images accepts PNG, JPEG, GIF, WebP, SVG and HEIC; this file is ${request.contentType}. Use an S3-compatible bucket for other files`,
			'UnsupportedFormat',
		);
	}
	if (request.data.length > CF_MAX_BYTES) {
		fail(
			`The image is ${(request.data.length / 1024 / 1024).toFixed(1)} MB; Cloudflare Images accepts at most 10 MB. Use an S3-compatible bucket or R2 for larger files`,
			'FileTooLarge',
		);
	}
	const dimensions = readImageDimensions(request.data);
	if (dimensions) {
		const { width, height } = dimensions;
		if (sniffContentType(request.data) !== 'image/webp' && Math.max(width, height) > CF_MAX_DIMENSION) {
			fail(`The image is ${width}×${height} px; Cloudflare Images accepts at most ${CF_MAX_DIMENSION} px per side`, 'ImageTooLarge');
		}
		// Animations count the area of all frames together.
		const frames = countFrames(request.data) ?? 1;
		const megapixels = (width * height * frames) / 1_000_000;
		if (megapixels > CF_MAX_MEGAPIXELS) {
			const size = frames > 1 ? `${width}×${height} px × ${frames} frames` : `${width}×${height} px`;
			fail(
				`The image is ${size} = ${megapixels.toFixed(1)} megapixels; Cloudflare Images accepts at most ${CF_MAX_MEGAPIXELS} megapixels${frames > 1 ? ' for all frames together' : ''}. Make it smaller or use an S3-compatible bucket`,
				'ImageTooLarge',
			);
		}
	}
	if (request.metadata !== undefined) {
		const bytes = Buffer.byteLength(JSON.stringify(request.metadata));
		if (bytes > CF_MAX_METADATA_BYTES) fail(`The metadata is ${bytes} bytes as JSON; Cloudflare Images accepts at most 1024`, 'MetadataTooLarge');
	}
	if (request.id !== undefined) {
		const id = request.id;
		if (id === '' || id.startsWith('/') || id.endsWith('/')) fail(`The custom image ID "${id}" must not be empty or start or end with "/"`, 'InvalidId');
		if (UUID.test(id)) fail(`The custom image ID "${id}" must not be a UUID (Cloudflare reserves those)`, 'InvalidId');
		if (Buffer.byteLength(id) > 1024) fail('The custom image ID is longer than 1024 bytes', 'InvalidId');
		if (request.requireSignedURLs) fail('Cloudflare Images does not allow a custom ID together with "require signed URLs"', 'InvalidId');
	}
}
