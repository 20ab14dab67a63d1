import { guessMimeType } from '../../src/comfyui/client/outputs';
import { resolveContentType } from '../../src/storage/contentType';
import { mimeFromFileName } from '../../src/util/mime';
import { contentTypeFor } from './http-util';

/** The client, storage and the simulator read one table (src/util/mime.ts). */
describe('one MIME table for client, storage and simulator', () => {
	const names = ['a.png', 'b.JPG', 'c.jpeg', 'd.webp', 'e.gif', 'f.bmp', 'g.tiff', 'h.mp4', 'i.m4v', 'j.webm', 'k.mov', 'l.flac', 'm.mp3', 'n.ogg', 'o.json', 'p.txt', 'q.glb', 'r.heic'];

	it('every reader gives a file the type of the table', () => {
		for (const name of names) {
			const mime = mimeFromFileName(name);
			expect(mime).toBeDefined();
			expect([name, guessMimeType(name), resolveContentType({ fileName: name }), contentTypeFor(name)]).toEqual([name, mime, mime, mime]);
		}
	});

	it('unknown extensions are application/octet-stream everywhere', () => {
		for (const name of ['x.unknown', 'page.html', 'script.js', 'noextension']) {
			expect([guessMimeType(name), resolveContentType({ fileName: name }), contentTypeFor(name)]).toEqual(Array(3).fill('application/octet-stream'));
		}
	});

	it("the simulator answers WAV as Python's mimetypes does", () => {
		expect(contentTypeFor('ComfyUI_00001_.wav')).toBe('audio/x-wav');
		expect(guessMimeType('ComfyUI_00001_.wav')).toBe('audio/wav');
	});
});
