/** Upload: every (or the named) binary property of every item, through one concurrency limit. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { DEFAULT_BACKOFF, uploadAll, type FileResult, type UploadBody, type UploadFileSpec, type UploadTarget } from '../../../src/storage';
import {
	DEFAULT_ATTEMPTS_PER_FILE,
	DEFAULT_CONCURRENCY,
	DEFAULT_KEY_TEMPLATE,
	DEFAULT_MAX_RETRY_AFTER_S,
	DEFAULT_MULTIPART_THRESHOLD_MB,
	DEFAULT_PRESIGN_EXPIRY_S,
	DEFAULT_RATE_PER_SECOND,
	DEFAULT_RETRY_DELAY_MS,
	DEFAULT_SIGNED_URL_EXPIRY_S,
	DEFAULT_UPLOAD_URL_KIND,
	DEFAULT_VARIANT,
	LIMITS,
	MB,
	type UrlKind,
} from '../helpers/defaults';
import type { EngineSettings, Provider, StorageEngine } from '../helpers/engine';
import { oneValueForTheRun, runWide, sameForEveryItem } from '../../shared/runWide';
import { itemError, toNodeError } from '../helpers/errors';
import { bucketField, cfOnly, presignExpiryField, s3Only } from './common.descriptions';

const show = { operation: ['upload'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Binary Properties',
		name: 'binaryProperties',
		type: 'string',
		default: '',
		placeholder: 'data, image_1',
		displayOptions: { show },
		description: 'Comma-separated binary properties to upload; empty = every binary property of the item',
	},
	{ ...bucketField, displayOptions: { show: { ...show, ...s3Only } } },
	{
		displayName: 'Object Key',
		name: 'keyTemplate',
		type: 'string',
		default: DEFAULT_KEY_TEMPLATE,
		displayOptions: { show: { ...show, ...s3Only } },
		description:
			'Key of each object. Placeholders: {{executionId}}, {{itemIndex}}, {{property}}, {{fileName}}, {{baseName}}, {{ext}}, {{sha256}}, {{sha256short}}, {{date:YYYY/MM/DD}}, {{timestamp}}, {{uuid}}, {{nodeName}}, {{workflowId}}. In expression mode write them as {{ "{{sha256}}" }}.',
	},
	{
		displayName: 'Image ID',
		name: 'imageId',
		type: 'string',
		default: '',
		placeholder: 'renders/{{executionId}}-{{itemIndex}}',
		displayOptions: { show: { ...show, ...cfOnly } },
		description: 'Custom image ID with the same placeholders as an object key; empty = Cloudflare assigns one. An ID that already exists returns the stored image.',
	},
	{
		displayName: 'URL',
		name: 'urlKind',
		type: 'options',
		default: DEFAULT_UPLOAD_URL_KIND,
		displayOptions: { show: { ...show, ...s3Only } },
		options: [
			{ name: 'Public URL', value: 'public', description: 'Endpoint, public base or CDN URL; the object must be publicly readable' },
			{ name: 'Presigned URL', value: 'presigned', description: 'A signed GET URL that expires' },
			{ name: 'None', value: 'none' },
		],
		description: runWide('Which URL to return for each object'),
	},
	presignExpiryField(show, runWide('Lifetime of presigned URLs, at most 7 days (604800 seconds)')),
	{
		displayName: 'Variant',
		name: 'variant',
		type: 'string',
		default: DEFAULT_VARIANT,
		displayOptions: { show: { ...show, ...cfOnly } },
		description: runWide('Variant for the returned delivery URL (all variant URLs are returned too), e.g. public or w=800 with flexible variants'),
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show },
		options: [
			{ displayName: 'Access Control (ACL)', name: 'acl', type: 'options', default: '', displayOptions: { show: { '/provider': ['s3'] } }, options: [
				{ name: 'Bucket Default (Send None)', value: '' },
				{ name: 'Private', value: 'private' },
				{ name: 'Public Read', value: 'public-read' },
			], description: 'Canned ACL; never sent to R2 or B2, which reject it' },
			{ displayName: 'Attempts', name: 'attempts', type: 'number', default: DEFAULT_ATTEMPTS_PER_FILE, typeOptions: { minValue: LIMITS.attempts.min, maxValue: LIMITS.attempts.max }, description: 'Tries per file, including the first; retries wait about 1 s, 2 s, 4 s (or what the provider asks)' },
			{ displayName: 'Cache-Control', name: 'cacheControl', type: 'string', default: '', placeholder: 'public, max-age=31536000, immutable', displayOptions: { show: { '/provider': ['s3'] } }, description: 'Cache-Control header stored with each object' },
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				default: DEFAULT_CONCURRENCY,
				typeOptions: { minValue: LIMITS.concurrency.min, maxValue: LIMITS.concurrency.max },
				description: runWide('Files uploading at once across all items (Cloudflare Images: its Requests per Second governs)'),
			},
			{ displayName: 'Content Type', name: 'contentType', type: 'string', default: '', placeholder: 'image/png', description: 'Overrides the type; by default the binary\'s mime type, or the file\'s bytes when that is generic' },
			{ displayName: 'Content-Disposition', name: 'contentDisposition', type: 'string', default: '', placeholder: 'inline', displayOptions: { show: { '/provider': ['s3'] } }, description: 'Content-Disposition header stored with each object' },
			{ displayName: 'Initial Retry Delay (Ms)', name: 'retryDelayMs', type: 'number', default: DEFAULT_RETRY_DELAY_MS, typeOptions: { minValue: 1 }, description: 'First backoff delay; it doubles per retry, with jitter' },
			{ displayName: 'Max Wait Asked by Provider (Seconds)', name: 'maxRetryAfterSeconds', type: 'number', default: DEFAULT_MAX_RETRY_AFTER_S, description: runWide('Longest Retry-After to wait for; a longer demand fails the file with a clear message') },
			{ displayName: 'Metadata', name: 'metadata', type: 'fixedCollection', default: {}, typeOptions: { multipleValues: true }, placeholder: 'Add Metadata', description: 'Key-value metadata stored with each file (x-amz-meta-* or Cloudflare metadata, at most 1024 bytes there)', options: [
				{ displayName: 'Entry', name: 'entry', values: [
					{ displayName: 'Key', name: 'key', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				] },
			] },
			{ displayName: 'Multipart Above (MB)', name: 'multipartThresholdMb', type: 'number', default: DEFAULT_MULTIPART_THRESHOLD_MB, typeOptions: { minValue: LIMITS.multipartThresholdMb.min }, displayOptions: { show: { '/provider': ['s3'] } }, description: runWide('Files above this size, and every video, are streamed in parts') },
			{ displayName: 'Rate Limit (Requests per Second)', name: 'ratePerSecond', type: 'number', default: DEFAULT_RATE_PER_SECOND, typeOptions: { minValue: 0.1 }, displayOptions: { show: { '/provider': ['cloudflareImages'] } }, description: runWide('Sustained rate of API requests (uploads, and the lookups of Skip If It Exists and 5409). Cloudflare allows 1200 API calls per 5 minutes per token (4/s) and blocks the token for 5 minutes past that; the node never sends more than 1200 in 5 minutes. With a batch token: requests per second to the batch host (default 50).') },
			{ displayName: 'Require Signed URLs', name: 'requireSignedURLs', type: 'boolean', default: false, displayOptions: { show: { '/provider': ['cloudflareImages'] } }, description: runWide('Whether images are private: their URLs are returned signed, which needs the credential\'s URL Signing Key. Cannot be combined with a custom image ID or a flexible variant.') },
			{ displayName: 'Signed URL Expiry (Seconds)', name: 'signedUrlExpiry', type: 'number', default: DEFAULT_SIGNED_URL_EXPIRY_S, typeOptions: { minValue: 1 }, displayOptions: { show: { '/provider': ['cloudflareImages'] } }, description: runWide('With Require Signed URLs: how long the returned URLs stay valid') },
			{ displayName: 'Skip If It Exists', name: 'skipIfExists', type: 'boolean', default: false, description: 'Whether to check first (HeadObject, or the image ID) and skip files already stored; best with {{sha256}} keys' },
			{ displayName: 'Use Batch Token', name: 'useBatchToken', type: 'boolean', default: false, displayOptions: { show: { '/provider': ['cloudflareImages'] } }, description: runWide('Whether to upload through a batch token (200 requests/s, outside the global API limit)') },
		],
	},
];

interface UploadOptions {
	acl?: '' | 'private' | 'public-read';
	attempts?: number;
	cacheControl?: string;
	concurrency?: number;
	contentDisposition?: string;
	contentType?: string;
	retryDelayMs?: number;
	maxRetryAfterSeconds?: number;
	metadata?: { entry?: Array<{ key: string; value: string }> };
	multipartThresholdMb?: number;
	ratePerSecond?: number;
	requireSignedURLs?: boolean;
	signedUrlExpiry?: number;
	skipIfExists?: boolean;
	useBatchToken?: boolean;
}

/** Each item's options (an expression in one is evaluated for that item), or why they could not be read. */
function readOptions(ctx: IExecuteFunctions): Array<UploadOptions | Error> {
	return ctx.getInputData().map((_item, i) => {
		try {
			return ctx.getNodeParameter('options', i, {}) as UploadOptions;
		} catch (error) {
			return error as Error;
		}
	});
}

