/** Parameters shared by several operations of the Cloud Image Storage node (descriptions only). */
import type { INodeProperties } from 'n8n-workflow';
import { DEFAULT_PRESIGN_EXPIRY_S, LIMITS } from '../helpers/defaults';
import { runWide } from '../../shared/runWide';

export const s3Only = { provider: ['s3'] };
export const cfOnly = { provider: ['cloudflareImages'] };

export const bucketField: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	placeholder: 'my-images',
	description: runWide('Bucket name; empty = the credential\'s default bucket'),
};

/** Lifetime of presigned URLs, shown for the operation in `show` when the URL kind is presigned. */
export function presignExpiryField(show: Record<string, string[]>, description: string): INodeProperties {
	return {
		displayName: 'Expires In (Seconds)',
		name: 'presignExpiry',
		type: 'number',
		default: DEFAULT_PRESIGN_EXPIRY_S,
		typeOptions: { minValue: LIMITS.presignExpiry.min, maxValue: LIMITS.presignExpiry.max },
		displayOptions: { show: { ...show, ...s3Only, urlKind: ['presigned'] } },
		description,
	};
}
