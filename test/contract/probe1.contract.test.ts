import { ComfyUiSimulator, encodePng, probeCatalogue } from '../sim';
import { loadProbe, mapIds, multipart, recordedTypes, Recorder, Reply, send, until } from './replay';
import { rekey, shapeDiff, shapeOf } from './shape';

/**
 * Replays every HTTP exchange of the recorded real ComfyUI 0.3.64 session (probe1.json) against the
 * simulator and checks status, content type and JSON shape; then compares the websocket frame types.
 */
describe('simulator answers like the recorded ComfyUI (probe1)', () => {
	const probe = loadProbe('probe1');
	const clientId = 'fb162638effd4429ac381b34e7d275be';
	let sim: ComfyUiSimulator;
	let ws: Recorder;
	const replies: Reply[] = [];
	const ids = new Map<string, string>();

	beforeAll(async () => {
		sim = await ComfyUiSimulator.start({ catalogue: probeCatalogue(), msPerStep: 2, device: 'cpu' });
		ws = await Recorder.open(`${sim.url.replace('http', 'ws')}/ws?clientId=${clientId}`);
		const red = encodePng({ width: 16, height: 16, color: 0xff0000 });
		const uploads: Record<number, Buffer> = { 19: red, 20: encodePng({ width: 16, height: 16, color: 0xee0000 }), 21: red };
		for (const [i, ex] of probe.http.entries()) {
			const path = mapIds(ex.path, ids);
			let body: Parameters<typeof send>[3];
			if (uploads[i]) body = multipart({ subfolder: 'probe', type: 'input' }, { field: 'image', filename: 'red.png', data: uploads[i] });
			else if (ex.request_json !== undefined) body = { json: JSON.parse(mapIds(JSON.stringify(ex.request_json), ids)) };
			const reply = await send(sim.url, ex.method, path, body);
			replies.push(reply);
			const recordedId = (ex.response_json as { prompt_id?: string } | undefined)?.prompt_id;
			const simId = (reply.json as { prompt_id?: string } | undefined)?.prompt_id;
			if (ex.method === 'POST' && recordedId && simId) {
				ids.set(recordedId, simId);
				await until(() => sim.activePromptIds().length === 0, 10_000, `prompt ${simId} to finish`);
			}
		}
		// the last recorded frame is the status broadcast by POST /queue {clear}
		await until(() => ws.frames.length >= (probe.ws as unknown[]).length, 5000, 'all ws frames');
	});

	afterAll(async () => {
		ws?.close();
		await sim?.stop();
	});

	it('answers every request with the recorded status, content type and JSON shape', () => {
		expect(replies).toHaveLength(probe.http.length);
		const problems: string[] = [];
		probe.http.forEach((ex, i) => {
			const r = replies[i];
			const label = `#${i} ${ex.method} ${ex.path} (${ex.note ?? ''})`;
			if (r.status !== ex.status) problems.push(`${label}: status ${r.status}, recorded ${ex.status}`);
			if (ex.content_type && r.contentType !== ex.content_type) problems.push(`${label}: content type ${r.contentType}, recorded ${ex.content_type}`);
			if (ex.response_json !== undefined) {
				const historyLike = /^\/(api\/)?history/.test(ex.path);
				const expected = historyLike ? rekey(ex.response_json) : ex.response_json;
				const actual = historyLike ? rekey(r.json) : r.json;
				for (const d of shapeDiff(shapeOf(expected), shapeOf(actual))) problems.push(`${label}: ${d}`);
			}
			if (ex.response_bytes === 0 && r.bytes.length !== 0) problems.push(`${label}: body of ${r.bytes.length} bytes, recorded empty`);
			if (ex.response_head) {
				const magic = ex.response_head.slice(0, 8);
				if (r.bytes.subarray(0, 4).toString('hex') !== magic) problems.push(`${label}: file starts ${r.bytes.subarray(0, 4).toString('hex')}, recorded ${magic}`);
			}
		});
		expect(problems).toEqual([]);
	});

	it('keeps the real numbering, ids and file names', () => {
		const json = (i: number): Record<string, unknown> => replies[i].json as Record<string, unknown>;
		expect(json(12)).toMatchObject({ prompt_id: 'd6af2f28-bfea-4e56-8a0f-85854ed84704', number: 0 });
		expect(json(28).number).toBe(7); // failed POSTs still advance the counter
		expect(json(29).number).toBe(5);
		expect(json(19)).toEqual({ name: 'red.png', subfolder: 'probe', type: 'input' });
		expect(json(20)).toEqual({ name: 'red (1).png', subfolder: 'probe', type: 'input' });
		expect(json(21)).toEqual({ name: 'red.png', subfolder: 'probe', type: 'input' });
		expect(json(26)).toEqual(probe.http[26].response_json);
		expect(json(24)).toEqual(probe.http[24].response_json);
		expect(json(25)).toEqual(probe.http[25].response_json);
		expect(json(27)).toEqual(probe.http[27].response_json);
		expect(json(28).node_errors).toEqual((probe.http[28].response_json as Record<string, unknown>).node_errors);
		const cached = Object.values(json(18))[0] as { outputs: unknown; status: { messages: Array<[string, { nodes?: string[] }]> } };
		const first = Object.values(json(13))[0] as { outputs: unknown };
		expect(cached.outputs).toEqual(first.outputs);
		expect(cached.status.messages[1][1].nodes).toEqual(['1', '2', '3']);
		const failed = Object.values(json(31))[0] as { status: { messages: Array<[string, { exception_message?: string }]> } };
		expect(failed.status.messages[2][1].exception_message).toBe(
			'Input and output sizes should be greater than 0, but got input (H: 48, W: 64) output (H: 0, W: 1)\n',
		);
	});

	it('sends the recorded websocket message sequence', () => {
		expect(ws.types()).toEqual(recordedTypes(probe.ws as Array<{ text?: { type: string } }>));
	});

	it('sends the same executed payload and progress_state shapes', () => {
		const recorded = (probe.ws as Array<{ text?: { type: string; data: unknown } }>).filter((f) => f.text);
		const problems: string[] = [];
		recorded.forEach((f, i) => {
			const mine = ws.frames[i];
			if (!mine || mine.type !== f.text!.type) return;
			for (const d of shapeDiff(shapeOf(f.text!.data), shapeOf(mine.data))) problems.push(`frame ${i} ${mine.type}: ${d}`);
		});
		expect(problems).toEqual([]);
	});
});
