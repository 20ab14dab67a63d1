import { countExternal, EXTERNAL_FRESH_MS, planServer, type ServerLoad } from './load';
import { planPlacements } from './plan';

const base: ServerLoad = { id: 'fast', max: 2, ownWork: [], foreignLeases: 0, typicalSeconds: 1 };

describe('planServer: what stands ahead on a server, counted exactly', () => {
	it('sees no phantom work once our prompts that a probe listed have finished', () => {
		// The last probe (2 s ago) listed two prompts of ours, both finished since: they are ours by
		// client id, so the probe counted 0 external entries and the server is idle now.
		const prefix = 'n8n-cc-abc-';
		const listed = [{ clientId: `${prefix}1` }, { clientId: `${prefix}1` }];
		const idle = planServer({ ...base, external: { count: countExternal(listed, prefix), ageMs: 2_000 } });
		expect(idle).toEqual({ id: 'fast', freeSlots: 2, busySeconds: 0 });
	});

	it('counts prompts others queued, less the time since the probe saw them, and none once stale', () => {
		expect(planServer({ ...base, external: { count: 2, ageMs: 0 } }).busySeconds).toBeCloseTo(2, 9);
		expect(planServer({ ...base, external: { count: 2, ageMs: 1_500 } }).busySeconds).toBeCloseTo(0.5, 9);
		expect(planServer({ ...base, external: { count: 2, ageMs: 5_000 } }).busySeconds).toBe(0);
		expect(planServer({ ...base, external: { count: 20, ageMs: EXTERNAL_FRESH_MS } }).busySeconds).toBe(0);
		// External work adds time, not held slots: max is about prompts of ours.
		expect(planServer({ ...base, external: { count: 5, ageMs: 0 } }).freeSlots).toBe(2);
	});

	it('counts our own scenes by their expected time left, and leases of other workers as slots and work', () => {
		const load = planServer({ ...base, max: 3, ownWork: [0.4, 1], foreignLeases: 1, typicalSeconds: 0.5 });
		expect(load.freeSlots).toBe(0);
		expect(load.busySeconds).toBeCloseTo(1.9, 9);
		expect(planServer({ ...base, closed: true }).freeSlots).toBe(0);
	});

	it('tells entries of this cluster from the rest by client id prefix', () => {
		const entries = [{ clientId: 'n8n-cc-abc-1' }, { clientId: 'n8n-cc-abc-2' }, { clientId: 'someone-else' }, {}, { clientId: 'n8n-cc-held-9' }];
		expect(countExternal(entries, 'n8n-cc-abc-')).toBe(3);
	});

	it('lets the last scenes of a batch wait for an idle fast server instead of a phantom-busy one going to a slow one', () => {
		// speeds 3, 2, 1: one scene left. With phantom work the fast server would look 2 scenes busy.
		const estimate = (id: string) => ({ s3: 1 / 3, s2: 1 / 2, s1: 1 })[id]!;
		const servers = ['s3', 's2', 's1'].map((id) => planServer({ ...base, id, typicalSeconds: estimate(id), external: { count: 0, ageMs: 2_500 } }));
		const [placement] = planPlacements(servers, [{ key: 0, workflowKey: 'w', candidates: ['s3', 's2', 's1'] }], estimate);
		expect(placement.serverId).toBe('s3');
	});
});
