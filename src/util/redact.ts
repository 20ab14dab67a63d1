/**
 * Removes secrets from text before it reaches a log line, an error message or an output item.
 *
 * A server may echo a secret in another form than the one we hold: percent-encoded (any mix of raw and
 * `%XX`, either case, encoded again as `%25XX`), JSON-escaped (`\"`, `\\`, `\/`, `\u00XX`, at any depth
 * of escaping), HTML-escaped, or inside base64 (an `Authorization: Basic …` value, a dump of the request
 * headers). Every one of these is redacted; a base64 run that carries a secret is redacted whole.
 */

const MIN_SECRET_LENGTH = 4;
const REDACTED = '***';

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Hex digits of `value` as a case-insensitive pattern: 0x2f → `2[Ff]`. */
function hexPattern(value: number, width = 2): string {
	return [...value.toString(16).toUpperCase().padStart(width, '0')].map((d) => (/[A-F]/.test(d) ? `[${d}${d.toLowerCase()}]` : d)).join('');
}

/** Percent-encoding of one byte, also when the `%` itself was encoded again (`%252F`). */
const percent = (byte: number): string => `%(?:25)*${hexPattern(byte)}`;

/** JSON's short escapes; any number of backslashes stands for escaping at any depth. */
const JSON_SHORT: Record<string, string> = { '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };
const HTML_NAMED: Record<string, string> = { '"': 'quot', '&': 'amp', '<': 'lt', '>': 'gt', "'": 'apos' };

/** Every way one character (code point) of a secret may be written in text. */
function charForms(char: string): string {
	const forms: string[] = [];
	// A backslash escaped once is two, twice four; a quote or slash may carry any number in front.
	if (char === '\\') forms.push('\\\\+');
	else if (char === '"' || char === '/') forms.push(`\\\\*${escapeRegExp(char)}`);
	else forms.push(escapeRegExp(char));
	forms.push([...Buffer.from(char, 'utf8')].map(percent).join(''));
	if (char === ' ') forms.push('\\+');
	const units = Array.from({ length: char.length }, (_, i) => char.charCodeAt(i));
	forms.push(units.map((u) => `\\\\+u${hexPattern(u, 4)}`).join(''));
	if (JSON_SHORT[char]) forms.push(`\\\\+${JSON_SHORT[char]}`);
	const codePoint = char.codePointAt(0) ?? 0;
	forms.push(`&#0*${codePoint};`, `&#[xX]0*${hexPattern(codePoint, 1)};`);
	if (HTML_NAMED[char]) forms.push(`&${HTML_NAMED[char]};`);
	return `(?:${forms.join('|')})`;
}

/** One base64 character, also percent-encoded or JSON-escaped; `+` and `/` also as base64url's `-` and `_`. */
function base64CharForms(char: string): string {
	if (char === '+') return `(?:[+-]|${percent(0x2b)})`;
	if (char === '/') return `(?:\\\\*\\/|_|${percent(0x2f)})`;
	return char;
}

/** A maximal run of base64 (or base64url) text, escaped or not, with its padding. */
const BASE64_RUN = /(?:[A-Za-z0-9+/_-]|\\+\/|%(?:25)*2[BbFf])+(?:=|%(?:25)*3[Dd]|\\+u003[Dd])*/g;

/**
 * The characters of `bytes`' base64 that do not depend on what surrounds them, for each of the three
 * alignments (0, 1 or 2 bytes before them in their 3-byte group): a character encodes 6 bits, and only
 * those whose 6 bits all fall inside `bytes` are the same in every enclosing encoding.
 */
function stableBase64Cores(bytes: Buffer): string[] {
	const bits = bytes.length * 8;
	return [0, 1, 2].map((align) => {
		const encoded = Buffer.concat([Buffer.alloc(align), bytes]).toString('base64');
		return encoded.slice(Math.ceil((8 * align) / 6), Math.floor((8 * align + bits) / 6));
	});
}

/** encodeURIComponent, which throws on a lone surrogate (then the raw text stands for it). */
function uriComponent(text: string): string {
	try {
		return encodeURIComponent(text);
	} catch {
		return text;
	}
}

interface Matcher {
	/** The secret in text: raw, percent-, JSON- or HTML-escaped. */
	text: RegExp;
	/** Tells whether a base64 run carries the secret (raw, JSON-escaped or percent-encoded before encoding). */
	base64: RegExp;
}

const matchers = new Map<string, Matcher>();
const MAX_CACHED_MATCHERS = 512;

function matcherFor(secret: string): Matcher {
	let matcher = matchers.get(secret);
	if (matcher) return matcher;
	const encodedForms = new Set([secret, JSON.stringify(secret).slice(1, -1), uriComponent(secret)]);
	const cores = new Set([...encodedForms].flatMap((form) => stableBase64Cores(Buffer.from(form, 'utf8'))));
	matcher = {
		text: new RegExp([...secret].map(charForms).join(''), 'g'),
		base64: new RegExp([...cores].map((core) => [...core].map(base64CharForms).join('')).join('|')),
	};
	if (matchers.size >= MAX_CACHED_MATCHERS) matchers.clear();
	matchers.set(secret, matcher);
	return matcher;
}

/** Secrets long enough to redact without destroying ordinary text, each once. */
function usable(secrets: ReadonlyArray<string | undefined | null>): string[] {
	return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH))];
}

