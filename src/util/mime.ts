/**
 * Decides which MIME type a file extension means and which extension a MIME type gets: the one table
 * read by the ComfyUI client (output files), storage (content types, key extensions) and the simulator.
 * Pure.
 */

/**
 * Extension (lower case, no dot) → MIME type. Where several extensions share a type, the first one
 * listed is the one `extensionFromMime` gives (jpg, not jpeg; mp4, not m4v).
 */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
	png: 'image/png',
	jpg: 'image/jpeg',
	jpeg: 'image/jpeg',
	gif: 'image/gif',
	webp: 'image/webp',
	apng: 'image/apng',
	avif: 'image/avif',
	heic: 'image/heic',
	bmp: 'image/bmp',
	tiff: 'image/tiff',
	tif: 'image/tiff',
	svg: 'image/svg+xml',
	mp4: 'video/mp4',
	m4v: 'video/mp4',
	mov: 'video/quicktime',
	webm: 'video/webm',
	mkv: 'video/x-matroska',
	avi: 'video/x-msvideo',
	wav: 'audio/wav',
	flac: 'audio/flac',
	mp3: 'audio/mpeg',
	ogg: 'audio/ogg',
	opus: 'audio/opus',
	m4a: 'audio/mp4',
	aac: 'audio/aac',
	glb: 'model/gltf-binary',
	pdf: 'application/pdf',
	json: 'application/json',
	txt: 'text/plain',
};

/** Other spellings of a type that name the same files. */
const MIME_ALIASES: Readonly<Record<string, string>> = {
	'audio/x-wav': 'wav',
};

const EXTENSION_BY_MIME: Readonly<Record<string, string>> = (() => {
	const byMime: Record<string, string> = {};
	for (const [ext, mime] of Object.entries(MIME_BY_EXTENSION)) if (!Object.hasOwn(byMime, mime)) byMime[mime] = ext;
	for (const [mime, ext] of Object.entries(MIME_ALIASES)) if (!Object.hasOwn(byMime, mime)) byMime[mime] = ext;
	return byMime;
})();

export const OCTET_STREAM = 'application/octet-stream';

/** The extension of a file name, lower case, without the dot; '' when it has none. */
export function extensionOf(fileName: string): string {
	const dot = fileName.lastIndexOf('.');
	return dot < 0 ? '' : fileName.slice(dot + 1).toLowerCase();
}

/** MIME type of an extension (`png`, `.PNG`); undefined when unknown. */
export function mimeFromExtension(ext: string | undefined): string | undefined {
	if (!ext) return undefined;
	const key = ext.toLowerCase().replace(/^\./, '');
	return Object.hasOwn(MIME_BY_EXTENSION, key) ? MIME_BY_EXTENSION[key] : undefined;
}

/** MIME type of a file name by its extension; undefined when it has none or an unknown one. */
export function mimeFromFileName(fileName: string): string | undefined {
	return mimeFromExtension(extensionOf(fileName));
}

/** Extension for a MIME type (parameters and case ignored); undefined when unknown. */
export function extensionFromMime(mime: string | undefined): string | undefined {
	if (!mime) return undefined;
	const key = mime.split(';')[0].trim().toLowerCase();
	return Object.hasOwn(EXTENSION_BY_MIME, key) ? EXTENSION_BY_MIME[key] : undefined;
}
