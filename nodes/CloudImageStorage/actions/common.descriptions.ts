/** Parameters shared by several operations of the Cloud Image Storage node (descriptions only). */
import type { INodeProperties } from 'n8n-workflow';
import { DEFAULTS, LIMITS } from '../helpers/defaults';
import { RUN_WIDE } from '../../shared/runWide';

export const s3Only = { provider: ['s3'] };
export const cfOnly = { provider: ['cloudflareImages'] };

export const bucketField: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	placeholder: 'my-images',
	description: `Bucket name; empty = the credential's default bucket. ${RUN_WIDE}`,
};

/** Lifetime of presigned URLs, shown for the operation in `show` when the URL kind is presigned. */
export function presignExpiryField(show: Record<string, string[]>, description: string): INodeProperties {
	return {
		displayName: 'Expires In (Seconds)',
		name: 'presignExpiry',
		type: 'number',
		default: DEFAULTS.presignExpiry,
		typeOptions: { minValue: LIMITS.presignExpiry.min, maxValue: LIMITS.presignExpiry.max },
		displayOptions: { show: { ...show, ...s3Only, urlKind: ['presigned'] } },
		description,
	};
}
