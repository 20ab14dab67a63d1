/**
 * The output files of a finished prompt, fetched from its server. Each download is bounded in bytes
 * (Max Output Size) and time (the attempt's deadline, a transfer-inactivity limit). Small files stay
 * in memory; larger ones go to a temporary file while they arrive, which whoever takes the outputs
 * removes (`discardOutputs`), whatever happens to them.
 */
import pLimit from 'p-limit';
import type { ComfyUiClient, OutputFile } from '../comfyui/client';
import { TransientServerError } from '../comfyui/errors';
import { retry, type BackoffOptions } from '../util/backoff';
import { collect, removeSpooled } from '../util/spool';
import type { SceneOutcome, SceneOutput } from './scene';

const DOWNLOADS_PER_SCENE = 4;
/**
 * A finished prompt's files stay on the server: a download that fails on a server blip is tried
 * again there (about 4 s in all, never past the deadline) rather than running the whole scene again elsewhere.
 */
const DOWNLOAD_RETRY: { attempts: number; backoff: BackoffOptions } = { attempts: 5, backoff: { initialMs: 250, maxMs: 2_000, factor: 2, jitter: 0.2 } };
const DOWNLOAD_RETRY_REASONS = new Set(['refused', 'reset', 'timeout', 'http-5xx', 'network']);
/** Files up to this size are kept in memory; larger ones are written to a temporary file as they download. */
export const KEEP_IN_MEMORY_BYTES = 8 * 1024 * 1024;

export interface FetchOutputsOptions {
	/** Largest file accepted, in bytes. */
	maxBytes?: number;
	/** When (ms since epoch) every download must have ended: the attempt's Total Timeout. */
	deadline?: number;
	signal: AbortSignal;
	keepInMemoryBytes?: number;
}

/**
 * Downloads `files`, at most four at once. When one fails for good, the others are stopped and
 * whatever was spooled is removed before the error is thrown.
 */
export async function fetchOutputs(client: ComfyUiClient, files: readonly OutputFile[], options: FetchOutputsOptions): Promise<SceneOutput[]> {
	const limit = pLimit(DOWNLOADS_PER_SCENE);
	const stop = new AbortController();
	const signal = AbortSignal.any([options.signal, stop.signal]);
	let firstError: { error: unknown } | undefined;
	const settled = await Promise.allSettled(
		files.map((file) =>
			limit(async (): Promise<SceneOutput> => {
				try {
					const body = await retry(
						async () => {
							const { stream } = await client.download(file, { maxBytes: options.maxBytes, deadline: options.deadline, signal });
							return collect(stream, options.keepInMemoryBytes ?? KEEP_IN_MEMORY_BYTES);
						},
						{
							...DOWNLOAD_RETRY,
							signal,
							classify: (error) => ({ retry: error instanceof TransientServerError && DOWNLOAD_RETRY_REASONS.has(error.reason) }),
						},
					);
					const output: SceneOutput = { ...file, url: client.viewUrl(file) };
					if ('data' in body) output.data = body.data;
					else output.spooled = body.file;
					return output;
				} catch (error) {
					firstError ??= { error };
					stop.abort();
					throw error;
				}
			}),
		),
	);
	const outputs = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
	if (!firstError) return outputs;
	await discardOutputs(outputs);
	throw firstError.error;
}

/** Removes the temporary files of outputs (those that were spooled); safe to call more than once. */
export async function discardOutputs(outputs: readonly SceneOutput[]): Promise<void> {
	await Promise.all(outputs.map((o) => (o.spooled ? removeSpooled(o.spooled.path) : undefined)));
}

/** Removes the temporary files of every successful outcome. */
export async function discardOutcomes(outcomes: readonly SceneOutcome[]): Promise<void> {
	await Promise.all(outcomes.map((o) => (o.ok ? discardOutputs(o.result.outputs) : undefined)));
}
