import { chooseMoves, type HeldScene } from './rebalance';

const estimate = (serverId: string) => (serverId.startsWith('fast') ? 1 : 3);
const held = (key: string, serverId: string, over: Partial<HeldScene<string>> = {}): HeldScene<string> => ({
	key,
	serverId,
	workflowKey: 'w',
	queued: true,
	movable: true,
	since: 0,
	remaining: 3,
	excluded: new Set(),
	...over,
});

describe('chooseMoves', () => {
	it('a free server takes the queued scene that gains most, counting what stands ahead of it', () => {
		const scenes = [held('running', 'slow', { queued: false, remaining: 2 }), held('first', 'slow', { since: 1 }), held('second', 'slow', { since: 2 })];
		// 'second' waits behind 2 + 3 s and would finish at 8 s there; on the idle fast server at 1 s.
		expect(chooseMoves([{ id: 'fast', freeSlots: 1, busySeconds: 0 }], scenes, estimate)).toEqual(['second']);
	});

	it('moves nothing for a gain under the margin, nothing running, nothing excluded there, and one scene per free server', () => {
		expect(chooseMoves([{ id: 'fast', freeSlots: 1, busySeconds: 2.5 }], [held('only', 'slow')], estimate)).toEqual([]);
		expect(chooseMoves([{ id: 'fast', freeSlots: 1, busySeconds: 0 }], [held('run', 'slow', { queued: false })], estimate)).toEqual([]);
		expect(chooseMoves([{ id: 'fast', freeSlots: 1, busySeconds: 0 }], [held('x', 'slow', { excluded: new Set(['fast']) })], estimate)).toEqual([]);
		expect(chooseMoves([{ id: 'fast', freeSlots: 1, busySeconds: 0 }], [held('x', 'slow', { movable: false })], estimate)).toEqual([]);
		const two = [held('a', 'slow', { since: 1 }), held('b', 'slow', { since: 2 })];
		expect(chooseMoves([{ id: 'fast', freeSlots: 1, busySeconds: 0 }, { id: 'fast2', freeSlots: 1, busySeconds: 0 }], two, estimate)).toEqual(['b', 'a']);
	});
});
