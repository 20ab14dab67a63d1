/** The storage engine's public surface. */
export * from './errors';
export * from './types';
export * from './presets';
export * from './keyTemplate';
export * from './contentType';
export * from './imageSize';
export * from './tokenBucket';
export * from './s3';
export * from './cloudflareImages';
export * from './uploader';
export * from './retryPolicy';
export * from './remover';
