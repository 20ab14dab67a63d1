/**
 * What happens to a batch's leases: taken and handed back in batched exchanges with the store,
 * passed straight on to the next scene on the same server, and renewed while their scene runs.
 *
 * Keeping a lease while its scene runs:
 * A renewal can find the lease gone: it expired while this process was paused longer than its TTL,
 * or Redis restarted or was flushed. The scene runs on regardless (its prompt is on the server), so
 * the lease is put back at once, even when that puts the server above `max`: a slot the store does
 * not count is one that other workers fill, and a count above `max` makes every scheduler (ours
 * too) place nothing more there until the server is back under it. Stopping the scene instead would
 * throw away work to undo an overfill that ends anyway when it finishes.
 */
import type { HealthStore, Lease, Outcome, Release, SelectArgs, SelectResult } from './store/HealthStore';

export interface KeepLeaseOptions {
	ttlMs: number;
	/** What holds the lease, for the log line (e.g. "scene 3 on http://gpu-1:8188"). */
	holder: string;
	/** Where the one line about a lost lease goes. */
	warn?: (message: string) => void;
}

/** How often a held lease is renewed: a third of its TTL (at least 1 s), so two renewals may fail before it expires. */
export function renewalPeriodMs(ttlMs: number): number {
	return Math.max(1000, Math.floor(ttlMs / 3));
}

export interface LeaseKeeper {
	/** Stops renewing; no renewal sent after this can put the lease back behind its release. */
	stop(): void;
}

/** Renews the lease every renewal period until stopped. */
export function keepLease(store: HealthStore, lease: Lease, options: KeepLeaseOptions): LeaseKeeper {
	let busy = false;
	let stopped = false;
	const timer = setInterval(() => {
		// A store slower than the period gets no second call on top of the first.
		if (busy) return;
		busy = true;
		void renewLease(store, lease, options, () => stopped).finally(() => (busy = false));
	}, renewalPeriodMs(options.ttlMs));
	timer.unref?.();
	return {
		stop() {
			stopped = true;
			clearInterval(timer);
		},
	};
}

/** Leases whose loss was logged: one line per lease, however many renewals find it lost. */
const reported = new WeakSet<Lease>();

/**
 * One renewal: extends the lease, or puts it back when the store lost it. `unknown` when the store
 * did not answer: the lease then expires on its own or the next renewal settles it.
 */
export async function renewLease(
	store: HealthStore,
	lease: Lease,
	options: KeepLeaseOptions,
	stopped: () => boolean = () => false,
): Promise<'renewed' | 'retaken' | 'lost' | 'unknown'> {
	try {
		if (await store.renew(lease, options.ttlMs)) return 'renewed';
		// The scene ended meanwhile: its release may already be on its way, and must stay the last word.
		if (stopped()) return 'lost';
		if (!reported.has(lease)) {
			reported.add(lease);
			options.warn?.(
				`The lease of ${options.holder} was lost (it expired, or Redis restarted or was flushed) while the scene still runs; ` +
					'it is taken again so that every worker counts the scene, and no more scenes go to that server while it is above its max',
			);
		}
		return (await store.retake(lease, options.ttlMs)) ? 'retaken' : 'lost';
	} catch {
		return 'unknown';
	}
}

/**
 * Outcomes of scenes whose lease passed to the next scene are recorded this much later at most,
 * many in one exchange: busy batches then cost far less than one Redis round trip per scene.
 */
const RECORD_DELAY_MS = 50;

export interface LeaseBookDeps {
	store: HealthStore;
	leaseTtlMs: number;
	/** An exchange failed (text already redacted by the caller's `clean`). */
	warn(message: string): void;
	clean(text: string): string;
	/** These releases reached the store at `at`. */
	onStored(releases: readonly Release[], at: number): void;
	/** An exchange that nobody waited for has ended. */
	onSettled(): void;
}

/**
 * The leases of finished scenes on their way back, and the exchanges that carry them: each exchange
 * hands back what finished, then takes new slots — one Redis round trip however many of each. A
 * lease on its way back stays ours (not another worker's) in the counts until it is back.
 */
export class LeaseBook {
	private toRelease: Release[] = [];
	/** Leases of ours not yet released in the store (waiting or on their way), per server. */
	private readonly releasing = new Map<string, number>();
	/** Exchanges that carry only releases: nobody waits for them. */
	private readonly unsettled = new Set<Promise<unknown>>();
	private timer?: NodeJS.Timeout;

	constructor(private readonly deps: LeaseBookDeps) {}

	/** The lease goes back with the next exchange, which may take the slot again at once. */
	handBack(lease: Lease, outcome: Outcome): Release {
		this.count(lease.serverId, +1);
		const release: Release = { lease, outcome };
		this.toRelease.push(release);
		return release;
	}

	/**
	 * A lease of ours whose scene just ended on this server, kept for the next scene there when the
	 * server is still fit (the scene did not fail there): no reservation, no wait for the store. Its
	 * outcome is recorded and the lease renewed with the next exchange.
	 */
	passOn(serverId: string): Lease | undefined {
		const free = this.toRelease.find((r) => r.lease.serverId === serverId && r.keepTtlMs === undefined && r.outcome.kind !== 'transient');
		if (!free) return undefined;
		free.keepTtlMs = this.deps.leaseTtlMs;
		// From here the lease counts as running again, not as being released.
		this.count(serverId, -1);
		return free.lease;
	}

	/** Leases of ours on this server that are on their way back. */
	releasingOn(serverId: string): number {
		return this.releasing.get(serverId) ?? 0;
	}

	/** Nothing waits to go back and no exchange is under way. */
	get idle(): boolean {
		return this.toRelease.length === 0 && this.unsettled.size === 0;
	}

	get pending(): boolean {
		return this.toRelease.length > 0;
	}

	/** Hands back what finished, then makes these reservations, in one exchange. */
	async exchange(reserve: SelectArgs[]): Promise<SelectResult[]> {
		const release = this.toRelease;
		this.toRelease = [];
		try {
			const result = await this.deps.store.commit({ release, reserve });
			this.deps.onStored(release, Date.now());
			return result.reserved;
		} catch (error) {
			// Leases not released expire by themselves (leaseTtlMs).
			this.deps.warn(`Could not update the cluster state: ${this.deps.clean(String(error))}`);
			return reserve.map(() => ({ none: 'the cluster state could not be updated' }));
		} finally {
			for (const { lease, keepTtlMs } of release) if (keepTtlMs === undefined) this.count(lease.serverId, -1);
		}
	}

	/**
	 * Sends what waits to go back without holding up the scheduler. Leases passed on only need their
	 * outcomes recorded: when `mayWait`, those wait a moment to travel with whatever ends meanwhile.
	 */
	flush(mayWait: boolean): void {
		if (this.toRelease.length === 0) return;
		if (mayWait && this.toRelease.every((r) => r.keepTtlMs !== undefined)) {
			this.timer ??= setTimeout(() => {
				this.timer = undefined;
				this.flush(false);
			}, RECORD_DELAY_MS);
			return;
		}
		this.close();
		const sent = this.exchange([]).finally(() => {
			this.unsettled.delete(sent);
			this.deps.onSettled();
		});
		this.unsettled.add(sent);
	}

	close(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
	}

	private count(serverId: string, delta: number): void {
		this.releasing.set(serverId, Math.max(0, (this.releasing.get(serverId) ?? 0) + delta));
	}
}
