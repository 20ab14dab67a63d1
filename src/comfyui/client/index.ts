/** The ComfyUI client's public surface: the client of one server, its errors, and the pure readers of its answers. */
export { ComfyUiClient, UPLOAD_SUBFOLDER, contentHashName, uploadExtension } from './client';
export type { ComfyUiClientOptions, SubmitOptions, DownloadOptions } from './client';
export { AmbiguousSubmitError, OutputTooLargeError } from './errors';
export { extractOutputs, guessMimeType } from './outputs';
export { interpretHistory, wasFullyCached } from './history';
export { parseServerAddress, webSocketUrl } from './address';
export { authSecrets } from './auth';
export type * from './types';
