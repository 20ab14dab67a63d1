import { DEFAULT_SECONDS_PER_WORK, DurationModel, WORK_KEY } from './durationModel';
import { planPlacements, type PlanServer, type PlanScene } from './plan';

describe('DurationModel', () => {
	it('predicts unmeasured pairs from how servers compare on other workflows', () => {
		const model = new DurationModel({
			samples: [
				{ serverId: 'fast', workflowKey: 'img', seconds: 1 },
				{ serverId: 'slow', workflowKey: 'img', seconds: 3 },
				{ serverId: 'fast', workflowKey: 'video', seconds: 8 },
			],
		});
		expect(model.estimate('fast', 'img')).toBe(1);
		expect(model.estimate('slow', 'video')).toBeCloseTo(24, 0);
		expect(model.estimate('unknown-server', 'img')).toBeGreaterThan(1);
		expect(model.estimate('unknown-server', 'img')).toBeLessThan(3);
		expect(model.hasMeasured('slow')).toBe(true);
		expect(model.hasMeasured('unknown-server')).toBe(false);
	});

	it('learns server speeds from scenes that share no workflow, through their seconds per work unit', () => {
		// 24 scenes that differ in one literal each: no two share a workflow, but every scene taught its
		// server's seconds per unit (2 units each: 1/3 s, 1/2 s and 1 s per scene at speeds 3, 2, 1).
		const work = new Map([['next', 2]]);
		const model = new DurationModel({
			samples: [
				{ serverId: 's3', workflowKey: 'a', seconds: 1 / 3 },
				{ serverId: 's2', workflowKey: 'b', seconds: 1 / 2 },
				{ serverId: 's1', workflowKey: 'c', seconds: 1 },
				{ serverId: 's3', workflowKey: WORK_KEY, seconds: 1 / 6 },
				{ serverId: 's2', workflowKey: WORK_KEY, seconds: 1 / 4 },
				{ serverId: 's1', workflowKey: WORK_KEY, seconds: 1 / 2 },
			],
			work,
		});
		expect(model.estimate('s3', 'next')).toBeCloseTo(1 / 3, 3);
		expect(model.estimate('s2', 'next')).toBeCloseTo(1 / 2, 3);
		expect(model.estimate('s1', 'next')).toBeCloseTo(1, 3);
	});

	it('counts a server never measured as fast as its weight says, relative to the measured ones', () => {
		const weights = new Map([
			['measured', 1],
			['twice', 2],
			['plain', 1],
		]);
		const model = new DurationModel({ samples: [{ serverId: 'measured', workflowKey: WORK_KEY, seconds: 0.2 }], work: new Map([['img', 10]]), weights });
		expect(model.estimate('measured', 'img')).toBeCloseTo(2, 6);
		expect(model.estimate('plain', 'img')).toBeCloseTo(2, 6);
		expect(model.estimate('twice', 'img')).toBeCloseTo(1, 6);
		// Before anything was measured, weights alone set the ratios.
		const cold = new DurationModel({ work: new Map([['img', 10]]), weights });
		expect(cold.estimate('plain', 'img') / cold.estimate('twice', 'img')).toBeCloseTo(2, 6);
	});
});

describe('DurationModel pricing of workflows never timed', () => {
	const work = new Map([
		['img', 1],
		['video', 8],
	]);

	it('prices them from their work at the seconds per unit the timed ones show, per server', () => {
		const model = new DurationModel({
			samples: [
				{ serverId: 'fast', workflowKey: 'img', seconds: 0.5 },
				{ serverId: 'slow', workflowKey: 'img', seconds: 1.5 },
			],
			work,
		});
		expect(model.knows('video')).toBe(false);
		expect(model.estimate('fast', 'video')).toBeCloseTo(4, 6);
		expect(model.estimate('slow', 'video')).toBeCloseTo(12, 6);
	});

	it('uses a default rate before anything was timed, keeping the ratio between workflows', () => {
		const model = new DurationModel({ work });
		expect(model.estimate('any', 'img')).toBeCloseTo(DEFAULT_SECONDS_PER_WORK, 10);
		expect(model.estimate('any', 'video')).toBeCloseTo(8 * DEFAULT_SECONDS_PER_WORK, 10);
	});

	it('prefers what was measured over what the graph says', () => {
		const model = new DurationModel({ samples: [{ serverId: 'a', workflowKey: 'video', seconds: 2 }], work });
		expect(model.estimate('a', 'video')).toBe(2);
		// the image is priced at the video's rate: 2 s per 8 units
		expect(model.estimate('a', 'img')).toBeCloseTo(0.25, 6);
	});
});

