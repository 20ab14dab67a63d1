import { workflowFixture } from '../../../test/fixtures/workflows/fixtures';
import type { ObjectInfo } from './objectInfo';
import { parseWorkflow } from './parse';
import { applySeedMode, randomInteger, readSeeds } from './seed';
import { seededRandom } from '../../../test/sim/http-util';

const objectInfo = workflowFixture<ObjectInfo>('object_info.json');
const graph = parseWorkflow(workflowFixture('reroute-primitive.api.json'));

describe('seeds', () => {
	it('reads the literal seed and noise_seed inputs', () => {
		expect(readSeeds(graph)).toEqual([
			{ nodeId: '6', input: 'seed', value: 987654321 },
			{ nodeId: '8', input: 'noise_seed', value: 987654321 },
		]);
	});

	it('keeps seeds in keep mode, returning a copy', () => {
		const kept = applySeedMode(graph, 'keep');
		expect(kept).toEqual(graph);
		expect(kept).not.toBe(graph);
	});

	it('gives every seed a new random whole number within range, reproducibly with a seeded generator', () => {
		const a = applySeedMode(graph, 'random', seededRandom(1), objectInfo);
		const b = applySeedMode(graph, 'random', seededRandom(1), objectInfo);
		const c = applySeedMode(graph, 'random', seededRandom(2), objectInfo);
		expect(a).toEqual(b);
		expect(readSeeds(c)).not.toEqual(readSeeds(a));
		for (const { value } of [...readSeeds(a), ...readSeeds(c)]) {
			expect(Number.isSafeInteger(value)).toBe(true);
			expect(value).toBeGreaterThanOrEqual(0);
		}
		expect(readSeeds(a).map((s) => s.value)).not.toContain(987654321);
		// other inputs are untouched
		expect(a['6'].inputs.steps).toBe(25);
		expect(graph['6'].inputs.seed).toBe(987654321);
	});

	it('respects a declared max and leaves linked seeds alone', () => {
		const info = structuredClone(objectInfo);
		const seed = info.KSampler.input.required?.seed;
		if (!seed?.[1]) throw new Error('fixture lacks KSampler.seed');
		seed[1].max = 3;
		const linked = structuredClone(graph);
		linked['8'].inputs.noise_seed = ['5', 0];
		for (let i = 0; i < 50; i++) {
			const result = applySeedMode(linked, 'random', seededRandom(i), info);
			expect([0, 1, 2, 3]).toContain(result['6'].inputs.seed);
			expect(result['8'].inputs.noise_seed).toEqual(['5', 0]);
		}
	});

	it('draws across the whole range', () => {
		expect(randomInteger(0, 9, () => 0)).toBe(0);
		expect(randomInteger(0, 9, () => 0.999999)).toBe(9);
		expect(randomInteger(5, 5, () => 0.7)).toBe(5);
		expect(randomInteger(0, Number.MAX_SAFE_INTEGER, () => 0.999999999)).toBeGreaterThan(2 ** 52);
		expect(randomInteger(0, Number.MAX_SAFE_INTEGER, () => 0.999999999)).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
	});
});
