import { extensionFromMime, extensionOf, mimeFromExtension, mimeFromFileName } from './mime';

describe('the MIME table', () => {
	it('maps extensions to types, in any case, with or without the dot', () => {
		expect(mimeFromExtension('png')).toBe('image/png');
		expect(mimeFromExtension('.JPEG')).toBe('image/jpeg');
		expect(mimeFromExtension('m4v')).toBe('video/mp4');
		expect(mimeFromExtension('wav')).toBe('audio/wav');
		expect(mimeFromExtension('glb')).toBe('model/gltf-binary');
		expect(mimeFromExtension('exe')).toBeUndefined();
		expect(mimeFromExtension('')).toBeUndefined();
		expect(mimeFromExtension(undefined)).toBeUndefined();
	});

	it('never answers with what every object inherits', () => {
		for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
			expect(mimeFromExtension(name)).toBeUndefined();
			expect(extensionFromMime(name)).toBeUndefined();
		}
	});

	it('reads a file name by its last extension', () => {
		expect(extensionOf('ComfyUI_00001_.PNG')).toBe('png');
		expect(extensionOf('clip.final.webm')).toBe('webm');
		expect(extensionOf('README')).toBe('');
		expect(mimeFromFileName('AnimateDiff_00002.gif')).toBe('image/gif');
		expect(mimeFromFileName('png')).toBeUndefined();
		expect(mimeFromFileName('notes.unknown')).toBeUndefined();
	});

	it('gives the first extension of a type back, ignoring parameters, case and aliases', () => {
		expect(extensionFromMime('image/jpeg')).toBe('jpg');
		expect(extensionFromMime('video/mp4')).toBe('mp4');
		expect(extensionFromMime('Image/PNG; charset=binary')).toBe('png');
		expect(extensionFromMime('audio/x-wav')).toBe('wav');
		expect(extensionFromMime('application/x-unknown')).toBeUndefined();
		expect(extensionFromMime(undefined)).toBeUndefined();
	});

	it('round-trips: the extension of every type names that type again', () => {
		for (const ext of ['png', 'jpg', 'jpeg', 'gif', 'webp', 'apng', 'avif', 'heic', 'bmp', 'tif', 'tiff', 'svg', 'mp4', 'm4v', 'mov', 'webm', 'mkv', 'avi', 'wav', 'flac', 'mp3', 'ogg', 'opus', 'm4a', 'aac', 'glb', 'pdf', 'json', 'txt']) {
			const mime = mimeFromExtension(ext);
			expect({ ext, mime: mime && mimeFromExtension(extensionFromMime(mime)) }).toEqual({ ext, mime });
		}
	});
});
