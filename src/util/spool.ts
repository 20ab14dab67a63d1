/**
 * Collecting a stream of unknown size without holding a large one in memory: small streams end as a
 * Buffer; once more than `keepInMemoryBytes` arrived, what came so far and everything after goes to a
 * temporary file. The file is the caller's to remove (`removeSpooled`); a failure removes it here.
 */
import { randomUUID } from 'crypto';
import { readdirSync } from 'fs';
import { open, rm, type FileHandle } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';

export interface SpooledFile {
	path: string;
	size: number;
}

export type Collected = { data: Buffer } | { file: SpooledFile };

/** Temporary files of this package start with this and the process id, in the operating system's temp folder (TMPDIR). */
export const SPOOL_PREFIX = 'n8n-comfyui-cluster-output-';

/** The spooled files of this process that exist now (for checks that none is left behind). */
export function spooledFiles(): string[] {
	const mine = `${SPOOL_PREFIX}${process.pid}-`;
	return readdirSync(tmpdir())
		.filter((name) => name.startsWith(mine))
		.map((name) => join(tmpdir(), name));
}

export async function collect(stream: AsyncIterable<Uint8Array>, keepInMemoryBytes: number): Promise<Collected> {
	const chunks: Buffer[] = [];
	let size = 0;
	let path: string | undefined;
	let handle: FileHandle | undefined;
	try {
		for await (const chunk of stream) {
			const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
			size += buffer.length;
			if (handle) {
				await writeAll(handle, buffer);
				continue;
			}
			chunks.push(buffer);
			if (size <= keepInMemoryBytes) continue;
			path = join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-${randomUUID()}`);
			handle = await open(path, 'wx', 0o600);
			for (const held of chunks.splice(0)) await writeAll(handle, held);
		}
		if (!handle || !path) return { data: Buffer.concat(chunks, size) };
		const done = handle;
		handle = undefined;
		await done.close();
		return { file: { path, size } };
	} catch (error) {
		await handle?.close().catch(() => undefined);
		if (path) await removeSpooled(path);
		throw error;
	}
}

/** Removes a spooled file; a file already gone is fine. */
export async function removeSpooled(path: string): Promise<void> {
	await rm(path, { force: true }).catch(() => undefined);
}

async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
	for (let offset = 0; offset < buffer.length; ) {
		const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
		offset += bytesWritten;
	}
}