/** Labels of the options that decide for the whole run (one client, one concurrency limit, one kind of URL). */
const RUN_OPTION_LABELS = {
	concurrency: 'Concurrency',
	maxRetryAfterSeconds: 'Max Wait Asked by Provider (Seconds)',
	multipartThresholdMb: 'Multipart Above (MB)',
	ratePerSecond: 'Rate Limit (Requests per Second)',
	requireSignedURLs: 'Require Signed URLs',
	signedUrlExpiry: 'Signed URL Expiry (Seconds)',
	useBatchToken: 'Use Batch Token',
} as const;

type RunOptions = Pick<UploadOptions, keyof typeof RUN_OPTION_LABELS>;

/** The run-wide options: the same for every item whose options could be read, or refused naming the item. */
function runOptions(ctx: IExecuteFunctions, perItem: Array<UploadOptions | Error>): RunOptions {
	const valid = perItem.flatMap((options, itemIndex) => (options instanceof Error ? [] : [{ itemIndex, options }]));
	const run: RunOptions = {};
	for (const [name, label] of Object.entries(RUN_OPTION_LABELS) as Array<[keyof RunOptions, string]>) {
		const value = oneValueForTheRun(ctx, `Options → ${label}`, valid.map(({ itemIndex, options }) => ({ itemIndex, value: options[name] })));
		if (value !== undefined) Object.assign(run, { [name]: value });
	}
	return run;
}

