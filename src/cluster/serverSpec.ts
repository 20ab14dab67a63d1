/**
 * The credential's server list: one server per line (`URL [weight=N] [max=N] [tags=a,b] [auth=...]`,
 * blank lines and `#` comments ignored) or a JSON array of `{url, weight?, max?, tags?, auth?}`.
 * Parsing never echoes a secret: errors name the line and the fix, not the value.
 */
import { createHash } from 'crypto';
import { z } from 'zod';

import type { ServerAuth } from '../comfyui/client';

export type { ServerAuth };

export interface ServerSpec {
	/** Stable id: short sha256 of the normalised URL (without credentials). */
	id: string;
	/** Normalised base URL without credentials and without a trailing slash. */
	url: string;
	weight: number;
	/** Most prompts of ours this server may hold at once, cluster-wide. */
	max: number;
	tags: string[];
	auth: ServerAuth;
}

export const DEFAULT_WEIGHT = 1;
export const DEFAULT_MAX = 2;

export class ServerSpecError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ServerSpecError';
	}
}

const authSchema = z.discriminatedUnion('type', [
	z.object({ type: z.literal('none') }),
	z.object({ type: z.literal('bearer'), token: z.string().min(1) }),
	z.object({ type: z.literal('basic'), user: z.string().min(1), password: z.string() }),
	z.object({ type: z.literal('header'), name: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/), value: z.string() }),
]);

const weightSchema = z.number({ invalid_type_error: 'weight must be a positive number, e.g. weight=2' }).positive('weight must be a positive number, e.g. weight=2').finite('weight must be a positive number, e.g. weight=2');
const maxSchema = z.number({ invalid_type_error: 'max must be a whole number ≥ 1, e.g. max=2' }).int('max must be a whole number ≥ 1, e.g. max=2').min(1, 'max must be a whole number ≥ 1, e.g. max=2');
const tagSchema = z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'tags are comma-separated words of letters, digits, _ . : -, e.g. tags=sdxl,video');

const jsonEntrySchema = z
	.object({
		url: z.string({ required_error: 'url is required, e.g. {"url": "http://10.0.0.5:8188"}' }),
		weight: weightSchema.optional(),
		max: maxSchema.optional(),
		tags: z.union([z.array(tagSchema), z.string()]).optional(),
		auth: z.union([authSchema, z.string()]).optional(),
	})
	.strict();

export interface ParseServerOptions {
	/** Applies to entries without their own auth. */
	defaultAuth?: ServerAuth;
}

/** Parses and validates a server list. Throws ServerSpecError naming the bad line and the fix. */
export function parseServerList(text: string, options: ParseServerOptions = {}): ServerSpec[] {
	const defaultAuth = options.defaultAuth ?? { type: 'none' };
	const trimmed = text.trim();
	const specs = trimmed.startsWith('[') ? parseJson(trimmed, defaultAuth) : parseLines(text, defaultAuth);
	if (specs.length === 0) {
		throw new ServerSpecError('The server list is empty: add one ComfyUI server per line, e.g. http://10.0.0.5:8188 weight=2 max=2');
	}
	const seen = new Map<string, number>();
	specs.forEach((spec, index) => {
		const first = seen.get(spec.id);
		if (first !== undefined) {
			throw new ServerSpecError(`entry ${index + 1}: ${spec.url} is listed twice (first as entry ${first + 1}); remove one`);
		}
		seen.set(spec.id, index);
	});
	return specs;
}

