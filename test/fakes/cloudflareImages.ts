/**
 * A Cloudflare Images API fake: a real HTTP server on 127.0.0.1 speaking the documented endpoints
 * (upload, get, delete, stats, batch token, and the batch host's paths), the `{success, errors,
 * messages, result}` envelope, error codes 5400 / 5403 / 5404 / 5409 / 5413 / 5415 / 5455 / 10000,
 * route errors 7000 / 7003, and the `Ratelimit` / `Ratelimit-Policy` headers.
 *
 * True to Cloudflare where a client can go wrong:
 * - `{image_id}` is exactly one path segment, percent-decoded once: `renders%2Fx` is the image
 *   `renders/x`; an unencoded `renders/x` is another route, answered 404 / 7003 like the real API.
 * - an image's metadata comes back as `meta`, the field the API schema names.
 * - the global budget (1,200 requests per 5 minutes per token) counts every request on the API host;
 *   past it, HTTP 429 / 971 and every call of the token is blocked for five minutes. Retry-After is
 *   sent unless told not to.
 * - batch tokens expire (`expiresAt`) and are refused afterwards.
 * - HEIC is accepted; a custom ID cannot be combined with `requireSignedURLs`.
 * - images are delivered at `<deliveryBaseUrl>/<hash>/<id>/<variant>`, and private ones only with a
 *   valid `exp` + `sig` (HMAC-SHA256 of the path and query, as "Serve private images" documents).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'crypto';
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

export interface CloudflareImagesFakeOptions {
	accountId?: string;
	token?: string;
	accountHash?: string;
	/** Requests in the budget window (default 1200, Cloudflare's global limit). */
	burst?: number;
	/** The global API budget per token: requests per window, and how long a token is blocked past it. */
	budget?: { requests?: number; windowMs?: number; blockMs?: number };
	/** Whether the budget's 429 carries Retry-After (default true, as Cloudflare documents). */
	retryAfterOnBudget?: boolean;
	/** Lifetime of batch tokens (default one hour). */
	batchTokenTtlMs?: number;
	/** The Images signing key that private images' delivery URLs must be signed with. */
	signingKey?: string;
}

export interface FakeRequest {
	method: string;
	/** The raw path as it arrived, still percent-encoded. */
	path: string;
	host: 'api' | 'batch' | 'delivery' | 'unknown';
	at: number;
}

export interface CloudflareImagesFake {
	apiBaseUrl: string;
	batchBaseUrl: string;
	/** Where delivery URLs are served: replace `https://imagedelivery.net` with it. */
	deliveryBaseUrl: string;
	accountId: string;
	token: string;
	accountHash: string;
	signingKey: string;
	images: Map<string, FakeImage>;
	/** Epoch ms of every accepted upload. */
	uploadTimes: number[];
	/** Counts of requests per route name. */
	calls: Record<string, number>;
	/** Every request, in arrival order. */
	requests: FakeRequest[];
	/** The next `count` requests answer 429 / 971, with `Retry-After: retryAfterSeconds` unless it is null. */
	rateLimitNext(count: number, retryAfterSeconds: number | null): void;
	/** The next `count` uploads answer HTTP 500 / 5500 (or the given code). */
	failNextUploads(count: number, status?: number, code?: number): void;
	/** Every batch token issued so far expires now, or after `afterRequests` more requests on the batch host. */
	expireBatchTokens(afterRequests?: number): void;
	close(): Promise<void>;
}

const IMAGE_TYPES: Record<string, (b: Buffer) => boolean> = {
	'image/png': (b) => b.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
	'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8,
	'image/gif': (b) => b.toString('latin1', 0, 3) === 'GIF',
	'image/webp': (b) => b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP',
	'image/svg+xml': (b) => b.toString('utf8', 0, 200).includes('<svg'),
	'image/heic': (b) => b.toString('latin1', 4, 8) === 'ftyp' && ['heic', 'heix', 'heim', 'heis', 'mif1', 'msf1'].includes(b.toString('latin1', 8, 12)),
};
const VARIANTS = ['public', 'thumbnail'];

