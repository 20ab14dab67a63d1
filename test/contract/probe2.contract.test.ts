import { ComfyUiSimulator, probeCatalogue } from '../sim';
import { loadProbe, mapIds, recordedTypes, Recorder, Reply, send, until } from './replay';
import { rekey, shapeDiff, shapeOf } from './shape';

type RecFrame = { text?: { type: string; data: Record<string, unknown> } };

/**
 * probe2: progress frames, three kinds of sockets (legacy, feature-flag client, observer without
 * clientId), queue ordering with `front`, deleting a pending job, targeted and global interrupts.
 */
describe('simulator answers like the recorded ComfyUI (probe2)', () => {
	const probe = loadProbe('probe2');
	const recWs = probe.ws as Record<string, RecFrame[]>;
	const legacyId = 'da7ec7ac4e1a4dbe838796cffd2bcd3d';
	const modernId = 'f16658b0-4936-4861-a273-2fd4c7e8468b';
	let sim: ComfyUiSimulator;
	let legacy: Recorder;
	let modern: Recorder;
	let observer: Recorder;
	const replies: Reply[] = [];
	const ids = new Map<string, string>();
	const withoutProgress = (types: string[]): string[] => types.filter((t) => t !== 'progress' && t !== 'progress_state' && t !== 'BIN');
	// `status` broadcasts come from the queue (a POST, a job starting or ending) and interleave with a job's
	// execution messages by timing, on the real server too: frames are compared without them, and the
	// statuses each socket received by count and content.
	const withoutStatus = (types: string[]): string[] => types.filter((t) => t !== 'status');
	const statusKey = (data: Record<string, unknown> | undefined): string => {
		const d = data as { status?: { exec_info?: { queue_remaining?: number } }; sid?: unknown } | undefined;
		return `queue_remaining=${d?.status?.exec_info?.queue_remaining}${d?.sid === undefined ? '' : ' with sid'}`;
	};
	const statuses = (frames: Array<{ type: string; data?: Record<string, unknown> }>): string[] => frames.filter((f) => f.type === 'status').map((f) => statusKey(f.data)).sort();
	const recordedStatuses = (frames: RecFrame[]): string[] => statuses(frames.filter((f) => f.text).map((f) => f.text!));
	/** a socket hears first the status with its own sid, sent as it connects */
	const firstFrame = (r: Recorder): string => `${r.frames[0]?.type} ${statusKey(r.frames[0]?.data)}`;

	beforeAll(async () => {
		sim = await ComfyUiSimulator.start({ catalogue: probeCatalogue(), msPerStep: 10 });
		const wsBase = `${sim.url.replace('http', 'ws')}/ws`;
		legacy = await Recorder.open(`${wsBase}?clientId=${legacyId}`);
		modern = await Recorder.open(`${wsBase}?clientId=${modernId}`, { type: 'feature_flags', data: { supports_preview_metadata: true } });
		observer = await Recorder.open(wsBase);
		await until(() => modern.frames.length >= 2, 2000, 'feature_flags reply');
		const idOf = (i: number): string => ids.get((probe.http[i].response_json as { prompt_id: string }).prompt_id)!;
		const progressOf = (id: string): number => legacy.frames.filter((f) => f.type === 'progress' && f.data?.prompt_id === id).length;
		const finished = (id: string): boolean => sim.records.finished.some((f) => f.promptId === id);
		for (const [i, ex] of probe.http.entries()) {
			// reproduce the moments at which the recording sent each request
			if (i === 6) await until(() => progressOf(idOf(3)) >= 2, 5000, 'job A to make progress');
			if (i === 11) await until(() => finished(idOf(3)), 5000, 'job A to stop');
			if (i === 12) await until(() => progressOf(idOf(5)) >= 2, 5000, 'job C to make progress');
			if (i === 13) await until(() => finished(idOf(5)), 5000, 'job C to stop');
			const body = ex.request_json !== undefined && ex.request_json !== null ? { json: JSON.parse(mapIds(JSON.stringify(ex.request_json), ids)) } : undefined;
			const reply = await send(sim.url, ex.method, mapIds(ex.path, ids), body);
			replies.push(reply);
			const recordedId = (ex.response_json as { prompt_id?: string } | null)?.prompt_id;
			const simId = (reply.json as { prompt_id?: string } | undefined)?.prompt_id;
			if (ex.method === 'POST' && recordedId && simId) {
				ids.set(recordedId, simId);
				if (![3, 4, 5].includes(i)) await until(() => finished(simId), 5000, `prompt ${simId}`);
			}
		}
		await until(() => sim.activePromptIds().length === 0, 5000, 'queue to drain');
		await until(() => observer.types().filter((t) => t === 'status').length >= recordedTypes(recWs.observer_without_clientId).filter((t) => t === 'status').length, 3000, 'observer status frames');
		// On a busy machine the last frames may still be on their way to the other sockets.
		const arrived = (r: Recorder, recorded: RecFrame[]) => withoutProgress(r.types()).length >= withoutProgress(recordedTypes(recorded)).length;
		await until(() => arrived(legacy, recWs.legacy_client) && arrived(modern, recWs.modern_client_with_feature_flags), 3000, 'the last frames of the client sockets');
	});

	afterAll(async () => {
		for (const r of [legacy, modern, observer]) r?.close();
		await sim?.stop();
	});

	it('answers every request with the recorded status and JSON shape', () => {
		const problems: string[] = [];
		probe.http.forEach((ex, i) => {
			const r = replies[i];
			const label = `#${i} ${ex.method} ${ex.path} (${ex.note ?? ''})`;
			if (r.status !== ex.status) problems.push(`${label}: status ${r.status}, recorded ${ex.status}`);
			if (ex.response_json !== null && ex.response_json !== undefined) {
				const historyLike = ex.path.startsWith('/history');
				const expected = historyLike ? rekey(ex.response_json) : ex.response_json;
				const actual = historyLike ? rekey(r.json) : r.json;
				for (const d of shapeDiff(shapeOf(expected), shapeOf(actual))) problems.push(`${label}: ${d}`);
			} else if (r.bytes.length !== 0) problems.push(`${label}: expected an empty body`);
		});
		expect(problems).toEqual([]);
	});

	it('orders the queue by number, front jumps ahead, accepts any client prompt_id', () => {
		expect((replies[5].json as { number: number }).number).toBe(-5);
		const queue = replies[6].json as { queue_running: unknown[][]; queue_pending: unknown[][] };
		expect(queue.queue_running.map((q) => q[1])).toEqual([ids.get('3539e530-0367-424a-8711-82c488d21adb')]);
		expect(queue.queue_pending.map((q) => q[0]).sort()).toEqual([-5, 4]);
		expect(replies[7].json).toEqual({ exec_info: { queue_remaining: 3 } });
		expect(replies[15].json).toMatchObject({ prompt_id: 'my-own-id-123', number: 6 });
		// B was deleted while pending, A and C were interrupted, the rest succeeded
		expect(sim.records.deleted).toEqual([ids.get('f0a62570-27b1-47bf-8461-c4dae6a81671')]);
		const statusOf = Object.fromEntries(sim.records.finished.map((f) => [f.promptId, f.status]));
		expect(statusOf[ids.get('3539e530-0367-424a-8711-82c488d21adb')!]).toBe('interrupted');
		expect(statusOf[ids.get('b4a42ea9-c749-40f8-bc3f-a4e46fdbbec6')!]).toBe('interrupted');
		expect(statusOf['my-own-id-123']).toBe('success');
		expect(sim.records.peakActive).toBe(3);
	});

	// Progress frames of long jobs depend on timing; compare them exactly for the short first job and
	// compare everything else with progress frames left out.
	const firstJob = (types: string[]): string[] => types.slice(0, types.indexOf('executing', types.indexOf('execution_success')) + 1);

	it('sends the legacy client the recorded sequence', () => {
		const recorded = recordedTypes(recWs.legacy_client);
		expect(firstFrame(legacy)).toBe('status queue_remaining=0 with sid');
		expect(withoutStatus(firstJob(legacy.types()))).toEqual(withoutStatus(firstJob(recorded)));
		expect(withoutStatus(withoutProgress(legacy.types()))).toEqual(withoutStatus(withoutProgress(recorded)));
		expect(statuses(legacy.frames)).toEqual(recordedStatuses(recWs.legacy_client));
	});

	it('sends the feature-flag client the recorded sequence, with metadata previews before progress', () => {
		const recorded = recordedTypes(recWs.modern_client_with_feature_flags);
		expect(firstFrame(modern)).toBe('status queue_remaining=0 with sid');
		expect(withoutStatus(withoutProgress(modern.types()))).toEqual(withoutStatus(withoutProgress(recorded)));
		expect(statuses(modern.frames)).toEqual(recordedStatuses(recWs.modern_client_with_feature_flags));
		const own = (types: string[]): string[] => types.slice(types.indexOf('execution_start'), types.indexOf('execution_success') + 1);
		expect(withoutStatus(own(modern.types()))).toEqual(withoutStatus(own(recorded)));
		const preview = modern.frames.find((f) => f.type === 'BIN')!.binary!;
		expect(preview.readUInt32BE(0)).toBe(4);
		const meta = JSON.parse(preview.subarray(8, 8 + preview.readUInt32BE(4)).toString('utf8'));
		expect(Object.keys(meta).sort()).toEqual(['display_node_id', 'image_type', 'node_id', 'parent_node_id', 'prompt_id', 'real_node_id']);
	});

	it('gives a socket without clientId only statuses and the broadcast progress of the prompt without client', () => {
		const recorded = recordedTypes(recWs.observer_without_clientId);
		expect(firstFrame(observer)).toBe('status queue_remaining=0 with sid');
		expect(statuses(observer.frames)).toEqual(recordedStatuses(recWs.observer_without_clientId));
		// the broadcast progress of the one prompt without client, in the recorded order
		expect(withoutStatus(observer.types())).toEqual(withoutStatus(recorded));
		const noClientPrompt = ids.get('4f8ce7ec-b35c-40f2-a595-9978ec3c7690');
		const seen = new Set(observer.frames.filter((f) => f.data?.prompt_id).map((f) => f.data!.prompt_id));
		expect([...seen]).toEqual([noClientPrompt]);
	});

	it('reports interrupted jobs in history as the real server', () => {
		const entry = Object.values(replies[11].json as object)[0] as { status: { status_str: string; completed: boolean; messages: Array<[string]> }; outputs: object };
		expect(entry.status.status_str).toBe('error');
		expect(entry.status.completed).toBe(false);
		expect(entry.status.messages.map((m) => m[0])).toEqual(['execution_start', 'execution_cached', 'execution_interrupted']);
		expect(entry.outputs).toEqual({});
	});
});
