/**
 * One reservation or one release at a time, through `commit` (the only way a store takes and hands
 * back slots), for tests that take them one by one.
 */
import type { HealthStore, Lease, Outcome, SelectArgs, SelectResult } from '../../../src/cluster/store/HealthStore';

export async function reserve(store: HealthStore, args: SelectArgs): Promise<SelectResult> {
	return (await store.commit({ reserve: [args] })).reserved[0];
}

/** Whether the lease was still live. */
export async function release(store: HealthStore, lease: Lease, outcome: Outcome): Promise<boolean> {
	return (await store.commit({ release: [{ lease, outcome }] })).released[0];
}

export function lease(result: SelectResult): Lease {
	if ('none' in result) throw new Error(`expected a lease, got none: ${result.none}`);
	return result.lease;
}
