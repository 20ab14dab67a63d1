/**
 * Parameters that decide for the whole run rather than for one item (one strategy for a batch, one
 * concurrency limit, one client): they are read for every item all the same, so that an expression
 * giving items different values is refused, naming the item, the field and the fix, instead of item
 * 0's value silently applying to all.
 */
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

/** Such a parameter's description: what it does, then that it applies to the whole run. */
export function runWide(description: string): string {
	return `${description}${description.endsWith('.') ? '' : '.'} Applies to the whole run: an expression must give every item the same value.`;
}

/** The run's one value among `values` (items that could not be read left out); throws at the first item whose value differs. */
export function oneValueForTheRun<T>(ctx: IExecuteFunctions, label: string, values: ReadonlyArray<{ itemIndex: number; value: T }>): T | undefined {
	const [first, ...rest] = values;
	if (!first) return undefined;
	const other = rest.find((entry) => !sameValue(entry.value, first.value));
	if (other) {
		throw new NodeOperationError(
			ctx.getNode(),
			`Item ${other.itemIndex}, ${label}: ${shown(other.value)} differs from item ${first.itemIndex}'s ${shown(first.value)}; this parameter applies to the whole run, not to one item`,
			{
				itemIndex: other.itemIndex,
				description: `${label} is one value for all items of a run. Give it a fixed value or an expression that is the same for every item; to use different values, split the items (for example with a Switch node) into separate runs of this node.`,
			},
		);
	}
	return first.value;
}

/** Reads a run-wide parameter for every item (`read(i)`) and returns its one value, as oneValueForTheRun. */
export function sameForEveryItem<T>(ctx: IExecuteFunctions, label: string, read: (itemIndex: number) => T): T {
	const count = Math.max(1, ctx.getInputData().length);
	const values = Array.from({ length: count }, (_, itemIndex) => ({ itemIndex, value: read(itemIndex) }));
	return oneValueForTheRun(ctx, label, values) as T;
}

function sameValue(a: unknown, b: unknown): boolean {
	return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function shown(value: unknown): string {
	return value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
}
