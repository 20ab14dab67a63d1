import { extractOutputs, guessMimeType } from './outputs';
import { interpretHistory, wasFullyCached, executionMsFromHistory } from './history';
import { flattenNodeErrors, parseQueue } from './parse';
import { parseServerAddress, routePath, webSocketUrl } from './address';
import { authHeaders, authSecrets } from './auth';
import { contentHashName, uploadExtension } from './client';

describe('extractOutputs', () => {
	it('reads images, animated images, core video, VHS gifs and audio with kind and mime type', () => {
		const files = extractOutputs({
			outputs: {
				'9': { images: [{ filename: 'a_00001_.png', subfolder: '', type: 'output' }] },
				'10': { images: [{ filename: 'anim_00001_.webp', subfolder: 'x', type: 'output' }], animated: [true] },
				'11': { images: [{ filename: 'clip_00001_.mp4', subfolder: 'video', type: 'output' }], animated: [true] },
				'12': {
					gifs: [
						{ filename: 'AnimateDiff_00001.mp4', subfolder: '', type: 'output', format: 'video/h264-mp4', frame_rate: 8 },
						{ filename: 'AnimateDiff_00002.gif', subfolder: '', type: 'output', format: 'image/gif' },
					],
				},
				'13': { audio: [{ filename: 'ComfyUI_00001_.flac', subfolder: 'audio', type: 'output' }] },
				'14': { text: ['hello'] },
				'15': { images: [{ filename: 'ComfyUI_temp_x_00001_.png', subfolder: '', type: 'temp' }] },
			},
		});
		expect(files.map((f) => [f.nodeId, f.kind, f.mimeType, f.filename, f.type])).toEqual([
			['9', 'image', 'image/png', 'a_00001_.png', 'output'],
			['10', 'animated', 'image/webp', 'anim_00001_.webp', 'output'],
			['11', 'video', 'video/mp4', 'clip_00001_.mp4', 'output'],
			['12', 'video', 'video/mp4', 'AnimateDiff_00001.mp4', 'output'],
			['12', 'animated', 'image/gif', 'AnimateDiff_00002.gif', 'output'],
			['13', 'audio', 'audio/flac', 'ComfyUI_00001_.flac', 'output'],
			['15', 'image', 'image/png', 'ComfyUI_temp_x_00001_.png', 'temp'],
		]);
		expect(files[3].format).toBe('video/h264-mp4');
	});

	it('tolerates missing or odd outputs', () => {
		expect(extractOutputs(undefined)).toEqual([]);
		expect(extractOutputs({ outputs: { '1': { images: [null, 3, { subfolder: '' }] } } as never })).toEqual([]);
		expect(guessMimeType('x.unknown')).toBe('application/octet-stream');
	});
});

describe('history decisions', () => {
	const base = { prompt: [0, 'p', {}, {}, ['3']], outputs: {} };
	it('tells success, error and interrupt apart', () => {
		expect(interpretHistory({ ...base, status: { status_str: 'success', completed: true, messages: [] } })).toEqual({ kind: 'success' });
		expect(
			interpretHistory({
				...base,
				status: {
					status_str: 'error',
					completed: false,
					messages: [['execution_error', { node_id: '2', node_type: 'KSampler', exception_message: 'boom', exception_type: 'RuntimeError' }]],
				},
			}),
		).toEqual({ kind: 'error', details: { nodeId: '2', nodeType: 'KSampler', exceptionMessage: 'boom', exceptionType: 'RuntimeError' } });
		expect(interpretHistory({ ...base, status: { status_str: 'error', messages: [['execution_interrupted', { node_id: '2' }]] } }).kind).toBe('interrupted');
		expect(interpretHistory({ ...base, status: null }).kind).toBe('success');
	});
	it('detects a fully cached run and reads execution time', () => {
		const entry = {
			...base,
			status: {
				messages: [
					['execution_start', { timestamp: 1000 }],
					['execution_cached', { nodes: ['1', '2', '3'] }],
					['execution_success', { timestamp: 1250 }],
				] as Array<[string, Record<string, unknown>]>,
			},
		};
		expect(wasFullyCached(entry)).toBe(true);
		expect(executionMsFromHistory(entry)).toBe(250);
		expect(wasFullyCached({ ...entry, status: { messages: [['execution_cached', { nodes: ['1'] }]] } })).toBe(false);
	});
});

describe('parsing', () => {
	it('flattens node_errors of every node', () => {
		const errors = flattenNodeErrors({
			'10': { errors: [{ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'image - bad', extra_info: { input_name: 'image' } }], class_type: 'LoadImage' },
			'11': { errors: [{ type: 'value_bigger_than_max', message: 'Value 999999 bigger than max of 16384', details: 'width', extra_info: { input_name: 'width' } }], class_type: 'ImageScale' },
		});
		expect(errors.map((e) => [e.nodeId, e.classType, e.inputName, e.type])).toEqual([
			['10', 'LoadImage', 'image', 'custom_validation_failed'],
			['11', 'ImageScale', 'width', 'value_bigger_than_max'],
		]);
	});
	it('sorts pending queue items by number', () => {
		const state = parseQueue({ queue_running: [[3, 'a', {}, { client_id: 'c' }, []]], queue_pending: [[4, 'b', {}, {}, []], [-5, 'c', {}, {}, []]] });
		expect(state).toEqual({ running: [{ number: 3, promptId: 'a', clientId: 'c' }], pending: [{ number: -5, promptId: 'c' }, { number: 4, promptId: 'b' }] });
	});
});

describe('server addresses and auth', () => {
	it('keeps base path and /api, derives the websocket URL, strips credentials', () => {
		const a = parseServerAddress('https://user:pa%40ss@gpu.example:8443/comfy/api/');
		expect(a.display).toBe('https://gpu.example:8443/comfy/api');
		expect(a.userInfo).toEqual({ user: 'user', password: 'pa@ss' });
		expect(routePath(a, '/view', { filename: 'a b.png', subfolder: '' })).toBe('/comfy/api/view?filename=a+b.png&subfolder=');
		expect(webSocketUrl(a, 'id-1')).toBe('wss://gpu.example:8443/comfy/api/ws?clientId=id-1');
		expect(webSocketUrl(parseServerAddress('127.0.0.1:8188'), 'x')).toBe('ws://127.0.0.1:8188/ws?clientId=x');
		expect(() => parseServerAddress('ftp://x')).toThrow(/http/);
	});
	it('builds headers and lists secrets', () => {
		expect(authHeaders({ type: 'basic', user: 'u', password: 'p' })).toEqual({ authorization: `Basic ${Buffer.from('u:p').toString('base64')}` });
		expect(authHeaders({ type: 'header', name: 'X-Api-Key', value: 'k' })).toEqual({ 'x-api-key': 'k' });
		expect(authSecrets({ type: 'bearer', token: 'tok' })).toEqual(['Bearer tok', 'tok']);
		expect(authSecrets({ type: 'basic', user: 'u', password: 'p' })).toEqual([`Basic ${Buffer.from('u:p').toString('base64')}`, 'p', 'u:p', Buffer.from('u:p').toString('base64')]);
	});
	it('names uploads by content', () => {
		const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
		expect(contentHashName(png, 'photo.PNG')).toMatch(/^[0-9a-f]{32}\.png$/);
		expect(contentHashName(png, 'photo.PNG')).toBe(contentHashName(png, 'other.png'));
		expect(uploadExtension('noext', png)).toBe('png');
		expect(uploadExtension('x.jpeg', png)).toBe('jpg');
	});
});