function parseLines(text: string, defaultAuth: ServerAuth): ServerSpec[] {
	const specs: ServerSpec[] = [];
	text.split(/\r?\n/).forEach((raw, index) => {
		const line = raw.replace(/(^|\s)#.*$/, '').trim();
		if (line === '') return;
		const where = `line ${index + 1}`;
		const [urlText, ...options] = line.split(/\s+/);
		let weight: number | undefined;
		let max: number | undefined;
		let tags: string[] = [];
		let auth: ServerAuth | undefined;
		for (const option of options) {
			const eq = option.indexOf('=');
			const key = eq > 0 ? option.slice(0, eq).toLowerCase() : option;
			const value = eq > 0 ? option.slice(eq + 1) : '';
			switch (key) {
				case 'weight':
					weight = check(weightSchema, numberOrNaN(value), where);
					break;
				case 'max':
					max = check(maxSchema, numberOrNaN(value), where);
					break;
				case 'tags':
					tags = parseTags(value, where);
					break;
				case 'auth':
					auth = parseAuthText(value, where);
					break;
				default:
					// Quote only what reads as an option name: a stray space can split a secret off a URL.
					throw new ServerSpecError(
						`${where}: unknown option${/^[A-Za-z][A-Za-z0-9_-]{0,19}$/.test(key) ? ` "${key}"` : ` (word ${options.indexOf(option) + 2} of the line)`}; use weight=N, max=N, tags=a,b or auth=bearer:TOKEN|basic:USER:PASS|header:NAME:VALUE|none`,
					);
			}
		}
		specs.push(buildSpec(urlText, { weight, max, tags, auth }, defaultAuth, where));
	});
	return specs;
}

/**
 * What is wrong with the JSON and where, from the parser's message, without any of the input: some
 * wordings quote a slice of it (`Unexpected token 's', ..."token": sEcR3t"... is not valid JSON`),
 * and that slice may hold a secret.
 */
function jsonSyntaxProblem(message: string, text: string): string {
	const what = message.startsWith('Unexpected token')
		? 'unexpected token'
		: (/^(?:Expected|Unexpected|Unterminated|Bad|Exponent|No number)[^"`]*?(?= in JSON| at position| \(line|$)/.exec(message)?.[0] ?? 'not valid JSON');
	const position = /at position (\d+)/.exec(message);
	if (!position) return what;
	const before = text.slice(0, Number(position[1])).split('\n');
	return `${what} at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function parseJson(text: string, defaultAuth: ServerAuth): ServerSpec[] {
	let data: unknown;
	try {
		data = JSON.parse(text);
	} catch (error) {
		throw new ServerSpecError(`The server list looks like JSON but does not parse (${jsonSyntaxProblem((error as Error).message, text)}); write an array like [{"url": "http://10.0.0.5:8188", "weight": 2}]`);
	}
	if (!Array.isArray(data)) throw new ServerSpecError('The JSON server list must be an array, e.g. [{"url": "http://10.0.0.5:8188"}]');
	return data.map((entry, index) => {
		const where = `entry ${index + 1}`;
		const result = jsonEntrySchema.safeParse(entry);
		if (!result.success) {
			const issue = result.error.issues[0];
			const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
			// zod messages for auth may quote values; keep only the field name and our fix text.
			const message = issue.path[0] === 'auth' ? 'auth must be {"type": "bearer", "token": ...}, {"type": "basic", "user": ..., "password": ...}, {"type": "header", "name": ..., "value": ...} or {"type": "none"}' : issue.message;
			throw new ServerSpecError(`${where}: ${field}${message}`);
		}
		const value = result.data;
		const tags = typeof value.tags === 'string' ? parseTags(value.tags, where) : (value.tags ?? []);
		const auth = typeof value.auth === 'string' ? parseAuthText(value.auth, where) : value.auth;
		return buildSpec(value.url, { weight: value.weight, max: value.max, tags, auth }, defaultAuth, where);
	});
}

function buildSpec(
	urlText: string,
	fields: { weight?: number; max?: number; tags: string[]; auth?: ServerAuth },
	defaultAuth: ServerAuth,
	where: string,
): ServerSpec {
	let parsed: URL;
	try {
		parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(urlText) ? urlText : `http://${urlText}`);
	} catch {
		throw new ServerSpecError(`${where}: not a valid server URL; write it like http://10.0.0.5:8188`);
	}
	if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
		throw new ServerSpecError(`${where}: the URL must start with http:// or https://, e.g. http://10.0.0.5:8188`);
	}
	if (parsed.search || parsed.hash) {
		throw new ServerSpecError(`${where}: the URL must not have a query or fragment; write only the base address, e.g. http://10.0.0.5:8188`);
	}
	// user:pass@ in the URL means basic auth, unless auth= says otherwise.
	let urlAuth: ServerAuth | undefined;
	if (parsed.username || parsed.password) {
		urlAuth = { type: 'basic', user: decodeOrKeep(parsed.username), password: decodeOrKeep(parsed.password) };
		parsed.username = '';
		parsed.password = '';
	}
	if (parsed.pathname.includes('@')) {
		// A credential typed with a slip (http:/user:pass@host) lands in the path; never keep it there.
		throw new ServerSpecError(`${where}: the URL has an "@" in its path; write credentials as http://user:password@host:port or use auth=basic:USER:PASS`);
	}
	const url = normaliseUrl(parsed);
	return {
		id: serverId(url),
		url,
		weight: fields.weight ?? DEFAULT_WEIGHT,
		max: fields.max ?? DEFAULT_MAX,
		tags: fields.tags,
		auth: fields.auth ?? urlAuth ?? defaultAuth,
	};
}

/** Percent-decodes user info; a stray "%" that is not an escape stays as typed. */
function decodeOrKeep(text: string): string {
	try {
		return decodeURIComponent(text);
	} catch {
		return text;
	}
}

function normaliseUrl(parsed: URL): string {
	const path = parsed.pathname.replace(/\/+$/, '');
	return `${parsed.protocol}//${parsed.host.toLowerCase()}${path}`;
}

/** Stable id of a server: first 12 hex digits of sha256 of its normalised URL. */
export function serverId(normalisedUrl: string): string {
	return createHash('sha256').update(normalisedUrl).digest('hex').slice(0, 12);
}

/** Hash of the whole server list (ids and order-independent), used in Redis key prefixes. */
export function clusterHash(specs: ReadonlyArray<Pick<ServerSpec, 'id'>>): string {
	const ids = specs.map((s) => s.id).sort();
	return createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 10);
}

