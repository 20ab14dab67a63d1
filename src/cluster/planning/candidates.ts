/**
 * Which servers a scene may go to now, and whether a failed try uses up one of its attempts (pure).
 */

export interface ServerAdmission {
	id: string;
	/** Its breaker is open now. */
	breakerOpen: boolean;
	/** This process saw it refuse a connection or stay silent, and it has not answered since. */
	unreachable: boolean;
	/** Not known yet (its first probe or catalogue is on its way): takes nothing until it is. */
	joining?: boolean;
}

export interface SceneHistory {
	/** Servers that cannot run the scene (missing class or model, refused credentials). */
	incapable: ReadonlySet<string>;
	/** Servers that failed it transiently. */
	failedOn: ReadonlySet<string>;
}

/**
 * Capable servers that have joined, have not failed the scene (while others exist), that answer,
 * and whose breaker admits. When none is left: the ones that answer, then — once no server is still
 * joining — every capable one: the scene is then tried anyway (and that try counts), so a cluster
 * whose every server is down still fails its scenes after Max Attempts instead of holding them.
 */
export function candidateServers<S extends ServerAdmission>(servers: readonly S[], scene: SceneHistory): S[] {
	const capable = servers.filter((s) => !scene.incapable.has(s.id));
	const known = capable.filter((s) => !s.joining);
	const fresh = known.filter((s) => !scene.failedOn.has(s.id));
	const pool = fresh.length > 0 ? fresh : known;
	const reachable = pool.filter((s) => !s.unreachable);
	const admitted = reachable.filter((s) => !s.breakerOpen);
	if (admitted.length > 0) return admitted;
	if (reachable.length > 0) return reachable;
	// Nothing answers yet: wait for the servers still joining rather than try ones known to be down.
	if (capable.some((s) => s.joining)) return [];
	return pool;
}

/**
 * A refused connection before anything was queued costs the scene nothing while another server it
 * may use still answers: it goes there at once. Every other transient failure counts.
 */
export function usesAnAttempt(failure: { refusedBeforeQueued: boolean }, otherReachable: boolean): boolean {
	return !(failure.refusedBeforeQueued && otherReachable);
}
