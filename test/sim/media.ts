import { deflateSync } from 'zlib';

/** Small, valid media files for simulated outputs. Every encoder is pure: same arguments, same bytes. */

const CRC_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

export function crc32(buf: Buffer): number {
	let c = 0xffffffff;
	for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
	const len = Buffer.alloc(4);
	len.writeUInt32BE(data.length);
	const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(typeAndData));
	return Buffer.concat([len, typeAndData, crc]);
}

export interface PngOptions {
	width: number;
	height: number;
	/** 0xRRGGBB base colour; a diagonal gradient derived from `seed` is mixed in so different seeds differ. */
	color: number;
	seed?: number;
	/** tEXt chunks, e.g. {prompt: '...'} as SaveImage writes them */
	text?: Record<string, string>;
}

/** RGB 8-bit PNG with correct CRCs, IHDR/IDAT/IEND. */
export function encodePng(opts: PngOptions): Buffer {
	const width = Math.max(1, Math.floor(opts.width));
	const height = Math.max(1, Math.floor(opts.height));
	const seed = (opts.seed ?? 0) >>> 0;
	const r0 = (opts.color >> 16) & 0xff;
	const g0 = (opts.color >> 8) & 0xff;
	const b0 = opts.color & 0xff;
	const rowLen = 1 + width * 3;
	const raw = Buffer.alloc(rowLen * height);
	for (let y = 0; y < height; y++) {
		const row = y * rowLen;
		raw[row] = 0; // filter: none
		for (let x = 0; x < width; x++) {
			const p = row + 1 + x * 3;
			const wave = ((x * 7 + y * 13 + seed) & 0x3f) - 32;
			raw[p] = clampByte(r0 + (seed & 1 ? wave : 0));
			raw[p + 1] = clampByte(g0 + (seed & 2 ? wave : 0));
			raw[p + 2] = clampByte(b0 + (seed & 4 || seed === 0 ? 0 : wave));
		}
	}
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(width, 0);
	ihdr.writeUInt32BE(height, 4);
	ihdr[8] = 8; // bit depth
	ihdr[9] = 2; // colour type RGB
	ihdr[10] = 0;
	ihdr[11] = 0;
	ihdr[12] = 0;
	const chunks = [pngChunk('IHDR', ihdr)];
	for (const [key, value] of Object.entries(opts.text ?? {})) {
		chunks.push(pngChunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')])));
	}
	chunks.push(pngChunk('IDAT', deflateSync(raw)));
	chunks.push(pngChunk('IEND', Buffer.alloc(0)));
	return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

function clampByte(v: number): number {
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Width and height from a PNG's IHDR, or null if the bytes are not a PNG. */
export function pngSize(buf: Buffer): { width: number; height: number } | null {
	if (buf.length < 24 || buf.readUInt32BE(0) !== 0x89504e47 || buf.toString('ascii', 12, 16) !== 'IHDR') return null;
	return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---------------------------------------------------------------------------------------------
// WebP: a lossless (VP8L) bitstream for a solid-colour frame needs only five single-symbol prefix
// codes, so every pixel costs zero bits. Animated files wrap such frames in VP8X/ANIM/ANMF.

class BitWriter {
	private bytes: number[] = [];
	private acc = 0;
	private n = 0;
	write(value: number, bits: number): void {
		for (let i = 0; i < bits; i++) {
			this.acc |= ((value >>> i) & 1) << this.n;
			this.n++;
			if (this.n === 8) {
				this.bytes.push(this.acc);
				this.acc = 0;
				this.n = 0;
			}
		}
	}
	finish(): Buffer {
		if (this.n > 0) this.bytes.push(this.acc);
		return Buffer.from(this.bytes);
	}
}

function vp8lSolid(width: number, height: number, color: number): Buffer {
	const w = new BitWriter();
	w.write(0x2f, 8); // signature
	w.write(width - 1, 14);
	w.write(height - 1, 14);
	w.write(0, 1); // alpha hint
	w.write(0, 3); // version
	w.write(0, 1); // no transform
	w.write(0, 1); // no colour cache
	w.write(0, 1); // no meta prefix codes
	const simple = (symbol: number): void => {
		w.write(1, 1); // simple code
		w.write(0, 1); // one symbol
		w.write(1, 1); // 8-bit symbol
		w.write(symbol, 8);
	};
	simple((color >> 8) & 0xff); // green
	simple((color >> 16) & 0xff); // red
	simple(color & 0xff); // blue
	simple(0xff); // alpha
	simple(0); // distance
	return w.finish();
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
	const head = Buffer.alloc(8);
	head.write(fourcc, 0, 'ascii');
	head.writeUInt32LE(data.length, 4);
	return Buffer.concat([head, data, data.length % 2 ? Buffer.from([0]) : Buffer.alloc(0)]);
}

function uint24(v: number): Buffer {
	const b = Buffer.alloc(3);
	b.writeUIntLE(v, 0, 3);
	return b;
}

/** Animated WebP: one solid frame per colour. */
export function encodeAnimatedWebp(opts: { width: number; height: number; colors: number[]; frameMs?: number }): Buffer {
	const width = clampDim(opts.width);
	const height = clampDim(opts.height);
	const vp8x = Buffer.concat([Buffer.from([0x02, 0, 0, 0]), uint24(width - 1), uint24(height - 1)]);
	const anim = Buffer.from([0, 0, 0, 0, 0, 0]); // background colour, loop forever
	const frames = opts.colors.map((c) =>
		riffChunk(
			'ANMF',
			Buffer.concat([uint24(0), uint24(0), uint24(width - 1), uint24(height - 1), uint24(opts.frameMs ?? 100), Buffer.from([0]), riffChunk('VP8L', vp8lSolid(width, height, c))]),
		),
	);
	const body = Buffer.concat([Buffer.from('WEBP', 'ascii'), riffChunk('VP8X', vp8x), riffChunk('ANIM', anim), ...frames]);
	const head = Buffer.alloc(8);
	head.write('RIFF', 0, 'ascii');
	head.writeUInt32LE(body.length, 4);
	return Buffer.concat([head, body]);
}

/** Still WebP (lossless, solid colour). */
export function encodeWebp(opts: { width: number; height: number; color: number }): Buffer {
	const body = Buffer.concat([Buffer.from('WEBP', 'ascii'), riffChunk('VP8L', vp8lSolid(clampDim(opts.width), clampDim(opts.height), opts.color))]);
	const head = Buffer.alloc(8);
	head.write('RIFF', 0, 'ascii');
	head.writeUInt32LE(body.length, 4);
	return Buffer.concat([head, body]);
}

function clampDim(v: number): number {
	return Math.min(16383, Math.max(1, Math.floor(v)));
}

// ---------------------------------------------------------------------------------------------
// MP4 / WebM / GIF / FLAC / WAV: structurally valid containers (correct magic and box/element
// layout). They carry no decodable media; clients only store and forward them.

function box(type: string, ...payload: Buffer[]): Buffer {
	const data = Buffer.concat(payload);
	const head = Buffer.alloc(8);
	head.writeUInt32BE(8 + data.length, 0);
	head.write(type, 4, 'ascii');
	return Buffer.concat([head, data]);
}

export function encodeMp4(opts: { frames: number; fps: number; width: number; height: number }): Buffer {
	const ftyp = box('ftyp', Buffer.from('isom', 'ascii'), Buffer.from([0, 0, 2, 0]), Buffer.from('isomiso2avc1mp41', 'ascii'));
	const mvhd = Buffer.alloc(100);
	mvhd.writeUInt32BE(0, 0); // version + flags
	mvhd.writeUInt32BE(1000, 12); // timescale
	mvhd.writeUInt32BE(Math.round((opts.frames / Math.max(1, opts.fps)) * 1000), 16); // duration
	mvhd.writeUInt32BE(0x00010000, 20); // rate 1.0
	mvhd.writeUInt16BE(0x0100, 24); // volume 1.0
	const matrix = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
	matrix.forEach((v, i) => mvhd.writeUInt32BE(v, 36 + i * 4));
	mvhd.writeUInt32BE(2, 96); // next track id
	const moov = box('moov', box('mvhd', mvhd));
	const mdat = box('mdat', Buffer.from(`sim ${opts.width}x${opts.height} ${opts.frames}f@${opts.fps}`, 'ascii'));
	return Buffer.concat([ftyp, moov, mdat]);
}

export function encodeWebm(): Buffer {
	// EBML header: EBMLVersion 1, ReadVersion 1, MaxIDLength 4, MaxSizeLength 8, DocType "webm", versions 2.
	const el = (id: number[], data: Buffer): Buffer => Buffer.concat([Buffer.from(id), Buffer.from([0x80 | data.length]), data]);
	const header = Buffer.concat([
		el([0x42, 0x86], Buffer.from([1])),
		el([0x42, 0xf7], Buffer.from([1])),
		el([0x42, 0xf2], Buffer.from([4])),
		el([0x42, 0xf3], Buffer.from([8])),
		el([0x42, 0x82], Buffer.from('webm', 'ascii')),
		el([0x42, 0x87], Buffer.from([2])),
		el([0x42, 0x85], Buffer.from([2])),
	]);
	return Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | header.length]), header]);
}

