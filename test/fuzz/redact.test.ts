/**
 * Fuzzing redaction: a secret of any characters, echoed inside any text in any of the forms a server
 * may use (raw, URL-encoded, JSON-escaped at one or two depths, HTML-escaped, base64 or base64url of a
 * blob that holds it at any offset), never survives `redact`. The base64 check decodes every run of the
 * result at all four character offsets: an oracle independent of how `redact` finds them.
 */
import fc from 'fast-check';
import { redact } from '../../src/util/redact';
import { params } from './expect';

const secret = fc.oneof(
	fc.string({ minLength: 4, maxLength: 24 }),
	fc.string({ unit: 'grapheme', minLength: 4, maxLength: 12 }),
	fc.stringMatching(/^[A-Za-z0-9+/=_-]{4,24}$/),
	fc.constantFrom('p"a\\ss/wörd', 'a b+c%20d', '<&"\'>', 'tok\nline\ttab'),
);
const around = fc.string({ maxLength: 20 });

const encodings: Record<string, (blob: string) => string> = {
	raw: (b) => b,
	uri: (b) => encodeURIComponent(b),
	uriTwice: (b) => encodeURIComponent(encodeURIComponent(b)),
	form: (b) => encodeURIComponent(b).replace(/%20/g, '+'),
	json: (b) => JSON.stringify(b).slice(1, -1),
	jsonTwice: (b) => JSON.stringify(JSON.stringify(b).slice(1, -1)).slice(1, -1),
	jsonSlashes: (b) => JSON.stringify(b).slice(1, -1).replace(/\//g, '\\/'),
	html: (b) => b.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
	base64: (b) => Buffer.from(b).toString('base64'),
	base64url: (b) => Buffer.from(b).toString('base64url'),
	base64OfJson: (b) => Buffer.from(JSON.stringify({ echo: b })).toString('base64'),
};

/** Whether any base64 run of `text`, decoded from any of its first four characters, holds `value`. */
function base64Holds(text: string, value: string): boolean {
	for (const [run] of text.matchAll(/[A-Za-z0-9+/_-]{4,}/g)) {
		const normal = run.replace(/-/g, '+').replace(/_/g, '/');
		for (let k = 0; k < 4; k++) if (Buffer.from(normal.slice(k), 'base64').toString('utf8').includes(value)) return true;
	}
	return false;
}

describe('redaction fuzzing', () => {
	it.each(Object.keys(encodings))('no secret survives its %s form inside any text', (name) => {
		const encode = encodings[name];
		fc.assert(
			fc.property(secret, around, around, around, (s, before, after, outside) => {
				const text = `${outside}[${encode(`${before}${s}${after}`)}]${outside}`;
				const out = redact(text, [s]);
				expect(out).not.toContain(s);
				if (name.startsWith('base64')) {
					expect(base64Holds(out, s)).toBe(false);
					expect(base64Holds(out, JSON.stringify(s).slice(1, -1))).toBe(false);
				} else {
					expect(out).not.toContain(encode(s));
				}
			}),
			params(),
		);
	});
});
