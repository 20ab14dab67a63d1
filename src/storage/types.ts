/** Shapes shared by the storage providers and the uploader. */
import type { Readable } from 'stream';

/** Where the bytes come from: a buffer (retryable by the SDK), or a stream that can be (re)opened. */
export type UploadBody =
	| { kind: 'buffer'; data: Buffer }
	| { kind: 'stream'; open: () => Promise<Readable>; size?: number };

export function bodySize(body: UploadBody): number | undefined {
	return body.kind === 'buffer' ? body.data.length : body.size;
}

export type LogLevel = 'debug' | 'info' | 'warn';
export type StorageLogger = (level: LogLevel, message: string) => void;
