import { candidateServers, usesAnAttempt, type ServerAdmission } from './candidates';

const server = (id: string, over: Partial<ServerAdmission> = {}): ServerAdmission => ({ id, breakerOpen: false, unreachable: false, ...over });
const fresh = { incapable: new Set<string>(), failedOn: new Set<string>() };

describe('candidateServers: refusals are news for every scene at once', () => {
	it('leaves out servers that refused or went silent while another one answers', () => {
		const servers = [server('dead-1', { unreachable: true }), server('dead-2', { unreachable: true }), server('dead-3', { unreachable: true }), server('ok')];
		expect(candidateServers(servers, fresh).map((s) => s.id)).toEqual(['ok']);
	});

	it('with 999 refusing servers and one healthy one, only the healthy one is a candidate', () => {
		const servers = [...Array.from({ length: 999 }, (_, i) => server(`dead-${i}`, { unreachable: true })), server('ok')];
		expect(candidateServers(servers, fresh).map((s) => s.id)).toEqual(['ok']);
	});

	it('keeps breakers and failed servers out while others exist, and tries them when nothing else is left', () => {
		const servers = [server('a', { breakerOpen: true }), server('b'), server('c')];
		expect(candidateServers(servers, { incapable: new Set(['c']), failedOn: new Set() }).map((s) => s.id)).toEqual(['b']);
		expect(candidateServers(servers, { incapable: new Set(['c']), failedOn: new Set(['b']) }).map((s) => s.id)).toEqual(['a']);
	});

	it('waits for servers still joining rather than offer ones known to be down', () => {
		const servers = [server('dead', { unreachable: true }), server('joining', { joining: true })];
		expect(candidateServers(servers, fresh)).toEqual([]);
		expect(candidateServers([...servers, server('ok')], fresh).map((s) => s.id)).toEqual(['ok']);
	});

	it('when every server is unreachable, still offers them all (the tries then count)', () => {
		const servers = [server('a', { unreachable: true }), server('b', { unreachable: true })];
		expect(candidateServers(servers, fresh).map((s) => s.id)).toEqual(['a', 'b']);
	});
});

describe('usesAnAttempt', () => {
	it('a refused connection before anything was queued is free while another server answers', () => {
		expect(usesAnAttempt({ refusedBeforeQueued: true }, true)).toBe(false);
	});

	it('counts when no other server answers, and for every other failure', () => {
		expect(usesAnAttempt({ refusedBeforeQueued: true }, false)).toBe(true);
		expect(usesAnAttempt({ refusedBeforeQueued: false }, true)).toBe(true);
	});
});
