import { redact, redactDeep, redactError } from './redact';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const PASSWORD = 'sEcR3t-basic-K2mWb2';

describe('redact', () => {
	it('leaves text without secrets alone, and ignores secrets too short to redact', () => {
		const text = 'ComfyUI at http://10.0.0.5:8188 answered HTTP 503 to POST /prompt; Basic auth failed.';
		expect(redact(text, [PASSWORD, '', undefined, null, 'abc'])).toBe(text);
		expect(redact('abc abc', ['abc'])).toBe('abc abc');
	});

	it('redacts the raw, percent-encoded, JSON-escaped and HTML-escaped forms', () => {
		const secret = 'to"k/en \\ é%+x';
		const forms = [
			secret,
			encodeURIComponent(secret),
			encodeURIComponent(secret).toLowerCase(),
			encodeURIComponent(encodeURIComponent(secret)),
			encodeURI(secret),
			secret.replace(/ /g, '+'),
			JSON.stringify(secret).slice(1, -1),
			JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1),
			JSON.stringify(secret).slice(1, -1).replace(/\//g, '\\/'),
			[...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
			secret.replace(/&/g, '&amp;').replace(/"/g, '&quot;'),
			[...secret].map((c) => `&#${c.codePointAt(0)};`).join(''),
		];
		for (const form of forms) expect({ form, out: redact(`before ${form} after`, [secret]) }).toEqual({ form, out: 'before *** after' });
	});

	it('redacts the base64 of a Basic value whatever the length of the user name (every length mod 3)', () => {
		for (const user of ['', 'u', 'us', 'usr', 'user', 'user5', 'matrix-user']) {
			const header = `Basic ${b64(`${user}:${PASSWORD}`)}`;
			expect({ user, out: redact(`the server said: authorization: ${header}.`, [PASSWORD]) }).toEqual({ user, out: 'the server said: authorization: Basic ***.' });
		}
	});

	it('redacts a whole base64 blob that carries a secret at any of the three alignments, in base64url and escaped', () => {
		const secrets = [PASSWORD, 'hdr"value\\with/specials'];
		for (const secret of secrets) {
			for (let prefix = 0; prefix < 6; prefix++) {
				const dump = JSON.stringify({ padding: 'x'.repeat(prefix), authorization: secret, after: 'tail' });
				const blob = b64(dump);
				const forms = [blob, Buffer.from(dump).toString('base64url'), blob.replace(/\//g, '\\/'), encodeURIComponent(blob)];
				for (const form of forms) expect({ prefix, form, out: redact(`trace=${form}; end`, [secret]) }).toEqual({ prefix, form, out: 'trace=***; end' });
			}
		}
		// base64 of the URL-encoded secret too
		expect(redact(`q ${b64(`token=${encodeURIComponent(secrets[1])}&x=1`)} q`, [secrets[1]])).toBe('q *** q');
	});

	it('keeps base64 that does not carry a secret', () => {
		const text = `id ${b64('some harmless payload of bytes')} and ${b64(`user:${PASSWORD.slice(0, -1)}`)}`;
		expect(redact(text, [PASSWORD])).toBe(text);
	});

	it('redacts overlapping forms once and keeps the text around them', () => {
		const out = redact(`a ${PASSWORD}${PASSWORD} b ${encodeURIComponent(PASSWORD)} c`, [PASSWORD, PASSWORD.slice(2), `x:${PASSWORD}`]);
		expect(out).toBe('a *** b *** c');
	});
});

describe('redactError and redactDeep', () => {
	it('redacts message, stack, description, messages and the whole cause chain', () => {
		const root = new Error(`connect failed with ${b64(`me:${PASSWORD}`)}`);
		const middle = new Error(`middle ${encodeURIComponent(PASSWORD)}`, { cause: root });
		const top = Object.assign(new Error(`top ${PASSWORD}`, { cause: middle }), {
			description: `see ${PASSWORD}`,
			messages: [`m ${PASSWORD}`],
			errorResponse: { body: { echo: PASSWORD } },
		});
		expect(redactError(top, [PASSWORD])).toBe(top);
		const all = [top.message, top.stack, top.description, ...top.messages, JSON.stringify(top.errorResponse), middle.message, middle.stack, root.message, root.stack].join('\n');
		expect(all).not.toContain(PASSWORD);
		expect(all).not.toContain(encodeURIComponent(PASSWORD));
		expect(top.message).toBe('top ***');
		expect(root.message).toBe('connect failed with ***');
	});

	it('redacts every string of a JSON value without changing the input', () => {
		const value = { error: `x ${PASSWORD}`, attempts: [{ reason: `y ${PASSWORD}` }], n: 1, ok: true, none: null };
		const out = redactDeep(value, [PASSWORD]);
		expect(out).toEqual({ error: 'x ***', attempts: [{ reason: 'y ***' }], n: 1, ok: true, none: null });
		expect(value.error).toBe(`x ${PASSWORD}`);
		const meta = redactDeep({ error: new Error(`failed with ${PASSWORD}`) }, [PASSWORD]);
		expect(meta.error).toBeInstanceOf(Error);
		expect(meta.error.message).toBe('failed with ***');
		// An error its own context points back to is visited once.
		const looped = Object.assign(new Error(`loop ${PASSWORD}`), { context: {} as Record<string, unknown> });
		looped.context.self = looped;
		expect(redactError(looped, [PASSWORD]).message).toBe('loop ***');
	});
});
