/**
 * Fuzzing what authors type into credentials and text fields: server lists (lines, JSON arrays,
 * URLs with credentials, garbage), the ComfyUI cluster, Redis, S3 and Cloudflare credentials, object
 * key templates and binary property names. Every call returns or throws a documented error with a
 * message; planted secrets never appear in a message.
 */
import fc from 'fast-check';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { closeAllRuntimes, getRuntime } from '../../src/cluster/runtime';
import { parseServerList, ServerSpecError } from '../../src/cluster/serverSpec';
import { createRedis } from '../../src/cluster/store/redisConnection';
import { renderKey, KEY_PLACEHOLDERS } from '../../src/storage/keyTemplate';
import { buildPublicUrl, resolveS3Location } from '../../src/storage/presets';
import { S3Storage } from '../../src/storage/s3';
import { CloudflareImagesClient } from '../../src/storage/cloudflareImages';
import { clusterConfig, redisFromCredential } from '../../nodes/ComfyUiCluster/helpers/engine';
import { cloudflareConfigFromCredential, s3ConfigFromCredential } from '../../nodes/CloudImageStorage/helpers/engine';
import { assertDocumented, params, returnsOrThrowsDocumented, timeBoxed } from './expect';

const SECRET = 'Pl4nted-S3cret-7f3a';
const SECRET_B = 'Another-S3cret-c0de';

const word = fc.string({ minLength: 0, maxLength: 12 });
const junk = fc.oneof(word, fc.string({ unit: 'binary', maxLength: 16 }), fc.constantFrom('%', '%zz', '%E0%A4%A', '@', ':', '/', '#', '?', '[', ']', ' ', '\t', '=', ',', '\u0000', '\u202e'));

const urlText = fc
	.record({
		scheme: fc.constantFrom('http://', 'https://', '', 'ftp://', 'ws://', 'HTTP://', 'http:/'),
		creds: fc.option(fc.tuple(fc.oneof(word, junk), fc.constantFrom(SECRET, `${SECRET}%`, `${SECRET}%zz`, encodeURIComponent(SECRET))), { nil: undefined }),
		host: fc.oneof(fc.constantFrom('10.0.0.5', 'gpu-1.local', '[::1]', '127.0.0.1', 'localhost', '', '999.1.1.1', 'ex ample'), junk),
		port: fc.constantFrom('', ':8188', ':0', ':99999', ':abc', ':'),
		path: fc.oneof(fc.constantFrom('', '/', '/comfy/', '/a?b=1', '/#x'), junk),
	})
	.map(({ scheme, creds, host, port, path }) => `${scheme}${creds ? `${creds[0]}:${creds[1]}@` : ''}${host}${port}${path}`);

const option = fc.oneof(
	fc.tuple(fc.constantFrom('weight', 'max', 'WEIGHT', 'tags'), fc.oneof(fc.constantFrom('2', '0', '-1', '1.5', 'NaN', 'Infinity', '1e309', 'a,b', 'sdxl,video', ''), junk)).map(([k, v]) => `${k}=${v}`),
	fc.constantFrom(`auth=bearer:${SECRET}`, `auth=basic:user:${SECRET}`, `auth=header:X-Key:${SECRET}`, `auth=basic:${SECRET}`, `auth=header::${SECRET}`, `auth=header:Bad Name:${SECRET}`, 'auth=none', 'auth=', 'auth=digest:x'),
	junk,
);

const line = fc.oneof(
	fc.tuple(urlText, fc.array(option, { maxLength: 3 })).map(([url, opts]) => [url, ...opts].join(' ')),
	fc.constantFrom('', '# a comment', '   ', '\r'),
	junk,
);

const jsonEntry = fc.record(
	{
		url: fc.oneof(urlText, fc.jsonValue({ maxDepth: 1 })),
		weight: fc.oneof(fc.double(), fc.jsonValue({ maxDepth: 1 })),
		max: fc.oneof(fc.integer(), fc.double(), fc.jsonValue({ maxDepth: 1 })),
		tags: fc.oneof(fc.array(word), word, fc.jsonValue({ maxDepth: 1 })),
		auth: fc.oneof(
			fc.constantFrom({ type: 'bearer', token: SECRET }, { type: 'basic', user: 'u', password: SECRET }, { type: 'header', name: 'X-Key', value: SECRET }, { type: 'header', name: 'bad name', value: SECRET }, { type: 'bearer', token: '' }, `bearer:${SECRET}`, { type: 'digest', secret: SECRET }),
			fc.jsonValue({ maxDepth: 1 }),
		),
		extra: fc.jsonValue({ maxDepth: 1 }),
	},
	{ requiredKeys: [] },
);

const serverList = fc.oneof(
	fc.array(line, { maxLength: 6 }).map((lines) => lines.join('\n')),
	fc.array(jsonEntry, { maxLength: 4 }).map((entries) => JSON.stringify(entries)),
	fc.array(jsonEntry, { maxLength: 3 }).chain((entries) => fc.nat().map((n) => JSON.stringify(entries).slice(0, n % (JSON.stringify(entries).length + 1)))),
	fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
	fc.string({ unit: 'grapheme', maxLength: 60 }),
);

