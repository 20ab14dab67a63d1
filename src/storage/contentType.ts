/** Content type from the first bytes of a file (magic numbers), with extension and mime helpers. Pure. */
import { mimeFromFileName, OCTET_STREAM } from '../util/mime';

/** Bytes to read from the start of a file for `sniffContentType`. */
export const SNIFF_BYTES = 64;

function ascii(bytes: Uint8Array, start: number, length: number): string {
	return Buffer.from(bytes.subarray(start, start + length)).toString('latin1');
}

function startsWith(bytes: Uint8Array, signature: number[], offset = 0): boolean {
	if (bytes.length < offset + signature.length) return false;
	return signature.every((byte, i) => bytes[offset + i] === byte);
}

/** Recognises common image, video and audio formats; undefined when unknown. */
export function sniffContentType(bytes: Uint8Array): string | undefined {
	if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
	if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
	if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'image/gif';
	if (ascii(bytes, 0, 4) === 'RIFF') {
		const kind = ascii(bytes, 8, 4);
		if (kind === 'WEBP') return 'image/webp';
		if (kind === 'WAVE') return 'audio/wav';
		if (kind === 'AVI ') return 'video/x-msvideo';
	}
	if (ascii(bytes, 4, 4) === 'ftyp') {
		const brand = ascii(bytes, 8, 4);
		if (brand === 'avif' || brand === 'avis') return 'image/avif';
		if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'image/heic';
		if (brand === 'qt  ') return 'video/quicktime';
		if (brand.startsWith('M4A')) return 'audio/mp4';
		return 'video/mp4';
	}
	if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
		return ascii(bytes, 0, Math.min(bytes.length, SNIFF_BYTES)).includes('webm') ? 'video/webm' : 'video/x-matroska';
	}
	if (ascii(bytes, 0, 4) === 'fLaC') return 'audio/flac';
	if (ascii(bytes, 0, 4) === 'OggS') return 'audio/ogg';
	if (ascii(bytes, 0, 3) === 'ID3' || startsWith(bytes, [0xff, 0xfb]) || startsWith(bytes, [0xff, 0xf3])) return 'audio/mpeg';
	if (ascii(bytes, 0, 5) === '%PDF-') return 'application/pdf';
	const text = ascii(bytes, 0, Math.min(bytes.length, SNIFF_BYTES)).trimStart();
	if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'image/svg+xml';
	return undefined;
}

export { extensionFromMime, mimeFromExtension } from '../util/mime';

/** True for a missing or `application/octet-stream`-like mime type. */
export function isGenericMime(mime: string | undefined): boolean {
	if (!mime) return true;
	const base = mime.split(';')[0].trim().toLowerCase();
	return base === '' || base === 'application/octet-stream' || base === 'binary/octet-stream';
}

/**
 * Picks the content type: an explicit override, else the declared mime type unless it is generic,
 * else the bytes, else the file extension (src/util/mime.ts), else `application/octet-stream`.
 */
export function resolveContentType(input: {
	override?: string;
	declared?: string;
	head?: Uint8Array;
	fileName?: string;
}): string {
	if (input.override?.trim()) return input.override.trim();
	if (!isGenericMime(input.declared)) return (input.declared as string).trim();
	const sniffed = input.head ? sniffContentType(input.head) : undefined;
	if (sniffed) return sniffed;
	return (input.fileName ? mimeFromFileName(input.fileName) : undefined) ?? OCTET_STREAM;
}

export function isVideo(contentType: string | undefined): boolean {
	return !!contentType && contentType.toLowerCase().startsWith('video/');
}
