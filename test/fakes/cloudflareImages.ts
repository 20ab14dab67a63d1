/**
 * A Cloudflare Images API fake: a real HTTP server on 127.0.0.1 speaking the documented endpoints
 * (upload, get, delete, stats, batch token, and the batch host's paths), the `{success, errors,
 * messages, result}` envelope, error codes 5409 / 5413 / 5415 / 5455 / 10000 and 971 with HTTP 429 +
 * Retry-After, and the `Ratelimit` / `Ratelimit-Policy` headers.
 */
import { randomUUID } from 'crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

export interface FakeImage {
	id: string;
	filename: string;
	uploaded: string;
	requireSignedURLs: boolean;
	metadata: Record<string, unknown>;
	bytes: Buffer;
	contentType: string;
}

export interface CloudflareImagesFake {
	apiBaseUrl: string;
	batchBaseUrl: string;
	accountId: string;
	token: string;
	accountHash: string;
	images: Map<string, FakeImage>;
	/** Epoch ms of every accepted upload. */
	uploadTimes: number[];
	/** Counts of requests per route name. */
	calls: Record<string, number>;
	/** The next `count` requests answer 429 / 971 with `Retry-After: retryAfterSeconds`. */
	rateLimitNext(count: number, retryAfterSeconds: number): void;
	/** The next `count` uploads answer HTTP 500 / 5500 (or the given code). */
	failNextUploads(count: number, status?: number, code?: number): void;
	close(): Promise<void>;
}

const IMAGE_TYPES: Record<string, (b: Buffer) => boolean> = {
	'image/png': (b) => b.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
	'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8,
	'image/gif': (b) => b.toString('latin1', 0, 3) === 'GIF',
	'image/webp': (b) => b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP',
	'image/svg+xml': (b) => b.toString('utf8', 0, 200).includes('<svg'),
};

