/**
 * Scenes from items and items from results: the translation between n8n items and the engine's types.
 */
import { createReadStream } from 'fs';
import {
	type IBinaryKeyData,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { applyOverrides, fillPlaceholders, loadWorkflow, type ObjectInfo } from '../../../src/comfyui';
import { discardOutputs } from '../../../src/cluster';
import type { Runtime } from '../../../src/cluster';
import type { AttemptRecord, SceneOutcome, SceneRequest, SceneResult } from '../../../src/cluster';
import { buildScene } from '../../../src/cluster';
import type { UrlFetcher } from '../../../src/cluster';
import { own } from '../../../src/util';
import { formatBytes } from '../../../src/util';
import { redact } from '../../../src/util';
import { errorItem } from '../../shared/errorItem';
import { asItemError, describeCause, storeFailed } from './errors';
import { parseInputImages, parseOverrides, parsePlaceholders, type SceneOptions } from './params';

/** Reads the catalogue of the first server that answers (for UI-format workflows), once per execution. */
export class CatalogueSource {
	private pending?: Promise<ObjectInfo | undefined>;

	constructor(private readonly runtime: Runtime) {}

	get(): Promise<ObjectInfo | undefined> {
		this.pending ??= (async () => {
			for (const server of this.runtime.servers) {
				try {
					return (await this.runtime.clientFor(server.id).objectInfo({ signal: AbortSignal.timeout(10_000) })) as ObjectInfo;
				} catch {
					// next server
				}
			}
			return undefined;
		})();
		return this.pending;
	}
}

function looksLikeUiWorkflow(workflow: unknown): boolean {
	const value = typeof workflow === 'string' ? workflow : JSON.stringify(workflow ?? '');
	return /"nodes"\s*:\s*\[/.test(value) && /"links"\s*:\s*\[/.test(value);
}

/** Builds the scene of item `i`; throws NodeOperationError naming the item, the field and the fix. */
export async function sceneFromItem(
	ctx: IExecuteFunctions,
	i: number,
	options: SceneOptions,
	catalogue: CatalogueSource,
	fetcher: UrlFetcher,
): Promise<SceneRequest> {
	let field = 'Workflow (JSON)';
	try {
		const workflow = ctx.getNodeParameter('workflow', i);
		if (workflow === '' || workflow === undefined || workflow === null) {
			throw new Error('The workflow is empty: paste the API-format JSON ("Export (API)" in ComfyUI) or the saved UI workflow');
		}
		field = 'Overrides';
		const overrides = parseOverrides(ctx.getNodeParameter('overrides', i, {}));
		field = 'Placeholders';
		const placeholders = parsePlaceholders(ctx.getNodeParameter('placeholders', i, {}));
		field = 'Input Images';
		const images = parseInputImages(ctx.getNodeParameter('inputImages', i, {}));
		const item = ctx.getInputData()[i];
		const inputs = await Promise.all(
			images.map(async (image) => {
				if (image.source === 'url') {
					const file = await fetcher.fetch(image.url);
					return { node: image.node, input: image.input, fileName: file.fileName, bytes: file.bytes };
				}
				const binary = own(item?.binary, image.binaryProperty);
				if (!binary) {
					const present = Object.keys(item?.binary ?? {});
					throw new Error(
						`the item has no binary property "${image.binaryProperty}" (${present.length ? `it has: ${present.join(', ')}` : 'it has no binary data'})`,
					);
				}
				const bytes = await ctx.helpers.getBinaryDataBuffer(i, image.binaryProperty);
				return { node: image.node, input: image.input, fileName: binary.fileName ?? 'input.png', bytes };
			}),
		);
		// Each step is checked on its own so that an error names the field that caused it.
		field = 'Workflow (JSON)';
		const objectInfo = looksLikeUiWorkflow(workflow) || overrides.length > 0 ? await catalogue.get() : undefined;
		let graph = loadWorkflow(workflow, objectInfo);
		field = 'Placeholders';
		if (Object.keys(placeholders).length > 0) graph = fillPlaceholders(graph, placeholders);
		field = 'Overrides';
		if (overrides.length > 0) graph = applyOverrides(graph, overrides, objectInfo);
		field = 'Input Images';
		if (inputs.length > 0) applyOverrides(graph, inputs.map((f) => ({ node: f.node, input: f.input, value: f.fileName })));
		field = 'Workflow (JSON)';
		return buildScene(
			{
				index: i,
				workflow: graph,
				seedMode: options.seedMode,
				inputs,
				priority: options.priority,
				timeouts: options.timeouts,
				maxAttempts: options.maxAttempts,
				maxOutputBytes: options.maxOutputBytes,
				freeMemoryAfter: options.freeMemoryAfter,
				outputKinds: options.outputKinds,
				download: options.download,
			},
			objectInfo,
		);
	} catch (error) {
		throw asItemError(ctx, error, i, field);
	}
}

function attemptsJson(attempts: AttemptRecord[]): IDataObject[] {
	return attempts.map((a) => ({
		server: a.server,
		promptId: a.promptId ?? null,
		outcome: a.outcome,
		reason: a.reason || null,
		seconds: Math.round((a.endedAt - a.startedAt) / 10) / 100,
	}));
}

/**
 * One output item per scene outcome: telemetry in json, output files as binary properties `<kind>_<n>`.
 * A file spooled to disk is streamed into n8n's binary data (to disk again in filesystem mode) and its
 * temporary file removed, also when storing it fails; that failure is the item's error.
 */
export async function itemFromOutcome(
	ctx: IExecuteFunctions,
	outcome: SceneOutcome,
	itemIndex: number,
	runtime: Runtime,
): Promise<INodeExecutionData> {
	const store = runtime.activeStore();
	if (!outcome.ok) {
		const error = { message: redact(outcome.error.message, runtime.secrets ?? []), description: describeCause(outcome.error.cause) };
		return errorItem(error, itemIndex, { scene: itemIndex, attempts: attemptsJson(outcome.error.attempts), store });
	}
	const { result } = outcome;
	try {
		return await successItem(ctx, result, itemIndex, store);
	} finally {
		await discardOutputs(result.outputs);
	}
}

async function successItem(ctx: IExecuteFunctions, result: SceneResult, itemIndex: number, store: string): Promise<INodeExecutionData> {
	const binary: IBinaryKeyData = {};
	const counters: Record<string, number> = {};
	const files: IDataObject[] = [];
	for (const output of result.outputs) {
		const n = counters[output.kind] ?? 0;
		counters[output.kind] = n + 1;
		const property = `${output.kind}_${n}`;
		const file: IDataObject = {
			nodeId: output.nodeId,
			kind: output.kind,
			filename: output.filename,
			subfolder: output.subfolder,
			type: output.type,
			mimeType: output.mimeType,
			url: output.url,
		};
		if (output.data) {
			binary[property] = await ctx.helpers.prepareBinaryData(output.data, output.filename, output.mimeType);
			file.property = property;
			file.size = output.data.length;
		} else if (output.spooled) {
			const { path, size } = output.spooled;
			const stream = createReadStream(path);
			try {
				binary[property] = await ctx.helpers.prepareBinaryData(stream, output.filename, output.mimeType);
			} catch (error) {
				throw storeFailed(ctx, error, itemIndex, `"${output.filename}" (${formatBytes(size)}) from ${result.server}`);
			} finally {
				stream.destroy();
			}
			file.property = property;
			file.size = size;
		}
		files.push(file);
	}
	const item: INodeExecutionData = {
		json: {
			server: result.server,
			serverId: result.serverId,
			promptId: result.promptId,
			attempts: attemptsJson(result.attempts),
			queueWaitMs: result.timings.queueWaitMs,
			executionMs: result.timings.executionMs,
			modelLoadMs: result.timings.modelLoadMs ?? 0,
			totalMs: result.timings.totalMs,
			cached: result.cached,
			store,
			outputs: files,
		},
		pairedItem: { item: itemIndex },
	};
	if (Object.keys(binary).length > 0) item.binary = binary;
	return item;
}

/** The item of an outcome; when n8n cannot store its files, an error item (continue on fail) or the node's error. */
export async function itemOrError(
	ctx: IExecuteFunctions,
	outcome: SceneOutcome,
	itemIndex: number,
	runtime: Runtime,
	continueOnFail: boolean,
): Promise<INodeExecutionData> {
	try {
		return await itemFromOutcome(ctx, outcome, itemIndex, runtime);
	} catch (error) {
		const failure = asItemError(ctx, error, itemIndex);
		failure.message = redact(failure.message, runtime.secrets ?? []);
		if (!continueOnFail) throw failure;
		return errorItem(failure, itemIndex, { scene: itemIndex });
	}
}
