import { readFileSync } from 'fs';
import { Readable } from 'stream';
import { collect, removeSpooled, spooledFiles } from './spool';

/** `count` chunks of `size` bytes, chunk i filled with i. */
function chunks(count: number, size: number): Readable {
	return Readable.from(Array.from({ length: count }, (_, i) => Buffer.alloc(size, i)));
}

describe('collect', () => {
	it('keeps a stream up to the threshold in memory', async () => {
		const collected = await collect(chunks(4, 1000), 4000);
		expect('data' in collected && collected.data.length).toBe(4000);
		expect(spooledFiles()).toEqual([]);
	});

	it('writes a larger stream to a temporary file, every byte in order', async () => {
		const collected = await collect(chunks(10, 1000), 2500);
		if (!('file' in collected)) throw new Error('expected a spooled file');
		expect(collected.file.size).toBe(10_000);
		expect(spooledFiles()).toEqual([collected.file.path]);
		const bytes = readFileSync(collected.file.path);
		expect(bytes.length).toBe(10_000);
		for (let i = 0; i < 10; i++) expect(bytes.subarray(i * 1000, (i + 1) * 1000).equals(Buffer.alloc(1000, i))).toBe(true);
		await removeSpooled(collected.file.path);
		await removeSpooled(collected.file.path);
		expect(spooledFiles()).toEqual([]);
	});

	it('removes the temporary file and passes the error on when the stream fails after spooling began', async () => {
		const seen: string[][] = [];
		const failing = Readable.from(
			(async function* () {
				yield* chunks(6, 1000);
				seen.push(spooledFiles());
				throw new Error('the server went away');
			})(),
		);
		await expect(collect(failing, 2500)).rejects.toThrow('the server went away');
		expect(seen[0]).toHaveLength(1);
		expect(spooledFiles()).toEqual([]);
	});
});