/** The client's settings that Upload's options decide: multipart threshold and sockets (S3), rate and batch token (Cloudflare). */
export function engineSettings(this: IExecuteFunctions): EngineSettings {
	const options = runOptions(this, readOptions(this));
	const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
	return {
		s3: { multipartThresholdBytes: (options.multipartThresholdMb ?? DEFAULT_MULTIPART_THRESHOLD_MB) * MB, maxSockets: Math.max(64, concurrency * 2) },
		cloudflare: { ratePerSecond: options.ratePerSecond, useBatchToken: options.useBatchToken, maxWaitMs: (options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_S) * 1000 },
	};
}

export async function execute(this: IExecuteFunctions, engine: StorageEngine, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const provider = engine.provider;
	const perItem = readOptions(this);
	const options = runOptions(this, perItem);
	const failed = new Map<number, unknown>();
	const files: UploadFileSpec[] = [];
	const keyContext = { executionId: this.getExecutionId() ?? 'manual', nodeName: this.getNode().name, workflowId: String(this.getWorkflow().id ?? '') };

	for (let i = 0; i < items.length; i++) {
		try {
			const itemOptions = perItem[i];
			if (itemOptions instanceof Error) throw itemOptions;
			files.push(...(await collectFiles.call(this, items[i], i, provider, itemOptions, keyContext)));
		} catch (error) {
			failed.set(i, error);
			if (!this.continueOnFail()) itemError(this, error, i);
		}
	}

	let target: UploadTarget;
	if (engine.provider === 's3') {
		const urlKind = sameForEveryItem(this, 'URL', (i) => this.getNodeParameter('urlKind', i, DEFAULT_UPLOAD_URL_KIND) as UrlKind);
		target = {
			provider: 's3',
			storage: engine.storage,
			urlKind,
			presignExpirySeconds:
				urlKind === 'presigned' ? sameForEveryItem(this, 'Expires In (Seconds)', (i) => this.getNodeParameter('presignExpiry', i, DEFAULT_PRESIGN_EXPIRY_S) as number) : undefined,
		};
	} else {
		target = {
			provider: 'cloudflareImages',
			client: engine.client,
			variant: sameForEveryItem(this, 'Variant', (i) => this.getNodeParameter('variant', i, DEFAULT_VARIANT) as string),
			requireSignedURLs: options.requireSignedURLs,
			signedUrlExpirySeconds: options.signedUrlExpiry,
		};
	}

	let results;
	try {
		results = await uploadAll(files, target, {
			concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
			maxRetryAfterMs: (options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_S) * 1000,
			signal: this.getExecutionCancelSignal(),
			log: engine.log,
		});
	} catch (error) {
		// Configuration problems (public URL impossible, bad expiry) and cancellation concern the whole run.
		throw toNodeError(this, error, 0);
	}

	const byItem = new Map(results.map((r) => [r.itemIndex, r]));
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		if (failed.has(i)) {
			out.push(itemError(this, failed.get(i), i));
			continue;
		}
		const result = byItem.get(i);
		if (result?.error) {
			out.push(itemError(this, result.error, i));
			continue;
		}
		const uploaded = result?.files ?? [];
		out.push({ json: summarize(provider, uploaded), pairedItem: { item: i } });
	}
	return out;
}

