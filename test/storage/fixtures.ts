/** Small byte fixtures for storage tests: PNG/JPEG/GIF/WebP/HEIC headers of a chosen size, animations, random bodies. */
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

/** An animated GIF header: `frames` image descriptors of `width`×`height`, each with one tiny data block. */
export function gifAnimationBytes(width: number, height: number, frames: number): Buffer {
	const screen = Buffer.alloc(13);
	screen.write('GIF89a', 0, 'latin1');
	screen.writeUInt16LE(width, 6);
	screen.writeUInt16LE(height, 8);
	const loop = Buffer.concat([Buffer.from([0x21, 0xff, 0x0b]), Buffer.from('NETSCAPE2.0', 'latin1'), Buffer.from([0x03, 0x01, 0x00, 0x00, 0x00])]);
	const frame = () => {
		const control = Buffer.from([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00]);
		const descriptor = Buffer.alloc(10);
		descriptor[0] = 0x2c;
		descriptor.writeUInt16LE(width, 5);
		descriptor.writeUInt16LE(height, 7);
		return Buffer.concat([control, descriptor, Buffer.from([0x02, 0x02, 0x4c, 0x01, 0x00])]);
	};
	return Buffer.concat([screen, loop, ...Array.from({ length: frames }, frame), Buffer.from([0x3b])]);
}

/** An animated WebP: VP8X canvas of `width`×`height`, ANIM, and `frames` ANMF chunks. */
export function webpAnimationBytes(width: number, height: number, frames: number): Buffer {
	const chunk = (fourcc: string, payload: Buffer) => {
		const header = Buffer.alloc(8);
		header.write(fourcc, 0, 'latin1');
		header.writeUInt32LE(payload.length, 4);
		return Buffer.concat([header, payload, Buffer.alloc(payload.length & 1)]);
	};
	const vp8x = Buffer.alloc(10);
	vp8x[0] = 0x02;
	vp8x.writeUIntLE(width - 1, 4, 3);
	vp8x.writeUIntLE(height - 1, 7, 3);
	const anmf = () => {
		const payload = Buffer.alloc(16);
		payload.writeUIntLE(width - 1, 6, 3);
		payload.writeUIntLE(height - 1, 9, 3);
		return chunk('ANMF', payload);
	};
	const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), chunk('VP8X', vp8x), chunk('ANIM', Buffer.alloc(6)), ...Array.from({ length: frames }, anmf)]);
	const riff = Buffer.alloc(8);
	riff.write('RIFF', 0, 'latin1');
	riff.writeUInt32LE(body.length, 4);
	return Buffer.concat([riff, body]);
}

/** A HEIC header: `ftyp` heic, a `meta` box whose properties hold a thumbnail's and the image's `ispe` size. */
export function heicBytes(width: number, height: number, extra = 512): Buffer {
	const box = (type: string, ...content: Buffer[]) => {
		const body = Buffer.concat(content);
		const header = Buffer.alloc(8);
		header.writeUInt32BE(8 + body.length, 0);
		header.write(type, 4, 'latin1');
		return Buffer.concat([header, body]);
	};
	const fullBox = (type: string, ...content: Buffer[]) => box(type, Buffer.alloc(4), ...content);
	const ispe = (w: number, h: number) => {
		const size = Buffer.alloc(8);
		size.writeUInt32BE(w, 0);
		size.writeUInt32BE(h, 4);
		return fullBox('ispe', size);
	};
	const ftyp = box('ftyp', Buffer.from('heic\0\0\0\0mif1heic', 'latin1'));
	const hdlr = fullBox('hdlr', Buffer.alloc(4), Buffer.from('pict', 'latin1'), Buffer.alloc(13));
	const meta = fullBox('meta', hdlr, box('iprp', box('ipco', ispe(320, 240), ispe(width, height))));
	return Buffer.concat([ftyp, meta, box('mdat', randomBytes(extra))]);
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
