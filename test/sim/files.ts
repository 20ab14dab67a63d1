/**
 * Decides which file in input/, output/ and temp/ a name means, what nodes read and write there, and
 * how /view and /upload/image answer.
 */
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import type { IncomingMessage, ServerResponse } from 'http';
import { basename, extname, join, posix, relative, resolve, sep } from 'path';
import { faultyView, type Faults } from './faults';
import { contentTypeFor, parseMultipart, readBody, send500, sendEmpty, sendJson, sendText } from './http-util';
import { encodePng, encodeWebp, pngSize } from './media';
import type { NodeIo } from './nodes';
import type { SimulatorRecords } from './types';

/** The data folder of one server (kept across restarts, but for temp/). */
export class DataFiles {
	constructor(
		private readonly dataDir: string,
		private readonly faults: Faults,
		private readonly records: SimulatorRecords,
	) {}

	/** Files in input/ (with subfolder paths), sorted, as LoadImage's combo. */
	inputFiles(): string[] {
		const root = join(this.dataDir, 'input');
		const out: string[] = [];
		const walk = (dir: string, prefix: string): void => {
			for (const e of readdirSync(dir, { withFileTypes: true })) {
				if (e.isDirectory()) walk(join(dir, e.name), prefix + e.name + '/');
				else if (e.isFile()) out.push(prefix + e.name);
			}
		};
		if (existsSync(root)) walk(root, '');
		return out.sort();
	}

	/** "name.png [output]" / "sub/name.png" → absolute path if that file exists inside the folder. */
	resolveAnnotated(name: string, defaultType: 'input' | 'output' | 'temp'): string | null {
		let type = defaultType;
		let file = name;
		const m = / \[(input|output|temp)\]$/.exec(name);
		if (m) {
			type = m[1] as typeof type;
			file = name.slice(0, -m[0].length);
		}
		const base = join(this.dataDir, type);
		const full = resolve(base, file);
		if (!full.startsWith(base + sep)) return null;
		try {
			return statSync(full).isFile() ? full : null;
		} catch {
			return null;
		}
	}

	/** What nodes may do with the data folder; `onOutputFile` is told of every file written to output/. */
	nodeIo(onOutputFile?: () => void): NodeIo {
		const dirOf = (type: string, subfolder: string): string => join(this.dataDir, type, subfolder);
		return {
			nextCounter: (type, subfolder, prefix) => {
				const dir = dirOf(type, subfolder);
				let max = 0;
				if (existsSync(dir)) {
					for (const f of readdirSync(dir)) {
						if (!f.startsWith(prefix + '_')) continue;
						const m = /^_(\d{5,})_?\./.exec(f.slice(prefix.length));
						if (m) max = Math.max(max, Number(m[1]));
					}
				}
				return max + 1;
			},
			writeFile: (type, subfolder, filename, bytes) => {
				const dir = dirOf(type, subfolder);
				mkdirSync(dir, { recursive: true });
				const full = join(dir, filename);
				writeFileSync(full, bytes);
				if (type === 'output') onOutputFile?.();
				return full;
			},
			readInput: (name) => {
				const f = this.resolveAnnotated(name, 'input');
				return f ? readFileSync(f) : null;
			},
			randomLetters: (n) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join(''),
		};
	}