function summarize(provider: Provider, files: FileResult[]): IDataObject {
	const first = files[0];
	return {
		provider,
		url: first?.url ?? null,
		key: first?.key ?? null,
		urls: Object.fromEntries(files.map((f) => [f.property, f.url ?? null])),
		files: files.map((f) => ({ ...f }) as unknown as IDataObject),
	};
}

async function collectFiles(
	this: IExecuteFunctions,
	item: INodeExecutionData,
	itemIndex: number,
	provider: Provider,
	options: UploadOptions,
	keyContext: UploadFileSpec['keyContext'],
): Promise<UploadFileSpec[]> {
	const named = (this.getNodeParameter('binaryProperties', itemIndex, '') as string)
		.split(',')
		.map((p) => p.trim())
		.filter(Boolean);
	const properties = named.length > 0 ? named : Object.keys(item.binary ?? {});
	if (properties.length === 0) throw new Error(`Item ${itemIndex} has no binary data to upload`);
	const keyTemplate = provider === 's3' ? (this.getNodeParameter('keyTemplate', itemIndex) as string) : (this.getNodeParameter('imageId', itemIndex, '') as string);
	const metadata = Object.fromEntries((options.metadata?.entry ?? []).filter((e) => e.key).map((e) => [e.key, e.value]));
	const specs: UploadFileSpec[] = [];
	for (const property of properties) {
		const binary = this.helpers.assertBinaryData(itemIndex, property);
		let body: UploadBody;
		const binaryId = binary.id;
		if (binaryId) {
			// Stored outside memory (filesystem, database, S3 mode): stream it when its turn comes, never all at once.
			const size = binary.bytes ?? (await this.helpers.getBinaryMetadata(binaryId)).fileSize;
			body = { kind: 'stream', size, open: async () => this.helpers.getBinaryStream(binaryId) };
		} else {
			body = { kind: 'buffer', data: await this.helpers.getBinaryDataBuffer(itemIndex, property) };
		}
		specs.push({
			itemIndex,
			property,
			fileName: binary.fileName,
			mimeType: binary.mimeType,
			body,
			keyTemplate,
			keyContext,
			contentTypeOverride: options.contentType || undefined,
			cacheControl: options.cacheControl || undefined,
			contentDisposition: options.contentDisposition || undefined,
			metadata: Object.keys(metadata).length > 0 ? metadata : undefined,
			acl: provider === 's3' ? options.acl || undefined : undefined,
			attempts: options.attempts ?? DEFAULT_ATTEMPTS_PER_FILE,
			backoff: { ...DEFAULT_BACKOFF, initialMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS },
			skipIfExists: options.skipIfExists ?? false,
		});
	}
	return specs;
}
