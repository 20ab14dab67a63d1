/**
 * Cloudflare Images over its REST API: the client and its configuration, the upload pre-checks and
 * limits, the request budget, and the builders of IDs and delivery URLs.
 */
export { CloudflareImagesClient } from './client';
export { CF_ACCEPTED_TYPES, CF_MAX_BYTES, CF_MAX_DIMENSION, CF_MAX_MEGAPIXELS, CF_MAX_METADATA_BYTES, precheckCloudflareUpload } from './precheck';
export { CF_API_BUDGET, CF_DEFAULT_BATCH_RATE_PER_SECOND, CF_DEFAULT_RATE_PER_SECOND, CF_RATE_LIMIT_BLOCK_MS, isImageNotFound } from './transport';
export type { CloudflareImage, CloudflareImagesConfig, CloudflareUploadRequest } from './types';
export { accountHashFromVariants, buildDeliveryUrl, encodeApiImageId, encodeImageId, isFlexibleVariant, signDeliveryUrl, signingKeyMissing } from './urls';
