/**
 * In which order waiting scenes are placed (pure): higher priority first, then the longest
 * expected (so the long ones do not end the batch alone on one server), then item order.
 *
 * "Longest" is judged in steps of LENGTH_STEP: scenes whose expected times differ by less (the same
 * work with another checkpoint or prompt, timed with noise) keep their item order, so scenes that
 * arrive interleaved are placed interleaved, and each finds the server that holds its model.
 */
import type { DurationModel } from './durationModel';

/** Expected times within this factor of each other count as equally long. */
export const LENGTH_STEP = 1.25;

export interface OrderedScene {
	index: number;
	priority: number;
	workflowKey: string;
}

/**
 * A comparator for one model. The average expected time of each workflow over the servers is
 * computed once per model: the queue is sorted on every pass, and a batch may hold thousands.
 * `mixed` false (one kind of scene) skips the estimates: the order is then the item order.
 */
export function queueOrder(model: DurationModel, serverIds: readonly string[], mixed: boolean): (a: OrderedScene, b: OrderedScene) => number {
	const averages = new Map<string, number>();
	const average = (workflowKey: string): number => {
		let value = averages.get(workflowKey);
		if (value === undefined) {
			const seconds = serverIds.reduce((sum, id) => sum + model.estimate(id, workflowKey), 0) / Math.max(1, serverIds.length);
			value = seconds > 0 ? Math.floor(Math.log(seconds) / Math.log(LENGTH_STEP)) : Number.NEGATIVE_INFINITY;
			averages.set(workflowKey, value);
		}
		return value;
	};
	return (a, b) => {
		if (a.priority !== b.priority) return b.priority - a.priority;
		if (mixed) {
			const ea = average(a.workflowKey);
			const eb = average(b.workflowKey);
			if (ea !== eb) return eb - ea;
		}
		return a.index - b.index;
	};
}