/** What an n8n credential field can hold: text, a number, a switch, or nothing. */
const anyField = fc.oneof(fc.constant(undefined), fc.constant(null), word, junk, fc.integer(), fc.double(), fc.boolean());

const clusterCredential = fc.record({
	// An expression may hand over the JSON array itself.
	servers: fc.oneof(serverList, anyField, fc.array(jsonEntry, { maxLength: 2 })),
	authentication: fc.oneof(fc.constantFrom('none', 'bearer', 'basic', 'header'), anyField),
	token: fc.oneof(fc.constant(SECRET), anyField),
	user: anyField,
	password: fc.oneof(fc.constant(SECRET), anyField),
	headerName: fc.oneof(fc.constantFrom('X-Key', 'Authorization', 'bad name', ''), anyField),
	headerValue: fc.oneof(fc.constant(SECRET), anyField),
	statePrefix: anyField,
}) as fc.Arbitrary<ICredentialDataDecryptedObject>;

/** Addresses that need no DNS lookup (a pending lookup would outlive the test). */
const redisHost = fc.oneof(fc.constantFrom(undefined, null, '', ' ', '127.0.0.1', '::1', '256.1.1.1', '127.0.0.1:6379', '%'), fc.integer());

const redisCredential = fc.record({
	mode: fc.oneof(fc.constantFrom('single', 'sentinel', 'cluster'), anyField),
	host: redisHost,
	port: anyField,
	database: anyField,
	user: anyField,
	password: fc.oneof(fc.constant(SECRET_B), anyField),
	ssl: anyField,
	disableTlsVerification: anyField,
	sentinels: fc.oneof(fc.constantFrom('127.0.0.1:1,127.0.0.2:2', '127.0.0.1', ':', ',,', '127.0.0.1:x', ''), redisHost),
	sentinelName: anyField,
	clusterNodes: fc.oneof(fc.constantFrom('127.0.0.1:1 127.0.0.2:2', '127.0.0.1:y', ':', ''), redisHost),
}) as fc.Arbitrary<ICredentialDataDecryptedObject>;

function noSecret(message: string): void {
	expect(message).not.toContain(SECRET);
	expect(message).not.toContain(SECRET_B);
}

afterAll(() => closeAllRuntimes());

describe('server list fuzzing', () => {
	it('parses or fails with a ServerSpecError that names no secret', () => {
		fc.assert(
			fc.property(serverList, fc.constantFrom(undefined, { type: 'bearer' as const, token: SECRET }), (text, defaultAuth) => {
				const { value, error } = returnsOrThrowsDocumented(() => parseServerList(text, { defaultAuth }), [ServerSpecError]);
				if (error) noSecret(error.message);
				for (const spec of value ?? []) {
					expect(spec.url).toMatch(/^https?:\/\/[^@\s]*$/);
					noSecret(spec.url);
					expect(spec.max).toBeGreaterThanOrEqual(1);
					expect(spec.weight).toBeGreaterThan(0);
				}
			}),
			params(),
		);
	});
});

