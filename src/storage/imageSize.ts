/**
 * Image width and height read from header bytes (PNG, JPEG, GIF, WebP, HEIC), and the frame count of
 * animated GIF and WebP, without decoding. Pure.
 */

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
	if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' && HEIF_BRANDS.has(b.toString('latin1', 8, 12))) return readHeif(b);
	return undefined;
}

/**
 * Frames of a GIF or WebP (1 for a still one), or undefined for other formats. Walks the GIF blocks
 * or the WebP chunks; a file cut short counts the frames seen so far.
 */
export function countFrames(bytes: Uint8Array): number | undefined {
	const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	if (b.length >= 13 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return Math.max(1, countGifFrames(b));
	if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
		let frames = 0;
		for (let offset = 12; offset + 8 <= b.length; ) {
			if (b.toString('latin1', offset, offset + 4) === 'ANMF') frames++;
			const size = b.readUInt32LE(offset + 4);
			offset += 8 + size + (size & 1);
		}
		return Math.max(1, frames);
	}
	return undefined;
}

function countGifFrames(b: Buffer): number {
	const colorTable = (packed: number) => (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
	const skipSubBlocks = (offset: number): number => {
		while (offset < b.length) {
			const size = b[offset];
			offset += 1 + size;
			if (size === 0) break;
		}
		return offset;
	};
	let frames = 0;
	let offset = 13 + colorTable(b[10]);
	while (offset < b.length) {
		const block = b[offset];
		if (block === 0x21) offset = skipSubBlocks(offset + 2);
		else if (block === 0x2c) {
			frames++;
			if (offset + 10 > b.length) break;
			offset = skipSubBlocks(offset + 10 + colorTable(b[offset + 9]) + 1);
		} else break;
	}
	return frames;
}

/** ISO-BMFF brands of HEIF still images (HEIC, and AVIF which is HEIF too). */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'avif', 'avis']);

/**
 * HEIF keeps sizes in `ispe` properties (meta > iprp > ipco); a photo has one for the full image
 * (often a grid of tiles) and smaller ones for tiles and thumbnails: the largest is the image.
 */
function readHeif(b: Buffer): ImageDimensions | undefined {
	const meta = findBox(b, 0, b.length, 'meta');
	const iprp = meta && findBox(b, meta.start + 4, meta.end, 'iprp');
	const ipco = iprp && findBox(b, iprp.start, iprp.end, 'ipco');
	if (!ipco) return undefined;
	let best: ImageDimensions | undefined;
	for (let box = nextBox(b, ipco.start, ipco.end); box; box = nextBox(b, box.end, ipco.end)) {
		if (box.type !== 'ispe' || box.end - box.start < 12) continue;
		const found = { width: b.readUInt32BE(box.start + 4), height: b.readUInt32BE(box.start + 8) };
		if (!best || found.width * found.height > best.width * best.height) best = found;
	}
	return best;
}

interface Box {
	type: string;
	/** First byte of the content, after the header. */
	start: number;
	end: number;
}

function nextBox(b: Buffer, offset: number, limit: number): Box | undefined {
	if (offset + 8 > limit) return undefined;
	let size = b.readUInt32BE(offset);
	let header = 8;
	if (size === 1) {
		if (offset + 16 > limit) return undefined;
		size = Number(b.readBigUInt64BE(offset + 8));
		header = 16;
	} else if (size === 0) size = limit - offset;
	if (size < header || offset + size > limit) return undefined;
	return { type: b.toString('latin1', offset + 4, offset + 8), start: offset + header, end: offset + size };
}

function findBox(b: Buffer, offset: number, limit: number, type: string): Box | undefined {
	for (let box = nextBox(b, offset, limit); box; box = nextBox(b, box.end, limit)) if (box.type === type) return box;
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
