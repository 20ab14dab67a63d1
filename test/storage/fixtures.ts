/** Small byte fixtures for storage tests: PNG/JPEG/GIF/WebP headers of a chosen size, random bodies. */
import { createHash, randomBytes } from 'crypto';
import { Readable } from 'stream';

/** A PNG signature + IHDR with the given dimensions, followed by `extra` random bytes. */
export function pngBytes(width: number, height: number, extra = 1024): Buffer {
	const ihdr = Buffer.alloc(25);
	ihdr.writeUInt32BE(13, 0);
	ihdr.write('IHDR', 4, 'latin1');
	ihdr.writeUInt32BE(width, 8);
	ihdr.writeUInt32BE(height, 12);
	ihdr.writeUInt8(8, 16);
	ihdr.writeUInt8(6, 17);
	return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr, randomBytes(extra)]);
}

/** A baseline JPEG header (SOI, APP0, SOF0) with the given dimensions. */
export function jpegBytes(width: number, height: number, extra = 512): Buffer {
	const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
	const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
	sof.writeUInt16BE(height, 5);
	sof.writeUInt16BE(width, 7);
	return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, randomBytes(extra)]);
}

export function gifBytes(width: number, height: number): Buffer {
	const b = Buffer.alloc(32);
	b.write('GIF89a', 0, 'latin1');
	b.writeUInt16LE(width, 6);
	b.writeUInt16LE(height, 8);
	return b;
}

export function webpVp8xBytes(width: number, height: number): Buffer {
	const b = Buffer.alloc(40);
	b.write('RIFF', 0, 'latin1');
	b.writeUInt32LE(32, 4);
	b.write('WEBP', 8, 'latin1');
	b.write('VP8X', 12, 'latin1');
	b.writeUInt32LE(10, 16);
	b.writeUIntLE(width - 1, 24, 3);
	b.writeUIntLE(height - 1, 27, 3);
	return b;
}

/** An ISO-BMFF (mp4) header: `ftyp` box with brand isom. */
export function mp4Bytes(extra = 1024): Buffer {
	const ftyp = Buffer.alloc(24);
	ftyp.writeUInt32BE(24, 0);
	ftyp.write('ftypisom', 4, 'latin1');
	return Buffer.concat([ftyp, randomBytes(extra)]);
}

export function sha256(data: Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

/**
 * A stream of `total` deterministic bytes produced on demand in 1 MiB chunks (never all in memory),
 * with its SHA-256 computed as it goes.
 */
export function generatedStream(total: number, prefix: Buffer = Buffer.alloc(0)): { stream: Readable; digest: () => string; produced: () => number } {
	const hash = createHash('sha256');
	let produced = 0;
	let digest = '';
	const chunkSize = 1024 * 1024;
	const stream = new Readable({
		highWaterMark: chunkSize,
		read() {
			if (produced >= total) {
				digest = hash.digest('hex');
				this.push(null);
				return;
			}
			const size = Math.min(chunkSize, total - produced);
			const chunk = Buffer.alloc(size, produced / chunkSize);
			if (produced === 0) prefix.copy(chunk, 0, 0, Math.min(prefix.length, size));
			produced += size;
			hash.update(chunk);
			this.push(chunk);
		},
	});
	return { stream, digest: () => digest, produced: () => produced };
}