export async function startCloudflareImagesFake(options: CloudflareImagesFakeOptions = {}): Promise<CloudflareImagesFake> {
	const accountId = options.accountId ?? 'acc0123456789';
	const token = options.token ?? 'cf-api-token-secret';
	const accountHash = options.accountHash ?? 'Vi7wi5KSItxGFsWRG2Us6Q';
	const signingKey = options.signingKey ?? 'cf-images-signing-key-secret';
	const budget = {
		requests: options.budget?.requests ?? options.burst ?? 1200,
		windowMs: options.budget?.windowMs ?? 300_000,
		blockMs: options.budget?.blockMs ?? 300_000,
	};
	const retryAfterOnBudget = options.retryAfterOnBudget ?? true;
	const batchTokenTtlMs = options.batchTokenTtlMs ?? 3600_000;
	const images = new Map<string, FakeImage>();
	const batchTokens = new Map<string, number>();
	const uploadTimes: number[] = [];
	const calls: Record<string, number> = {};
	const requests: FakeRequest[] = [];
	/** Times of the API-host requests in the current window, and the end of a block. */
	const spent: number[] = [];
	let blockedUntil = 0;
	let rateLimited: { count: number; retryAfter: number | null } = { count: 0, retryAfter: 0 };
	let failing = { count: 0, status: 500, code: 5500 };
	/** Batch-host requests until every token issued so far expires (-1: none planned). */
	let batchTokensLeft = -1;
	const expireBatchTokens = () => {
		for (const key of batchTokens.keys()) batchTokens.set(key, 0);
	};

	const remaining = (now: number) => {
		while (spent.length > 0 && spent[0] <= now - budget.windowMs) spent.shift();
		return Math.max(0, budget.requests - spent.length);
	};
	const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
		const now = Date.now();
		const reset = spent.length > 0 ? Math.ceil((spent[0] + budget.windowMs - now) / 1000) : Math.ceil(budget.windowMs / 1000);
		res.writeHead(status, {
			'content-type': 'application/json',
			ratelimit: `"default";r=${remaining(now)};t=${Math.max(0, reset)}`,
			'ratelimit-policy': `"burst";q=${budget.requests};w=${Math.ceil(budget.windowMs / 1000)}`,
			...headers,
		});
		res.end(JSON.stringify(body));
	};
	const ok = (res: ServerResponse, result: unknown) => send(res, 200, { success: true, errors: [], messages: [], result, result_info: null });
	const fail = (res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>) =>
		send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null }, headers);
	const deliveryPath = (image: FakeImage, variant: string) => `/${accountHash}/${image.id.split('/').map(encodeURIComponent).join('/')}/${variant}`;
	const view = (image: FakeImage) => ({
		id: image.id,
		filename: image.filename,
		meta: image.metadata,
		uploaded: image.uploaded,
		requireSignedURLs: image.requireSignedURLs,
		variants: VARIANTS.map((v) => `https://imagedelivery.net${deliveryPath(image, v)}`),
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
		const customId = form.get('id') as string | null;
		const id = customId ?? randomUUID();
		const metadataText = form.get('metadata') as string | null;
		if (metadataText && Buffer.byteLength(metadataText) > 1024) return fail(res, 400, 5400, 'Metadata too large');
		const requireSignedURLs = form.get('requireSignedURLs') === 'true';
		if (customId !== null && requireSignedURLs) return fail(res, 400, 5400, 'Bad request: private images do not support custom paths');
		if (images.has(id)) return fail(res, 409, 5409, 'Resource already exists');
		const image: FakeImage = {
			id,
			filename: file.name,
			uploaded: new Date().toISOString(),
			requireSignedURLs,
			metadata: metadataText ? (JSON.parse(metadataText) as Record<string, unknown>) : {},
			bytes,
			contentType: type,
		};
		images.set(id, image);
		uploadTimes.push(Date.now());
		return ok(res, view(image));
	};

	/** `GET /<hash>/<id...>/<variant>[?exp=&sig=]`: the image's bytes, private ones only with a valid signature. */
	const deliver = (url: URL, res: ServerResponse) => {
		const segments = url.pathname.slice(1).split('/');
		const variant = segments.pop() ?? '';
		let id: string;
		try {
			id = segments.slice(1).map(decodeURIComponent).join('/');
		} catch {
			id = '';
		}
		const image = images.get(id);
		const text = (status: number, body: string) => {
			res.writeHead(status, { 'content-type': 'text/plain' });
			res.end(body);
		};
		if (!image || !VARIANTS.includes(variant)) return text(404, 'ERROR 9404: image or variant not found');
		if (image.requireSignedURLs) {
			const sig = url.searchParams.get('sig') ?? '';
			const exp = Number(url.searchParams.get('exp'));
			const signed = new URLSearchParams(url.searchParams);
			signed.delete('sig');
			const expected = createHmac('sha256', signingKey).update(`${url.pathname}?${signed.toString()}`).digest();
			const given = Buffer.from(sig, 'hex');
			const valid = given.length === expected.length && timingSafeEqual(given, expected);
			if (!valid || !(exp * 1000 > Date.now())) return text(403, 'ERROR 9425: Image access denied');
		}
		res.writeHead(200, { 'content-type': image.contentType, 'content-length': String(image.bytes.length) });
		res.end(image.bytes);
	};

	const route = async (req: IncomingMessage, res: ServerResponse, url: URL, host: FakeRequest['host'], sub: string, batch: boolean) => {
		const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
		const auth = (req.headers.authorization ?? '').replace(/^Bearer /, '');
		if (batch && batchTokensLeft >= 0 && batchTokensLeft-- === 0) expireBatchTokens();
		const authorised = batch ? (batchTokens.get(auth) ?? 0) > Date.now() : auth === token;
		if (!authorised) {
			count(batch && batchTokens.has(auth) ? 'expiredBatchToken' : 'unauthorised');
			await readBody(req);
			return fail(res, 401, 10000, 'Authentication error');
		}
		if (host === 'api') {
			// Cloudflare's global budget: every call of the token counts; past it, all are blocked.
			const now = Date.now();
			if (now >= blockedUntil && remaining(now) === 0) blockedUntil = now + budget.blockMs;
			if (now < blockedUntil) {
				count('overBudget');
				await readBody(req);
				const headers: Record<string, string> = retryAfterOnBudget ? { 'retry-after': String(Math.ceil((blockedUntil - now) / 1000)) } : {};
				return fail(res, 429, 971, 'Please wait and consider throttling your request speed', headers);
			}
			spent.push(now);
		}
		if (rateLimited.count > 0) {
			rateLimited.count--;
			count('rateLimited');
			await readBody(req);
			const headers: Record<string, string> = rateLimited.retryAfter === null ? {} : { 'retry-after': String(rateLimited.retryAfter) };
			return fail(res, 429, 971, 'Please wait and consider throttling your request speed', headers);
		}
		if (req.method === 'GET' && sub === '/batch_token' && !batch) {
			count('batchToken');
			const batchToken = `batch-${randomUUID()}`;
			const expiresAt = Date.now() + batchTokenTtlMs;
			batchTokens.set(batchToken, expiresAt);
			return ok(res, { token: batchToken, expiresAt: new Date(expiresAt).toISOString() });
		}
		if (req.method === 'GET' && sub === '/stats' && !batch) {
			count('stats');
			return ok(res, { count: { current: images.size, allowed: 100000 } });
		}
		if (req.method === 'POST' && sub === '') {
			count(batch ? 'batchUpload' : 'upload');
			return upload(req, res);
		}
		// `{image_id}` is one path segment, decoded once; anything with more segments is another route.
		const segment = /^\/([^/]+)$/.exec(sub)?.[1];
		if (segment === undefined) {
			count('noRoute');
			await readBody(req);
			return fail(res, 404, 7003, `Could not route to ${url.pathname}, perhaps your object identifier is invalid?`);
		}
		let id: string;
		try {
			id = decodeURIComponent(segment);
		} catch {
			return fail(res, 400, 5400, 'Bad request: the image ID is not valid percent-encoding');
		}
		if (req.method === 'GET') {
			count('get');
			const image = images.get(id);
			return image ? ok(res, view(image)) : fail(res, 404, 5404, 'Image not found');
		}
		if (req.method === 'DELETE') {
			count('delete');
			return images.delete(id) ? ok(res, {}) : fail(res, 404, 5404, 'Image not found');
		}
		return fail(res, 405, 7001, 'Method not allowed');
	};

	const server = createServer((req, res) => {
		void (async () => {
			const url = new URL(req.url ?? '/', 'http://x');
			const path = url.pathname;
			const apiPrefix = `/client/v4/accounts/${accountId}/images/v1`;
			const batchPrefix = '/batch/images/v1';
			const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
			const host: FakeRequest['host'] = under(apiPrefix) || path.startsWith('/client/v4/') ? 'api' : under(batchPrefix) ? 'batch' : path.startsWith(`/${accountHash}/`) ? 'delivery' : 'unknown';
			requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', host, at: Date.now() });
			if (host === 'delivery' && req.method === 'GET') return deliver(url, res);
			if (under(apiPrefix)) return route(req, res, url, 'api', path.slice(apiPrefix.length), false);
			if (under(batchPrefix)) return route(req, res, url, 'batch', path.slice(batchPrefix.length), true);
			await readBody(req);
			if (path.startsWith('/client/v4/accounts/') && path.split('/')[4] !== accountId) {
				calls.badAccount = (calls.badAccount ?? 0) + 1;
				return fail(res, 403, 5403, 'Account not valid for Images');
			}
			return fail(res, 400, 7000, 'No route for that URI');
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
		deliveryBaseUrl: base,
		accountId,
		token,
		accountHash,
		signingKey,
		images,
		uploadTimes,
		calls,
		requests,
		rateLimitNext: (n, retryAfter) => {
			rateLimited = { count: n, retryAfter };
		},
		failNextUploads: (n, status = 500, code = 5500) => {
			failing = { count: n, status, code };
		},
		expireBatchTokens: (afterRequests = 0) => {
			if (afterRequests > 0) batchTokensLeft = afterRequests;
			else expireBatchTokens();
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
