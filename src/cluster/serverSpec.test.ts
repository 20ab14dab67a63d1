import { clusterHash, parseServerList, ServerSpecError } from './serverSpec';

describe('parseServerList (lines)', () => {
	it('parses options, defaults, comments and blank lines', () => {
		const specs = parseServerList(`
# fleet
http://10.0.0.5:8188/ weight=2 max=3 tags=sdxl,video auth=bearer:tok123
10.0.0.6:8188   # defaults
https://gpu.example.com/comfy auth=header:X-Api-Key:k:with:colons
http://u:p%40ss@10.0.0.7:8188
`);
		expect(specs).toHaveLength(4);
		expect(specs[0]).toMatchObject({ url: 'http://10.0.0.5:8188', weight: 2, max: 3, tags: ['sdxl', 'video'], auth: { type: 'bearer', token: 'tok123' } });
		expect(specs[1]).toMatchObject({ url: 'http://10.0.0.6:8188', weight: 1, max: 2, tags: [], auth: { type: 'none' } });
		expect(specs[2]).toMatchObject({ url: 'https://gpu.example.com/comfy', auth: { type: 'header', name: 'X-Api-Key', value: 'k:with:colons' } });
		expect(specs[3]).toMatchObject({ url: 'http://10.0.0.7:8188', auth: { type: 'basic', user: 'u', password: 'p@ss' } });
		expect(specs[0].id).toMatch(/^[0-9a-f]{12}$/);
	});

	it('gives stable ids independent of credentials, case and trailing slash', () => {
		const [a] = parseServerList('http://GPU1:8188/ auth=bearer:x1234');
		const [b] = parseServerList('http://user:pw@gpu1:8188');
		expect(a.id).toBe(b.id);
		expect(a.url).toBe('http://gpu1:8188');
	});

	it('applies the default auth only to lines without auth=', () => {
		const specs = parseServerList('http://a:1\nhttp://b:1 auth=none', { defaultAuth: { type: 'bearer', token: 'dflt' } });
		expect(specs[0].auth).toEqual({ type: 'bearer', token: 'dflt' });
		expect(specs[1].auth).toEqual({ type: 'none' });
	});

	it.each([
		['http://a:1\n\nhttp://b:1 weight=-1', 'line 3: weight must be a positive number, e.g. weight=2'],
		['http://a:1 weight=abc', 'line 1: weight must be a positive number, e.g. weight=2'],
		['http://a:1 max=1.5', 'line 1: max must be a whole number ≥ 1, e.g. max=2'],
		['http://a:1 max=0', 'line 1: max must be a whole number ≥ 1'],
		['http://a:1 speed=3', 'line 1: unknown option "speed"'],
		['ftp://a:1', 'line 1: the URL must start with http:// or https://'],
		['http://a:1?x=1', 'line 1: the URL must not have a query'],
		['http://a:1 auth=token:s3cr3tvalue', 'line 1: auth must be bearer:TOKEN'],
		['http://a:1 auth=basic:onlyuser', 'line 1: auth must be bearer:TOKEN'],
		['http://a:1 tags=a;b', 'line 1: tags are comma-separated'],
		['http://a:1\nhttp://a:1/', 'entry 2: http://a:1 is listed twice'],
		['# nothing\n', 'The server list is empty'],
	])('rejects %j with a helpful message', (text, message) => {
		expect(() => parseServerList(text)).toThrow(ServerSpecError);
		expect(() => parseServerList(text)).toThrow(message);
	});

	it('never echoes secrets in errors', () => {
		const texts = ['http://a:1 auth=weird:s3cr3tvalue', 'http://a:1 auth=header:bad name:s3cr3tvalue', 'http://a:1 auth=bearer:s3cr3tvalue weight=0'];
		for (const text of texts) {
			let message = '';
			try {
				parseServerList(text);
			} catch (error) {
				message = (error as Error).message;
			}
			expect(message).not.toBe('');
			expect(message).not.toContain('s3cr3tvalue');
		}
	});
});

describe('parseServerList (JSON)', () => {
	it('parses an array of objects with string or structured auth', () => {
		const specs = parseServerList(
			JSON.stringify([
				{ url: 'http://a:8188', weight: 3, max: 1, tags: ['x'], auth: { type: 'basic', user: 'u', password: 'p' } },
				{ url: 'http://b:8188', tags: 'y,z', auth: 'bearer:t0ken' },
			]),
		);
		expect(specs[0]).toMatchObject({ weight: 3, max: 1, tags: ['x'], auth: { type: 'basic', user: 'u', password: 'p' } });
		expect(specs[1]).toMatchObject({ weight: 1, max: 2, tags: ['y', 'z'], auth: { type: 'bearer', token: 't0ken' } });
	});

	it('names the bad entry and field without echoing secrets', () => {
		expect(() => parseServerList('[{"url":"http://a:1"},{"url":"http://b:1","weight":0}]')).toThrow('entry 2: weight: weight must be a positive number');
		expect(() => parseServerList('[{"url":"http://a:1","auth":{"type":"bearer","tokn":"s3cr3tvalue"}}]')).toThrow(/entry 1: auth: auth must be/);
		expect(() => parseServerList('[{"url":"http://a:1","auth":{"type":"bearer","tokn":"s3cr3tvalue"}}]')).not.toThrow(/s3cr3tvalue/);
		expect(() => parseServerList('[{"url":"http://a:1"')).toThrow('does not parse');
		expect(() => parseServerList('[{"uri":"http://a:1"}]')).toThrow('entry 1');
	});

	it('says what is wrong with JSON that does not parse, and where, without quoting any of it', () => {
		const secret = 'sEcR3tZq9VaLx123';
		const cases: Array<[string, RegExp]> = [
			// Node 20 quotes a slice of the input around an unexpected token.
			[`[{"url": "http://a:1", "auth": {"type": "bearer", "token": ${secret}}}]`, /\(unexpected token\)/],
			[`[{"url": "http://a:1", "auth": "bearer:${secret}"`, /\(Expected ',' or '}' after property value at line 1, column \d+\)/],
			[`[{"url": "http://a:1",\n "auth": "bearer:${secret}`, /\(Unterminated string at line 2, column \d+\)/],
			[`[{"url": "http://a:1"}] ${secret}`, /\(Unexpected non-whitespace character after JSON at line 1, column 25\)/],
		];
		for (const [text, expected] of cases) {
			let message = '';
			try {
				parseServerList(text);
			} catch (error) {
				message = (error as Error).message;
			}
			expect(message).toMatch(expected);
			for (let i = 0; i + 5 <= secret.length; i++) expect(message).not.toContain(secret.slice(i, i + 5));
		}
	});
});

describe('clusterHash', () => {
	it('depends on the set of servers, not their order or auth', () => {
		const a = parseServerList('http://a:1\nhttp://b:1');
		const b = parseServerList('http://b:1 auth=bearer:zzzz\nhttp://a:1');
		const c = parseServerList('http://a:1\nhttp://c:1');
		expect(clusterHash(a)).toBe(clusterHash(b));
		expect(clusterHash(a)).not.toBe(clusterHash(c));
		expect(clusterHash(a)).toMatch(/^[0-9a-f]{10}$/);
	});
});