/** 1x1 GIF89a. */
export function encodeGif(color: number): Buffer {
	return Buffer.concat([
		Buffer.from('GIF89a', 'ascii'),
		Buffer.from([1, 0, 1, 0, 0x80, 0, 0]),
		Buffer.from([(color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff, 0, 0, 0]),
		Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b]),
	]);
}

/** FLAC stream with a STREAMINFO block (the only mandatory metadata block) describing `samples` samples. */
export function encodeFlacHeader(opts: { sampleRate: number; channels: number; samples: number }): Buffer {
	const info = Buffer.alloc(34);
	info.writeUInt16BE(4096, 0);
	info.writeUInt16BE(4096, 2);
	// bytes 4..9: min/max frame size unknown (0)
	// 20 bits sample rate, 3 bits channels-1, 5 bits bps-1, 36 bits total samples
	const rate = opts.sampleRate & 0xfffff;
	const ch = (opts.channels - 1) & 0x7;
	const bps = 15;
	const total = Math.max(0, Math.floor(opts.samples));
	info[10] = (rate >> 12) & 0xff;
	info[11] = (rate >> 4) & 0xff;
	info[12] = ((rate & 0xf) << 4) | (ch << 1) | (bps >> 4);
	info[13] = ((bps & 0xf) << 4) | Math.floor(total / 2 ** 32) & 0xf;
	info.writeUInt32BE(total >>> 0, 14);
	// bytes 18..33: MD5 unknown (0)
	const blockHeader = Buffer.from([0x80, 0, 0, 34]); // last block, type 0 STREAMINFO, length 34
	return Buffer.concat([Buffer.from('fLaC', 'ascii'), blockHeader, info]);
}

/** PCM 16-bit WAV of silence. */
export function encodeWav(opts: { sampleRate: number; channels: number; samples: number }): Buffer {
	const dataLen = opts.samples * opts.channels * 2;
	const h = Buffer.alloc(44);
	h.write('RIFF', 0, 'ascii');
	h.writeUInt32LE(36 + dataLen, 4);
	h.write('WAVE', 8, 'ascii');
	h.write('fmt ', 12, 'ascii');
	h.writeUInt32LE(16, 16);
	h.writeUInt16LE(1, 20);
	h.writeUInt16LE(opts.channels, 22);
	h.writeUInt32LE(opts.sampleRate, 24);
	h.writeUInt32LE(opts.sampleRate * opts.channels * 2, 28);
	h.writeUInt16LE(opts.channels * 2, 32);
	h.writeUInt16LE(16, 34);
	h.write('data', 36, 'ascii');
	h.writeUInt32LE(dataLen, 40);
	return Buffer.concat([h, Buffer.alloc(dataLen)]);
}