export async function startCloudflareImagesFake(
	options: { accountId?: string; token?: string; accountHash?: string; burst?: number } = {},
): Promise<CloudflareImagesFake> {
	const accountId = options.accountId ?? 'acc0123456789';
	const token = options.token ?? 'cf-api-token-secret';
	const accountHash = options.accountHash ?? 'Vi7wi5KSItxGFsWRG2Us6Q';
	const images = new Map<string, FakeImage>();
	const batchTokens = new Set<string>();
	const uploadTimes: number[] = [];
	const calls: Record<string, number> = {};
	let rateLimited = { count: 0, retryAfter: 0 };
	let failing = { count: 0, status: 500, code: 5500 };
	let remaining = options.burst ?? 1200;

	const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
		remaining = Math.max(0, remaining - 1);
		res.writeHead(status, {
			'content-type': 'application/json',
			ratelimit: `"default";r=${remaining};t=300`,
			'ratelimit-policy': '"burst";q=1200;w=300',
			...headers,
		});
		res.end(JSON.stringify(body));
	};
	const ok = (res: ServerResponse, result: unknown) => send(res, 200, { success: true, errors: [], messages: [], result, result_info: null });
	const fail = (res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>) =>
		send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null }, headers);
	const view = (image: FakeImage) => ({
		id: image.id,
		filename: image.filename,
		metadata: image.metadata,
		uploaded: image.uploaded,
		requireSignedURLs: image.requireSignedURLs,
		variants: ['public', 'thumbnail'].map((v) => `https://imagedelivery.net/${accountHash}/${image.id.split('/').map(encodeURIComponent).join('/')}/${v}`),
	});

	const readBody = (req: IncomingMessage) =>
		new Promise<Buffer>((resolve, reject) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => resolve(Buffer.concat(chunks)));
			req.on('error', reject);
		});

	const upload = async (req: IncomingMessage, res: ServerResponse) => {
		const contentType = req.headers['content-type'] ?? '';
		const body = await readBody(req);
		if (!contentType.startsWith('multipart/form-data')) return fail(res, 415, 5415, 'Images must be uploaded as a form, not as raw image data. Please use multipart/form-data format');
		if (failing.count > 0) {
			failing.count--;
			return fail(res, failing.status, failing.code, 'Internal error');
		}
		const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
		const file = form.get('file');
		if (!file || typeof file === 'string') return fail(res, 400, 5400, 'Bad request: missing file');
		const bytes = Buffer.from(await file.arrayBuffer());
		if (bytes.length > 10 * 1024 * 1024) return fail(res, 413, 5413, 'Maximum image size of 10 MB is reached');
		const type = Object.keys(IMAGE_TYPES).find((t) => IMAGE_TYPES[t](bytes));
		if (!type) return fail(res, 415, 5455, 'Unsupported image format');
		const id = (form.get('id') as string | null) ?? randomUUID();
		const metadataText = form.get('metadata') as string | null;
		if (metadataText && Buffer.byteLength(metadataText) > 1024) return fail(res, 400, 5400, 'Metadata too large');
		if (images.has(id)) return fail(res, 409, 5409, 'Resource already exists');
		const image: FakeImage = {
			id,
			filename: file.name,
			uploaded: new Date().toISOString(),
			requireSignedURLs: form.get('requireSignedURLs') === 'true',
			metadata: metadataText ? (JSON.parse(metadataText) as Record<string, unknown>) : {},
			bytes,
			contentType: type,
		};
		images.set(id, image);
		uploadTimes.push(Date.now());
		return ok(res, view(image));
	};

	const server = createServer((req, res) => {
		void (async () => {
			const url = new URL(req.url ?? '/', 'http://x');
			const auth = req.headers.authorization ?? '';
			const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
			let path = url.pathname;
			let batch = false;
			const apiPrefix = `/client/v4/accounts/${accountId}/images/v1`;
			if (path.startsWith('/batch/images/v1')) {
				batch = true;
				path = path.slice('/batch/images/v1'.length);
			} else if (path.startsWith(apiPrefix)) path = path.slice(apiPrefix.length);
			else if (path.startsWith('/client/v4/accounts/')) {
				count('badAccount');
				await readBody(req);
				return fail(res, 403, 5403, 'Account not valid for Images');
			} else return fail(res, 404, 7003, 'No route for that URI');
			const authorised = batch ? batchTokens.has(auth.replace(/^Bearer /, '')) : auth === `Bearer ${token}`;
			if (!authorised) {
				count('unauthorised');
				await readBody(req);
				return fail(res, 401, 10000, 'Authentication error');
			}
			if (rateLimited.count > 0) {
				rateLimited.count--;
				count('rateLimited');
				await readBody(req);
				return fail(res, 429, 971, 'Please wait and consider throttling your request speed', { 'retry-after': String(rateLimited.retryAfter) });
			}
			if (req.method === 'GET' && path === '/batch_token' && !batch) {
				count('batchToken');
				const batchToken = `batch-${randomUUID()}`;
				batchTokens.add(batchToken);
				return ok(res, { token: batchToken, expiresAt: new Date(Date.now() + 3600_000).toISOString() });
			}
			if (req.method === 'GET' && path === '/stats') {
				count('stats');
				return ok(res, { count: { current: images.size, allowed: 100000 } });
			}
			if (req.method === 'POST' && path === '') {
				count(batch ? 'batchUpload' : 'upload');
				return upload(req, res);
			}
			const id = decodeURIComponent(path.replace(/^\//, ''));
			if (req.method === 'GET' && id) {
				count('get');
				const image = images.get(id);
				return image ? ok(res, view(image)) : fail(res, 404, 5404, 'Image not found');
			}
			if (req.method === 'DELETE' && id) {
				count('delete');
				return images.delete(id) ? ok(res, {}) : fail(res, 404, 5404, 'Image not found');
			}
			return fail(res, 405, 7001, 'Method not allowed');
		})().catch((error: unknown) => {
			if (!res.headersSent) fail(res, 500, 5500, String(error));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	const base = `http://127.0.0.1:${port}`;
	return {
		apiBaseUrl: `${base}/client/v4`,
		batchBaseUrl: `${base}/batch`,
		accountId,
		token,
		accountHash,
		images,
		uploadTimes,
		calls,
		rateLimitNext: (n, retryAfter) => {
			rateLimited = { count: n, retryAfter };
		},
		failNextUploads: (n, status = 500, code = 5500) => {
			failing = { count: n, status, code };
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