	async view(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
		if (!q.has('filename')) return sendEmpty(res, 404);
		let filename = q.get('filename') ?? '';
		let type = q.get('type') ?? 'output';
		const m = / \[(input|output|temp)\]$/.exec(filename);
		if (m) {
			type = m[1];
			filename = filename.slice(0, -m[0].length);
		}
		if (!filename || filename.startsWith('/') || filename.includes('..')) return sendEmpty(res, 400);
		if (!['output', 'input', 'temp'].includes(type)) return sendEmpty(res, 400);
		let dir = join(this.dataDir, type);
		if (q.has('subfolder')) {
			const full = resolve(dir, q.get('subfolder') ?? '');
			const rel = relative(dir, full);
			if (rel.startsWith('..') || resolve(full) !== full.replace(/[/\\]$/, '')) return sendEmpty(res, 403);
			dir = full;
		}
		const name = basename(filename);
		const file = join(dir, name);
		let bytes: Buffer;
		try {
			if (!statSync(file).isFile()) return sendEmpty(res, 404);
			bytes = readFileSync(file);
		} catch {
			return sendEmpty(res, 404);
		}
		const fault = type === 'input' ? undefined : this.faults.viewFaultFor(name);
		if (fault) return faultyView(res, bytes, contentTypeFor(name), fault);
		let contentType = contentTypeFor(name);
		const preview = q.get('preview');
		const channel = q.get('channel');
		const size = pngSize(bytes) ?? { width: 64, height: 64 };
		if (preview) {
			// Re-encoding as the real server does (fmt not webp/jpeg → webp); the simulator answers webp.
			bytes = encodeWebp({ ...size, color: 0x808080 });
			contentType = 'image/webp';
		} else if (channel === 'rgb' || channel === 'a') {
			bytes = channel === 'a' ? encodePng({ ...size, color: 0xffffff }) : bytes;
			contentType = 'image/png';
		}
		const headers: Record<string, string | number> = {
			'Content-Type': contentType,
			'Content-Disposition': `filename="${name}"`,
			'Accept-Ranges': 'bytes',
			'Last-Modified': statSync(file).mtime.toUTCString(),
		};
		const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
		if (range && (range[1] || range[2])) {
			const start = range[1] ? Number(range[1]) : Math.max(0, bytes.length - Number(range[2]));
			const end = range[1] && range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
			if (start >= bytes.length || start > end) {
				res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
				return void res.end();
			}
			const chunk = bytes.subarray(start, end + 1);
			res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': chunk.length });
			return void res.end(chunk);
		}
		res.writeHead(200, { ...headers, 'Content-Length': bytes.length });
		res.end(bytes);
	}

	async upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const body = await readBody(req);
		if (body === 'too-large') return sendText(res, 413, 'Request Entity Too Large');
		const parts = parseMultipart(body, String(req.headers['content-type'] ?? ''));
		if (!parts) return sendEmpty(res, 400);
		const field = (n: string): string | undefined => {
			const p = parts.find((x) => x.name === n && x.filename === undefined);
			return p ? p.data.toString('utf8') : undefined;
		};
		const image = parts.find((p) => p.name === 'image' && p.filename !== undefined);
		const typeField = field('type') ?? 'input';
		if (!['input', 'temp', 'output'].includes(typeField)) return send500(res);
		if (!image || !image.filename) return sendEmpty(res, 400);
		const subfolder = field('subfolder') ?? '';
		const overwrite = field('overwrite');
		const uploadDir = join(this.dataDir, typeField);
		const folder = resolve(uploadDir, posix.normalize(subfolder || '.'));
		let filename = basename(image.filename);
		let filepath = resolve(folder, filename);
		if (!filepath.startsWith(uploadDir + sep)) return sendEmpty(res, 400);
		mkdirSync(folder, { recursive: true });
		let duplicate = false;
		if (!(overwrite === 'true' || overwrite === '1')) {
			const ext = extname(filename);
			const stem = filename.slice(0, filename.length - ext.length);
			let i = 1;
			while (existsSync(filepath)) {
				if (sha(readFileSync(filepath)) === sha(image.data)) {
					duplicate = true;
					break;
				}
				filename = `${stem} (${i})${ext}`;
				filepath = join(folder, filename);
				i++;
			}
		}
		if (!duplicate) writeFileSync(filepath, image.data);
		this.records.uploads.push(subfolder ? `${subfolder}/${filename}` : filename);
		sendJson(res, 200, { name: filename, subfolder, type: typeField });
	}
}

export function sha(b: Buffer): string {
	return createHash('sha256').update(b).digest('hex');
}
