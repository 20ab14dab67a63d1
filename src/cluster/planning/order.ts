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
 * How long each workflow counts as (its average expected time over the servers, in steps of
 * LENGTH_STEP), computed once per model and workflow: the queue is sorted on every pass, and a
 * batch may hold thousands.
 */
export function lengthClasses(model: DurationModel, serverIds: readonly string[]): (workflowKey: string) => number {
	const classes = new Map<string, number>();
	return (workflowKey) => {
		let value = classes.get(workflowKey);
		if (value === undefined) {
			const seconds = serverIds.reduce((sum, id) => sum + model.estimate(id, workflowKey), 0) / Math.max(1, serverIds.length);
			value = seconds > 0 ? Math.floor(Math.log(seconds) / Math.log(LENGTH_STEP)) : Number.NEGATIVE_INFINITY;
			classes.set(workflowKey, value);
		}
		return value;
	};
}

/** The comparator of the queue; `mixed` false (one kind of scene) skips the lengths: the order is then the item order. */
export function queueOrder(lengthOf: (workflowKey: string) => number, mixed: boolean): (a: OrderedScene, b: OrderedScene) => number {
	return (a, b) => {
		if (a.priority !== b.priority) return b.priority - a.priority;
		if (mixed) {
			const ea = lengthOf(a.workflowKey);
			const eb = lengthOf(b.workflowKey);
			if (ea !== eb) return eb - ea;
		}
		return a.index - b.index;
	};
}

/** Scenes the queue ranks alike (same priority, equally long): they may start in either order. */
export function rankGroup(scene: OrderedScene, lengthOf: (workflowKey: string) => number): string {
	return `${scene.priority}|${lengthOf(scene.workflowKey)}`;
}
