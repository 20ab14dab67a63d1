/** Bodies read with a ceiling, and byte counts as people read them. */

const MB = 1024 * 1024;

/**
 * Reads `body` until it ends or more than `maxBytes` arrived; in that case the rest is not read (the
 * stream is destroyed) and `complete` is false. A server can never make us hold more than we allow.
 */
export async function readAtMost(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<{ bytes: Buffer; complete: boolean }> {
	const chunks: Buffer[] = [];
	let size = 0;
	// Leaving the loop early calls the iterator's return(), which destroys a Readable.
	for await (const chunk of body) {
		const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
		if (size + buffer.length > maxBytes) {
			chunks.push(buffer.subarray(0, maxBytes - size));
			return { bytes: Buffer.concat(chunks, maxBytes), complete: false };
		}
		chunks.push(buffer);
		size += buffer.length;
	}
	return { bytes: Buffer.concat(chunks, size), complete: true };
}

/** `2048 MB`, `1.5 MB`, `12 KB`, `300 bytes` (binary units, as the size options count them). */
export function formatBytes(bytes: number): string {
	if (bytes >= MB) return `${Number((bytes / MB).toFixed(bytes >= 100 * MB ? 0 : 1))} MB`;
	if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
	return `${bytes} bytes`;
}

/** The value of a numeric `Content-Length` header, else undefined. */
export function declaredLength(headers: Record<string, string | string[] | undefined>): number | undefined {
	const raw = headers['content-length'];
	const value = Array.isArray(raw) ? raw[0] : raw;
	return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}
