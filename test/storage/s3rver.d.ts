// s3rver 3.7.1 ships no types; only what the tests use.
declare module 's3rver' {
	interface S3rverOptions {
		address?: string;
		port?: number;
		directory: string;
		silent?: boolean;
	}
	export default class S3rver {
		constructor(options: S3rverOptions);
		run(): Promise<{ address: string; port: number }>;
		close(): Promise<void>;
	}
}
