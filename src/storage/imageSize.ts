/** Image width and height read from header bytes (PNG, JPEG, GIF, WebP), no decoding. Pure. */

export interface ImageDimensions {
	width: number;
	height: number;
}

/** Returns the dimensions, or undefined when the format is not recognised or the header is cut short. */
export function readImageDimensions(bytes: Uint8Array): ImageDimensions | undefined {
	const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
		return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
	}
	if (b.length >= 10 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) {
		return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
	}
	if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
		return readWebp(b);
	}
	if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return readJpeg(b);
	return undefined;
}

function readWebp(b: Buffer): ImageDimensions | undefined {
	const chunk = b.toString('latin1', 12, 16);
	if (chunk === 'VP8X') {
		return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
	}
	if (chunk === 'VP8L' && b[20] === 0x2f) {
		const bits = b.readUInt32LE(21);
		return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
	}
	if (chunk === 'VP8 ' && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
		return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
	}
	return undefined;
}

function readJpeg(b: Buffer): ImageDimensions | undefined {
	let offset = 2;
	while (offset + 9 < b.length) {
		if (b[offset] !== 0xff) return undefined;
		const marker = b[offset + 1];
		if (marker === 0xff) {
			offset++;
			continue;
		}
		// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
		if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
			return { height: b.readUInt16BE(offset + 5), width: b.readUInt16BE(offset + 7) };
		}
		if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) {
			offset += 2;
			continue;
		}
		offset += 2 + b.readUInt16BE(offset + 2);
	}
	return undefined;
}
