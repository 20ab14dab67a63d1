/**
 * Output files from a history entry (pure). Core nodes report `images` (plus `animated: [true]` for
 * animated WEBP/PNG and core video), `audio`; custom nodes use `gifs` (VideoHelperSuite) and `videos`.
 * Any other list of `{filename, subfolder, type}` objects is taken by its file type.
 */
import { extensionOf, mimeFromFileName, OCTET_STREAM } from '../../util/mime';
import type { FileRef, HistoryEntry, OutputFile, OutputKind } from './types';

/** The extension of a file name, lower case, without the dot; '' when it has none. */
export const fileExtension = extensionOf;

/** MIME type from a file name (the table in src/util/mime.ts); `application/octet-stream` when unknown. */
export function guessMimeType(filename: string): string {
	return mimeFromFileName(filename) ?? OCTET_STREAM;
}

function isFileRef(value: unknown): value is FileRef & Record<string, unknown> {
	if (typeof value !== 'object' || value === null) return false;
	const record = value as Record<string, unknown>;
	return typeof record.filename === 'string' && record.filename !== '';
}

const ANIMATABLE = new Set(['gif', 'webp', 'png', 'apng']);

function kindOf(key: string, filename: string, mimeType: string, animated: boolean, format?: string): OutputKind | undefined {
	const family = (format ?? mimeType).split('/')[0];
	if (key === 'audio' || mimeType.startsWith('audio/')) return 'audio';
	if (mimeType.startsWith('video/') || (format !== undefined && family === 'video')) return 'video';
	if (key === 'gifs' || key === 'videos') return ANIMATABLE.has(fileExtension(filename)) ? 'animated' : 'video';
	if (mimeType.startsWith('image/')) return animated ? 'animated' : 'image';
	return undefined;
}

/** Every media file every output node of `history` reported, in node order. */
export function extractOutputs(history: Pick<HistoryEntry, 'outputs'> | undefined | null): OutputFile[] {
	const files: OutputFile[] = [];
	const outputs = history?.outputs;
	if (!outputs || typeof outputs !== 'object') return files;
	for (const [nodeId, ui] of Object.entries(outputs)) {
		if (!ui || typeof ui !== 'object') continue;
		const animatedFlags = Array.isArray(ui.animated) ? ui.animated : [];
		for (const [key, list] of Object.entries(ui)) {
			if (key === 'animated' || !Array.isArray(list)) continue;
			list.forEach((entry, index) => {
				if (!isFileRef(entry)) return;
				const format = typeof entry.format === 'string' ? entry.format : undefined;
				const mimeType = guessMimeType(entry.filename);
				const animated = key === 'images' && Boolean(animatedFlags[index] ?? animatedFlags[0]);
				const kind = kindOf(key, entry.filename, mimeType, animated, format);
				if (!kind) return;
				files.push({
					nodeId,
					kind,
					filename: entry.filename,
					subfolder: typeof entry.subfolder === 'string' ? entry.subfolder : '',
					type: typeof entry.type === 'string' ? entry.type : 'output',
					mimeType,
					...(format !== undefined ? { format } : {}),
				});
			});
		}
	}
	return files;
}
