/**
 * Whether each server answers, as this process last saw it: news for every scene of every
 * execution of the process at once, not only for the scene that ran into it.
 *
 * - `down`: a connection was refused — nothing listens, the ComfyUI process is gone and its queue
 *   with it. No scene is sent there until a probe gets an answer.
 * - `silent`: a probe got no answer in time while the connection may still be accepted — a process
 *   that is stopped, frozen or cut off. Its waiting scenes move; its running scene gets a bounded
 *   window to show life.
 *
 * A probe that answers makes the server `up` again.
 */
export type Reachability = 'up' | 'down' | 'silent';

export interface LivenessState {
	state: Exclude<Reachability, 'up'>;
	/** When it was first seen in this state. */
	since: number;
	reason: string;
}

export type LivenessListener = (serverId: string, state: Reachability) => void;

export class Liveness {
	private readonly states = new Map<string, LivenessState>();
	private readonly listeners = new Set<LivenessListener>();

	constructor(private readonly now: () => number = Date.now) {}

	/** The server's state; undefined while it answers (or nothing is known). */
	get(serverId: string): LivenessState | undefined {
		return this.states.get(serverId);
	}

	reachable(serverId: string): boolean {
		return !this.states.has(serverId);
	}

	/** A connection was refused. */
	refused(serverId: string, reason: string): void {
		this.set(serverId, 'down', reason);
	}

	/** A probe got no answer within its timeout. A refused server stays down. */
	silent(serverId: string, reason: string): void {
		if (this.states.get(serverId)?.state === 'down') return;
		this.set(serverId, 'silent', reason);
	}

	/** The server answered. */
	answered(serverId: string): void {
		if (!this.states.delete(serverId)) return;
		this.emit(serverId, 'up');
	}

	subscribe(listener: LivenessListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	private set(serverId: string, state: LivenessState['state'], reason: string): void {
		const current = this.states.get(serverId);
		if (current?.state === state) return;
		this.states.set(serverId, { state, since: this.now(), reason });
		this.emit(serverId, state);
	}

	private emit(serverId: string, state: Reachability): void {
		for (const listener of this.listeners) listener(serverId, state);
	}
}
