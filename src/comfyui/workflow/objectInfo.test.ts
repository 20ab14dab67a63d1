import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import {
	comboOptions,
	declaredInputs,
	hasControlWidget,
	isUploadCombo,
	isWidgetInput,
	parseObjectInfo,
	specType,
	widgetDefault,
	type InputSpec,
	type ObjectInfo,
} from './objectInfo';

const objectInfo = workflowFixture<ObjectInfo>('object_info.json');

interface Recorded {
	http: Array<{ path: string; response_json?: unknown }>;
}

describe('object_info readers', () => {
	it('read the recorded answers of a real server', () => {
		const probe = JSON.parse(
			readFileSync(join(__dirname, '../../../test/fixtures/comfyui/probe1.json'), 'utf8'),
		) as Recorded;
		const recorded = probe.http.filter((h) => h.path.startsWith('/object_info/'));
		expect(recorded.length).toBeGreaterThan(0);
		for (const { path, response_json: body } of recorded) {
			const { objectInfo: parsed, skipped } = parseObjectInfo(body);
			expect(skipped).toEqual([]);
			if (path === '/object_info/NoSuchNode') expect(parsed).toEqual({});
			else expect(parsed).toEqual(body);
		}
	});

	it('keep the fixture catalogue as is and skip broken entries', () => {
		expect(parseObjectInfo(objectInfo).objectInfo).toEqual(objectInfo);
		const { objectInfo: parsed, skipped } = parseObjectInfo({ ...objectInfo, Broken: { input: 3 }, Odd: 'x' });
		expect(skipped).toEqual(['Broken', 'Odd']);
		expect(Object.keys(parsed)).toEqual(Object.keys(objectInfo));
		expect(parseObjectInfo([1]).objectInfo).toEqual({});
	});

	it('list inputs in declared order, required first', () => {
		expect(declaredInputs(objectInfo.KSampler).map((i) => i.name)).toEqual([
			'model',
			'seed',
			'steps',
			'cfg',
			'sampler_name',
			'scheduler',
			'positive',
			'negative',
			'latent_image',
			'denoise',
		]);
	});

	it('tell widgets, combos, controls and uploads apart', () => {
		const v3: InputSpec = ['COMBO', { options: ['random', 'fixed'], default: 'fixed' }];
		expect(specType(v3)).toBe('COMBO');
		expect(comboOptions(v3)).toEqual(['random', 'fixed']);
		expect(comboOptions(['INT', {}])).toBeUndefined();
		expect(comboOptions([['a', 'b']])).toEqual(['a', 'b']);
		expect(isWidgetInput(['MODEL'])).toBe(false);
		expect(isWidgetInput(['STRING', { forceInput: true }])).toBe(false);
		expect(isWidgetInput(['BOOLEAN', { default: true }])).toBe(true);
		expect(hasControlWidget('seed', ['INT'])).toBe(true);
		expect(hasControlWidget('seed', ['INT', { control_after_generate: false }])).toBe(false);
		expect(hasControlWidget('steps', ['INT'])).toBe(false);
		expect(hasControlWidget('value', ['FLOAT', { control_after_generate: true }])).toBe(true);
		expect(hasControlWidget('seed', ['STRING'])).toBe(false);
		const image = objectInfo.LoadImage.input.required?.image;
		expect(image && isUploadCombo(image)).toBe(true);
		expect(widgetDefault(['INT', { min: 16 }])).toEqual({ value: 16 });
		expect(widgetDefault([['x', 'y']])).toEqual({ value: 'x' });
		expect(widgetDefault(v3)).toEqual({ value: 'fixed' });
		expect(widgetDefault(['IMAGE'])).toBeUndefined();
	});
});