function parseTags(value: string, where: string): string[] {
	const tags = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
	for (const tag of tags) check(tagSchema, tag, where);
	return tags;
}

/** `bearer:TOKEN`, `basic:USER:PASS`, `header:NAME:VALUE` or `none`. */
function parseAuthText(value: string, where: string): ServerAuth {
	const fix = 'auth must be bearer:TOKEN, basic:USER:PASS, header:NAME:VALUE or none';
	const colon = value.indexOf(':');
	const type = (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
	const rest = colon < 0 ? '' : value.slice(colon + 1);
	let candidate: unknown;
	if (type === 'none' && rest === '') candidate = { type: 'none' };
	else if (type === 'bearer') candidate = { type: 'bearer', token: rest };
	else if (type === 'basic' || type === 'header') {
		const sep = rest.indexOf(':');
		if (sep < 0) throw new ServerSpecError(`${where}: ${fix} (the ${type} form needs two parts separated by ':')`);
		candidate = type === 'basic' ? { type, user: rest.slice(0, sep), password: rest.slice(sep + 1) } : { type, name: rest.slice(0, sep), value: rest.slice(sep + 1) };
	} else throw new ServerSpecError(`${where}: ${fix}`);
	const result = authSchema.safeParse(candidate);
	if (!result.success) {
		const field = String(result.error.issues[0].path[0] ?? 'value');
		throw new ServerSpecError(`${where}: ${fix} (the ${type} ${field} is empty or invalid)`);
	}
	return result.data;
}

function numberOrNaN(value: string): number {
	return value.trim() === '' ? Number.NaN : Number(value);
}

function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
	const result = schema.safeParse(value);
	if (!result.success) throw new ServerSpecError(`${where}: ${result.error.issues[0].message}`);
	return result.data;
}
