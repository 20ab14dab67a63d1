/**
 * Keeping a lease while its scene runs.
 *
 * A renewal can find the lease gone: it expired while this process was paused longer than its TTL,
 * or Redis restarted or was flushed. The scene runs on regardless (its prompt is on the server), so
 * the lease is put back at once, even when that puts the server above `max`: a slot the store does
 * not count is one that other workers fill, and a count above `max` makes every scheduler (ours
 * too) place nothing more there until the server is back under it. Stopping the scene instead would
 * throw away work to undo an overfill that ends anyway when it finishes.
 */
import type { HealthStore, Lease } from './store/HealthStore';

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