describe('planPlacements', () => {
	const est = (speeds: Record<string, number>) => (id: string) => 1 / speeds[id];

	it('starts scenes where they finish first and fills free slots', () => {
		const servers: PlanServer[] = [
			{ id: 'a', freeSlots: 2, busySeconds: 0 },
			{ id: 'b', freeSlots: 2, busySeconds: 0 },
		];
		const queue: Array<PlanScene<number>> = [0, 1, 2, 3, 4].map((key) => ({ key, workflowKey: 'w', candidates: ['a', 'b'] }));
		const placed = planPlacements(servers, queue, est({ a: 1, b: 1 }));
		expect(placed.map((p) => p.serverId)).toEqual(['a', 'b', 'a', 'b']);
	});

	it('holds the last scene back for a busy fast server rather than start it on an idle slow one', () => {
		const servers: PlanServer[] = [
			{ id: 'fast', freeSlots: 0, busySeconds: 0.5 },
			{ id: 'slow', freeSlots: 2, busySeconds: 0 },
		];
		const placed = planPlacements(servers, [{ key: 'last', workflowKey: 'w', candidates: ['fast', 'slow'] }], est({ fast: 4, slow: 1 }));
		expect(placed).toEqual([]);
	});

	it('uses a slow server when it would finish the scene first', () => {
		const servers: PlanServer[] = [
			{ id: 'fast', freeSlots: 0, busySeconds: 3 },
			{ id: 'slow', freeSlots: 1, busySeconds: 0 },
		];
		const placed = planPlacements(servers, [{ key: 1, workflowKey: 'w', candidates: ['fast', 'slow'] }], est({ fast: 2, slow: 1 }));
		expect(placed).toEqual([{ key: 1, serverId: 'slow', finishSeconds: 1 }]);
	});

	it('respects each scene\'s candidates', () => {
		const servers: PlanServer[] = [
			{ id: 'a', freeSlots: 1, busySeconds: 0 },
			{ id: 'b', freeSlots: 1, busySeconds: 5 },
		];
		const placed = planPlacements(servers, [{ key: 1, workflowKey: 'w', candidates: ['b'] }], est({ a: 1, b: 1 }));
		expect(placed.map((p) => p.serverId)).toEqual(['b']);
	});

	/**
	 * Simulated time (no clocks, no sockets): replan at every completion, as the batch does, and
	 * check the makespan against the lower bound of the P2 fleet.
	 */
	it('keeps a heterogeneous fleet within 5 % of the lower bound in simulated time', () => {
		const speeds: Record<string, number> = { s3: 3, s2a: 2, s2b: 2, s1a: 1, s1b: 1, s1c: 1 };
		const max = 2;
		const ids = Object.keys(speeds);
		let queue: Array<PlanScene<number>> = Array.from({ length: 60 }, (_, key) => ({ key, workflowKey: 'w', candidates: ids }));
		// per server: finish times of held prompts, in execution order (one runs at a time)
		const held = new Map<string, number[]>(ids.map((id) => [id, []]));
		let now = 0;
		let makespan = 0;
		for (let guard = 0; guard < 1000 && (queue.length > 0 || [...held.values()].some((h) => h.length)); guard++) {
			const servers: PlanServer[] = ids.map((id) => {
				const h = held.get(id)!;
				return { id, freeSlots: max - h.length, busySeconds: h.length ? h[h.length - 1] - now : 0 };
			});
			const placed = planPlacements(servers, queue, (id) => 1 / speeds[id]);
			for (const p of placed) {
				const h = held.get(p.serverId)!;
				const start = h.length ? h[h.length - 1] : now;
				h.push(start + 1 / speeds[p.serverId]);
			}
			const started = new Set(placed.map((p) => p.key));
			queue = queue.filter((q) => !started.has(q.key));
			const next = Math.min(...[...held.values()].filter((h) => h.length).map((h) => h[0]));
			if (!Number.isFinite(next)) break;
			now = next;
			for (const h of held.values()) if (h.length && h[0] <= now + 1e-9) h.shift();
			makespan = Math.max(makespan, now);
		}
		const lowerBound = 60 / 10;
		expect(queue).toHaveLength(0);
		expect(makespan / lowerBound).toBeLessThanOrEqual(1.05);
	});
});

describe('planPlacements with model loads', () => {
	const load = (_id: string, models: readonly string[], resident: readonly string[] | undefined) => models.filter((m) => !resident?.includes(m)).length * 4;
	const scene = (key: string, model: string, candidates = ['x', 'y']): PlanScene<string> => ({ key, workflowKey: 'w', candidates, models: [model], group: 'g' });
	const server = (id: string, resident: string, freeSlots = 1): PlanServer => ({ id, freeSlots, busySeconds: 0, resident: [resident] });

	it('a scene goes where its model is held, even when another server would be as free', () => {
		const plan = planPlacements([server('x', 'a'), server('y', 'b')], [scene('1', 'b'), scene('2', 'a')], () => 1, load);
		expect(plan.map((p) => [p.key, p.serverId])).toEqual([
			['1', 'y'],
			['2', 'x'],
		]);
	});

	it('with more models than servers, a server takes the next scene of its own model rather than load another', () => {
		// x holds a, y holds b; c comes first: it waits, the a and b scenes behind it start.
		const plan = planPlacements([server('x', 'a'), server('y', 'b')], [scene('c1', 'c'), scene('a1', 'a'), scene('b1', 'b')], () => 1, load);
		expect(plan.map((p) => [p.key, p.serverId]).sort()).toEqual([
			['a1', 'x'],
			['b1', 'y'],
		]);
	});

	it('only within a group (same priority, equally long), and a scene of another model starts once none of its own waits', () => {
		const urgent = { ...scene('c1', 'c'), group: 'urgent' };
		expect(planPlacements([server('x', 'a')], [urgent, scene('a1', 'a')], () => 1, load).map((p) => p.key)).toEqual(['c1']);
		expect(planPlacements([server('x', 'a')], [scene('c1', 'c'), scene('b1', 'b')], () => 1, load).map((p) => p.key)).toEqual(['c1']);
	});

	it('without a load function (affinity off) the queue order decides as before', () => {
		const plan = planPlacements([server('x', 'a'), server('y', 'b')], [scene('c1', 'c'), scene('a1', 'a')], () => 1);
		expect(plan.map((p) => p.key)).toEqual(['c1', 'a1']);
	});
});