/** Replaces every occurrence of each secret, in any of the forms above, with `***`. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
	const list = usable(secrets);
	if (list.length === 0 || text.length === 0) return text;
	const ranges: Array<[number, number]> = [];
	const found = list.map(matcherFor);
	for (const { text: pattern } of found) {
		for (const m of text.matchAll(pattern)) ranges.push([m.index, m.index + m[0].length]);
	}
	for (const run of text.matchAll(BASE64_RUN)) {
		if (found.some((f) => f.base64.test(run[0]))) ranges.push([run.index, run.index + run[0].length]);
	}
	if (ranges.length === 0) return text;
	ranges.sort((a, b) => a[0] - b[0]);
	// Overlapping or touching ranges become one `***`.
	let out = '';
	let at = -1;
	for (const [start, end] of ranges) {
		if (start > at) out += text.slice(Math.max(at, 0), start) + REDACTED;
		at = Math.max(at, end);
	}
	return out + text.slice(at);
}

/** Every string inside a JSON-like value, redacted (a new value; errors inside are redacted in place, the rest is not changed). */
export function redactDeep<T>(value: T, secrets: ReadonlyArray<string | undefined | null>): T {
	const list = usable(secrets);
	return list.length === 0 ? value : (deep(value, list, new Set()) as T);
}

/**
 * Redacts an error in place, with everything that travels with it: message, stack, `description`,
 * `messages`, `errorResponse`, `context` and the whole `cause` chain. Returns the same error.
 */
export function redactError<E>(error: E, secrets: ReadonlyArray<string | undefined | null>): E {
	const list = usable(secrets);
	if (list.length > 0) inPlace(error, list, new Set());
	return error;
}

/** `seen` is shared by both walks, so an error reachable from its own context or cause is visited once. */
function deep(v: unknown, list: string[], seen: Set<unknown>): unknown {
	if (typeof v === 'string') return redact(v, list);
	if (v === null || typeof v !== 'object' || seen.has(v) || Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return v;
	// An error's message and stack are not enumerable: copying its entries would drop them.
	if (v instanceof Error) return inPlace(v, list, seen);
	seen.add(v);
	const out: unknown = Array.isArray(v) ? v.map((x) => deep(x, list, seen)) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x, list, seen)]));
	seen.delete(v);
	return out;
}

function inPlace<E>(error: E, list: string[], seen: Set<unknown>): E {
	let current: unknown = error;
	while (current !== null && typeof current === 'object' && !seen.has(current)) {
		seen.add(current);
		const e = current as Record<string, unknown>;
		for (const key of ['message', 'stack', 'description']) {
			if (typeof e[key] === 'string') setProperty(e, key, redact(e[key] as string, list));
		}
		for (const key of ['messages', 'errorResponse', 'context']) {
			if (e[key] !== null && typeof e[key] === 'object') setProperty(e, key, deep(e[key], list, seen));
		}
		current = e.cause;
		if (typeof current === 'string') setProperty(e, 'cause', redact(current, list));
	}
	return error;
}

/** Sets a property, also one that is read-only on this object (defined anew); a frozen object keeps its own. */
function setProperty(target: Record<string, unknown>, key: string, value: unknown): void {
	if (target[key] === value) return;
	try {
		target[key] = value;
		if (target[key] === value) return;
		Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: Object.prototype.propertyIsEnumerable.call(target, key) });
	} catch {
		// Frozen: nothing can be changed.
	}
}

/** Strips userinfo and signature-like query parameters from a URL for display. */
export function redactUrl(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.username || parsed.password) {
			parsed.username = parsed.username ? '***' : '';
			parsed.password = parsed.password ? '***' : '';
		}
		for (const key of [...parsed.searchParams.keys()]) {
			if (/signature|sig|token|key|credential|auth|password|secret/i.test(key)) parsed.searchParams.set(key, '***');
		}
		return parsed.toString();
	} catch {
		// Not a URL: still hide what reads as user:password@ (with or without a scheme).
		return url.replace(/^([a-z][a-z0-9+.-]*:\/*)?[\s\S]*@/i, '$1***@');
	}
}
