/**
 * S3-compatible provider presets: what each one needs for endpoint, region, addressing style,
 * checksum mode and public URLs. Pure data plus two pure resolvers.
 */

export type S3PresetName = 'aws' | 'r2' | 'gcs' | 'minio' | 'b2' | 'wasabi' | 'custom';
export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';

export interface S3Preset {
	name: S3PresetName;
	displayName: string;
	/** Endpoint with `{region}` / `{accountId}` placeholders; empty = the SDK's AWS default. */
	endpointTemplate: string;
	defaultRegion: string;
	forcePathStyle: boolean;
	/** AWS is the only provider that understands the SDK's default CRC32 checksums everywhere. */
	checksumMode: ChecksumMode;
	/** Public object URL with `{endpoint}`, `{bucket}`, `{region}`, `{key}`; empty = no public URL without a base. */
	publicUrlTemplate: string;
	/** R2 and B2 reject `x-amz-acl`. */
	supportsAcl: boolean;
}

export const S3_PRESETS: Record<S3PresetName, S3Preset> = {
	aws: {
		name: 'aws',
		displayName: 'AWS S3',
		endpointTemplate: '',
		defaultRegion: 'us-east-1',
		forcePathStyle: false,
		checksumMode: 'WHEN_SUPPORTED',
		publicUrlTemplate: 'https://{bucket}.s3.{region}.amazonaws.com/{key}',
		supportsAcl: true,
	},
	r2: {
		name: 'r2',
		displayName: 'Cloudflare R2',
		endpointTemplate: 'https://{accountId}.r2.cloudflarestorage.com',
		defaultRegion: 'auto',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		// The S3 endpoint of R2 is never public: a custom domain or r2.dev base URL is required.
		publicUrlTemplate: '',
		supportsAcl: false,
	},
	gcs: {
		name: 'gcs',
		displayName: 'Google Cloud Storage (interoperability)',
		endpointTemplate: 'https://storage.googleapis.com',
		defaultRegion: 'auto',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		publicUrlTemplate: 'https://storage.googleapis.com/{bucket}/{key}',
		supportsAcl: true,
	},
	minio: {
		name: 'minio',
		displayName: 'MinIO',
		endpointTemplate: 'http://127.0.0.1:9000',
		defaultRegion: 'us-east-1',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		publicUrlTemplate: '{endpoint}/{bucket}/{key}',
		supportsAcl: true,
	},
	b2: {
		name: 'b2',
		displayName: 'Backblaze B2',
		endpointTemplate: 'https://s3.{region}.backblazeb2.com',
		defaultRegion: 'us-west-004',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		publicUrlTemplate: 'https://s3.{region}.backblazeb2.com/{bucket}/{key}',
		supportsAcl: false,
	},
	wasabi: {
		name: 'wasabi',
		displayName: 'Wasabi',
		endpointTemplate: 'https://s3.{region}.wasabisys.com',
		defaultRegion: 'us-east-1',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		publicUrlTemplate: 'https://s3.{region}.wasabisys.com/{bucket}/{key}',
		supportsAcl: true,
	},
	custom: {
		name: 'custom',
		displayName: 'Custom S3-compatible endpoint',
		endpointTemplate: '',
		defaultRegion: 'us-east-1',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		publicUrlTemplate: '{endpoint}/{bucket}/{key}',
		supportsAcl: true,
	},
};

export function isPresetName(value: string): value is S3PresetName {
	return Object.prototype.hasOwnProperty.call(S3_PRESETS, value);
}

export interface ResolvedS3Location {
	preset: S3Preset;
	endpoint?: string;
	region: string;
	forcePathStyle: boolean;
	checksumMode: ChecksumMode;
}

/** Fills a preset's endpoint template; explicit values win over preset defaults. */
export function resolveS3Location(input: {
	preset: S3PresetName;
	endpoint?: string;
	region?: string;
	accountId?: string;
	forcePathStyle?: boolean;
	checksumMode?: ChecksumMode;
}): ResolvedS3Location {
	const preset = S3_PRESETS[input.preset];
	if (!preset) throw new Error(`Unknown S3 preset "${String(input.preset)}"`);
	const region = input.region?.trim() || preset.defaultRegion;
	let endpoint = input.endpoint?.trim() || undefined;
	if (!endpoint && preset.endpointTemplate) {
		if (preset.endpointTemplate.includes('{accountId}') && !input.accountId?.trim()) {
			throw new Error(`${preset.displayName} needs the account ID to build its endpoint (or set the endpoint yourself)`);
		}
		endpoint = preset.endpointTemplate
			.replace('{region}', region)
			.replace('{accountId}', (input.accountId ?? '').trim());
	}
	if (!endpoint && preset.name === 'custom') throw new Error('A custom S3 endpoint needs the endpoint URL');
	if (endpoint) {
		let parsed: URL;
		try {
			parsed = new URL(endpoint);
		} catch {
			// Not echoed: a malformed URL may carry a password where no parser can find it.
			throw new Error('The S3 endpoint is not a URL: write it like https://s3.example.com or http://127.0.0.1:9000');
		}
		if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
			throw new Error(`The S3 endpoint must start with http:// or https:// (it starts with "${parsed.protocol}")`);
		}
		if (parsed.username || parsed.password) {
			// It would end up in public URLs and logs; the SDK signs with the access keys anyway.
			throw new Error('The S3 endpoint contains a user name or password; remove it and use the Access Key ID and Secret Access Key fields');
		}
		endpoint = endpoint.replace(/\/+$/, '');
	}
	return {
		preset,
		endpoint,
		region,
		forcePathStyle: input.forcePathStyle ?? preset.forcePathStyle,
		// A custom endpoint on the AWS preset is not AWS: use the safe mode unless told otherwise.
		checksumMode: input.checksumMode ?? (preset.name === 'aws' && input.endpoint ? 'WHEN_REQUIRED' : preset.checksumMode),
	};
}

/** Encodes an object key for a URL path, segment by segment (keeps `/`). */
export function encodeKeyForUrl(key: string): string {
	return key
		.split('/')
		.map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
		.join('/');
}

/**
 * Public URL of an object: `{publicBase}/{key}` when a base (CDN, custom domain) is set, else the
 * preset's template; undefined when the provider has no public URL without a base (R2).
 */
export function buildPublicUrl(input: {
	location: ResolvedS3Location;
	bucket: string;
	key: string;
	publicUrlBase?: string;
}): string | undefined {
	const encodedKey = encodeKeyForUrl(input.key);
	const base = input.publicUrlBase?.trim();
	if (base) {
		if (base.includes('{key}')) return fillUrlTemplate(base, input, encodedKey);
		return `${base.replace(/\/+$/, '')}/${encodedKey}`;
	}
	const template = input.location.preset.publicUrlTemplate;
	if (!template) return undefined;
	if (input.location.preset.name === 'aws' && input.location.forcePathStyle) {
		return `https://s3.${input.location.region}.amazonaws.com/${encodeURIComponent(input.bucket)}/${encodedKey}`;
	}
	return fillUrlTemplate(template, input, encodedKey);
}

function fillUrlTemplate(
	template: string,
	input: { location: ResolvedS3Location; bucket: string },
	encodedKey: string,
): string {
	return template
		.replace('{endpoint}', input.location.endpoint ?? '')
		.replace('{bucket}', encodeURIComponent(input.bucket))
		.replace('{region}', input.location.region)
		.replace('{key}', encodedKey);
}