describe('credential fuzzing', () => {
	it('the cluster credential becomes a runtime or a ServerSpecError that names no secret', async () => {
		await fc.assert(
			fc.asyncProperty(clusterCredential, async (credential) => {
				const config = returnsOrThrowsDocumented(() => clusterConfig(credential), []).value!;
				try {
					const runtime = await timeBoxed(getRuntime(config), 2_000, 'getRuntime');
					expect(runtime.servers.length).toBeGreaterThan(0);
				} catch (error) {
					assertDocumented(error, [ServerSpecError]);
					noSecret((error as Error).message);
				}
			}),
			params(100),
		);
		await closeAllRuntimes();
	});

	it('the Redis credential becomes a client configuration or a clear error', () => {
		fc.assert(
			fc.property(redisCredential, (credential) => {
				const config = returnsOrThrowsDocumented(() => redisFromCredential(credential), []).value!;
				expect(['single', 'sentinel', 'cluster']).toContain(config.mode);
				// A complete Sentinel setup starts connecting, and ioredis keeps a sentinel socket alive for
				// seconds after disconnect: its mapping is checked above, its connection elsewhere.
				if (config.mode === 'sentinel' && config.sentinels?.length && config.name) return;
				const { value: client, error } = returnsOrThrowsDocumented(() => createRedis({ ...config, connectTimeoutMs: 50 }), [Error]);
				if (error) noSecret(error.message);
				client?.disconnect();
			}),
			params(100),
		);
	});

	it('the S3 credential resolves its endpoint and public URL, or fails with a message', () => {
		const s3Credential = fc.record({
			preset: fc.oneof(fc.constantFrom('aws', 'r2', 'gcs', 'minio', 'b2', 'wasabi', 'custom'), anyField),
			endpoint: fc.oneof(fc.constantFrom('http://127.0.0.1:9000', 'https://s3.example.com/', 'ftp://x', 'not a url', ''), urlText, anyField),
			region: anyField,
			accountId: anyField,
			addressingStyle: fc.oneof(fc.constantFrom('preset', 'path', 'virtual'), anyField),
			checksumMode: fc.oneof(fc.constantFrom('preset', 'WHEN_REQUIRED', 'WHEN_SUPPORTED'), anyField),
			accessKeyId: anyField,
			secretAccessKey: fc.oneof(fc.constant(SECRET), anyField),
			sessionToken: fc.oneof(fc.constant(SECRET_B), anyField),
			bucket: anyField,
			publicUrlBase: fc.oneof(fc.constantFrom('https://cdn.example.com/{key}', 'https://cdn.example.com', '{endpoint}/{bucket}/{key}'), anyField),
		}) as fc.Arbitrary<ICredentialDataDecryptedObject>;
		fc.assert(
			fc.property(s3Credential, word, fc.string({ maxLength: 40 }), (credential, bucket, key) => {
				const { value: config, error } = returnsOrThrowsDocumented(() => s3ConfigFromCredential(credential, bucket), [Error]);
				if (error || !config) return;
				const location = returnsOrThrowsDocumented(() => resolveS3Location(config), [Error]);
				if (location.error) noSecret(location.error.message);
				if (location.value) {
					const url = returnsOrThrowsDocumented(() => buildPublicUrl({ location: location.value!, bucket: config.bucket, key: key || 'k', publicUrlBase: config.publicUrlBase }), [Error]).value;
					if (url !== undefined) noSecret(url);
				}
				const storage = returnsOrThrowsDocumented(() => new S3Storage(config), [Error]);
				if (storage.error) noSecret(storage.error.message);
				storage.value?.destroy();
			}),
			params(150),
		);
	});

	it('the Cloudflare Images credential builds a client or fails with a message', () => {
		const cfCredential = fc.record({ accountId: anyField, apiToken: fc.oneof(fc.constant(SECRET), anyField), deliveryDomain: anyField, accountHash: anyField, apiBaseUrl: fc.oneof(urlText, anyField), batchBaseUrl: anyField }) as fc.Arbitrary<ICredentialDataDecryptedObject>;
		fc.assert(
			fc.property(cfCredential, (credential) => {
				const { value: config } = returnsOrThrowsDocumented(() => cloudflareConfigFromCredential(credential), [Error]);
				if (!config) return;
				const { error } = returnsOrThrowsDocumented(() => new CloudflareImagesClient(config), [Error]);
				if (error) noSecret(error.message);
			}),
			params(150),
		);
	});
});

describe('object key template fuzzing', () => {
	const piece = fc.oneof(
		fc.constantFrom(...KEY_PLACEHOLDERS).map((p) => `{{${p}}}`),
		fc.constantFrom('{{date:YYYY/MM/DD}}', '{{date:}}', '{{ date : HH-mm }}', '{{date:YYYY/../DD}}', '{{unknown}}', '{{', '}}', '{{}}', '{{ fileName }}', '{{date:{{x}}}}'),
		fc.constantFrom('/', '//', '.', '..', '-', '_', ' ', '%', '\\', '?', '#'),
		word,
		junk,
	);
	const template = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
	const context = fc.record({
		executionId: fc.oneof(word, junk, fc.constantFrom('..', '.', '/', '')),
		itemIndex: fc.oneof(fc.nat(), fc.integer(), fc.double()),
		property: fc.oneof(fc.constantFrom('data', 'image_0', '..', '.', '/', '', 'a/b', 'ünï', '\u0000'), word, junk),
		fileName: fc.option(fc.oneof(fc.constantFrom('ComfyUI_00001_.png', '.png', 'a.', '..', '../x.png', 'no-ext', 'a.b.c'), word, junk), { nil: undefined }),
		ext: fc.option(fc.oneof(fc.constantFrom('png', '', '.', '..', 'tar.gz'), junk), { nil: undefined }),
		sha256: fc.option(fc.constantFrom('ab'.repeat(32), ''), { nil: undefined }),
		nodeName: fc.option(fc.oneof(word, junk), { nil: undefined }),
		workflowId: fc.option(fc.oneof(word, junk), { nil: undefined }),
		now: fc.option(fc.date({ noInvalidDate: false }), { nil: undefined }),
	});

	it('renders a valid object key or fails with a message', () => {
		fc.assert(
			fc.property(template, context, (t, ctx) => {
				const { value: key } = returnsOrThrowsDocumented(() => renderKey(t, ctx), [Error]);
				if (key === undefined) return;
				expect(key.length).toBeGreaterThan(0);
				expect(key.startsWith('/')).toBe(false);
				expect(key.split('/').some((s) => s === '' || s === '.' || s === '..')).toBe(false);
				expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
			}),
			params(),
		);
	});
});
