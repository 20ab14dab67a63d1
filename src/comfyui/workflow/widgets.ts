/** Which input each of a saved node's widget values belongs to. */
import {
	declaredInputs,
	hasControlWidget,
	isUploadCombo,
	isWidgetInput,
	specOptions,
	specType,
	WIDGET_TYPES,
	widgetDefault,
	type DeclaredInput,
	type NodeClassInfo,
} from './objectInfo';

/**
 * How a saved node's `widgets_values` line up with its inputs, as ComfyUI's frontend lays widgets out:
 * one widget per widget-type input (INT, FLOAT, STRING, BOOLEAN, combo; not `forceInput`), required then
 * optional in declared order, each followed by its "control after generate" widget where it has one
 * (combos also get a filter box), and an upload button for combos with a file upload. Widgets whose
 * input is linked keep their place (and a stale value) in `widgets_values`.
 */

type Slot =
	| { kind: 'value'; input: DeclaredInput }
	| { kind: 'control'; input: DeclaredInput }
	| { kind: 'filter'; input: DeclaredInput }
	| { kind: 'upload' }
	/** Frontends before 1.16 also stored a dummy value for `forceInput` inputs. */
	| { kind: 'legacy'; input: DeclaredInput };

export const CONTROL_MODES: ReadonlySet<string> = new Set([
	'fixed',
	'increment',
	'decrement',
	'randomize',
	'increment-wrap',
]);

interface LayoutVariant {
	controls: boolean;
	legacyForceInput: boolean;
}

function layout(info: NodeClassInfo, variant: LayoutVariant): Slot[] {
	const slots: Slot[] = [];
	const inputs = declaredInputs(info);
	let uploadPending = false;
	for (const [index, input] of inputs.entries()) {
		if (isWidgetInput(input.spec)) {
			slots.push({ kind: 'value', input });
			if (variant.controls && hasControlWidget(input.name, input.spec)) {
				slots.push({ kind: 'control', input });
				if (specType(input.spec) === 'COMBO') slots.push({ kind: 'filter', input });
			}
			if (isUploadCombo(input.spec)) uploadPending = true;
		} else if (variant.legacyForceInput && WIDGET_TYPES.has(specType(input.spec))) {
			slots.push({ kind: 'legacy', input });
		}
		// The frontend adds the upload button as one more required input, after the declared required ones.
		const lastRequired = input.group === 'required' && inputs[index + 1]?.group !== 'required';
		if (uploadPending && lastRequired) {
			slots.push({ kind: 'upload' });
			uploadPending = false;
		}
	}
	if (uploadPending) slots.push({ kind: 'upload' });
	return slots;
}

function fits(slot: Slot, value: unknown): boolean {
	switch (slot.kind) {
		// A frontend that does not serialise these widgets leaves a null hole in their place.
		case 'control':
			return value === null || (typeof value === 'string' && CONTROL_MODES.has(value));
		case 'filter':
			return value === null || typeof value === 'string';
		case 'upload':
		case 'legacy':
			return true;
		case 'value':
			return fitsInput(slot.input, value);
	}
}

function fitsInput(input: DeclaredInput, value: unknown): boolean {
	switch (specType(input.spec)) {
		case 'INT':
		case 'FLOAT':
			return typeof value === 'number';
		case 'BOOLEAN':
			return typeof value === 'boolean';
		case 'STRING':
			return typeof value === 'string';
		case 'COMBO':
			return (
				typeof value === 'string' ||
				typeof value === 'number' ||
				(specOptions(input.spec).multiselect === true && Array.isArray(value))
			);
		default:
			return true;
	}
}

type Attempt =
	| { ok: true; exact: boolean; values: Record<string, unknown> }
	| { ok: false; reason: string };

function attempt(slots: Slot[], saved: unknown[]): Attempt {
	const values: Record<string, unknown> = {};
	for (const [index, slot] of slots.entries()) {
		if (index >= saved.length) {
			// Saved by a frontend whose node had fewer widgets: the frontend would keep the defaults.
			if (slot.kind !== 'value') continue;
			const fallback = widgetDefault(slot.input.spec);
			if (!fallback) return { ok: false, reason: `no value for "${slot.input.name}" and it has no default` };
			values[slot.input.name] = fallback.value;
			continue;
		}
		const value = saved[index];
		if (!fits(slot, value)) {
			return { ok: false, reason: `value ${index + 1} (${JSON.stringify(value)}) does not fit ${describeSlot(slot)}` };
		}
		if (slot.kind === 'value') values[slot.input.name] = value;
	}
	return { ok: true, exact: saved.length === slots.length, values };
}

function describeSlot(slot: Slot): string {
	switch (slot.kind) {
		case 'value':
			return `"${slot.input.name}" (${specType(slot.input.spec)})`;
		case 'control':
			return `the "control after generate" of "${slot.input.name}" (fixed/increment/decrement/randomize)`;
		case 'filter':
			return `the control filter of "${slot.input.name}"`;
		case 'upload':
			return 'the upload button';
		case 'legacy':
			return `"${slot.input.name}"`;
	}
}

export type WidgetMapping = { ok: true; values: Record<string, unknown> } | { ok: false; reason: string };

/** The widget input values of one saved node, by input name. */
export function mapWidgetValues(info: NodeClassInfo, saved: unknown[] | Record<string, unknown> | undefined): WidgetMapping {
	if (saved === undefined) saved = [];
	if (!Array.isArray(saved)) {
		// Some nodes save widgets by name.
		const values: Record<string, unknown> = {};
		for (const input of declaredInputs(info)) {
			if (!isWidgetInput(input.spec)) continue;
			if (Object.hasOwn(saved, input.name)) values[input.name] = saved[input.name];
			else {
				const fallback = widgetDefault(input.spec);
				if (fallback) values[input.name] = fallback.value;
			}
		}
		return { ok: true, values };
	}
	const variants: LayoutVariant[] = [
		{ controls: true, legacyForceInput: false },
		{ controls: true, legacyForceInput: true },
		{ controls: false, legacyForceInput: false },
	];
	const attempts = variants.map((variant) => {
		const slots = layout(info, variant);
		return { slots, result: attempt(slots, saved) };
	});
	const exact = attempts.find((a) => a.result.ok && a.result.exact);
	const usable = exact ?? attempts.find((a) => a.result.ok);
	if (usable && usable.result.ok) return { ok: true, values: usable.result.values };
	const first = attempts[0];
	const expected = first.slots.map(describeSlot).join(', ') || 'none';
	const reason = first.result.ok ? '' : first.result.reason;
	return {
		ok: false,
		reason: `its ${saved.length} widget values do not match the ${first.slots.length} widgets the server declares (${expected}): ${reason}`,
	};
}
