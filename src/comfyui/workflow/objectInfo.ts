/** What a server's catalogue (`GET /object_info`) says about its node classes and inputs. */
import { z } from 'zod';
import { own } from '../../util/own';

/**
 * The shape of ComfyUI's `GET /object_info` answer, and small pure readers over it.
 * The client fetches it; everything here only reads a plain object.
 */

/** Options of one input, e.g. `{default: 20, min: 1, max: 10000}` or `{options: [...]}` for V3 combos. */
export interface InputOptions {
	default?: unknown;
	min?: number;
	max?: number;
	step?: number;
	round?: number | false;
	multiline?: boolean;
	tooltip?: string;
	forceInput?: boolean;
	defaultInput?: boolean;
	control_after_generate?: boolean | string;
	image_upload?: boolean;
	video_upload?: boolean;
	audio_upload?: boolean;
	animated_image_upload?: boolean;
	/** V3 combo options (`["COMBO", {options: [...]}]`). */
	options?: unknown[];
	multiselect?: boolean;
	[key: string]: unknown;
}

/** `TYPE` (e.g. `INT`, `MODEL`, `COMBO`) or, for legacy combos, the list of allowed values. */
export type InputTypeSpec = string | Array<string | number>;

/** `[TYPE]` or `[TYPE, options]`. */
export type InputSpec = [InputTypeSpec] | [InputTypeSpec, InputOptions | undefined];

export interface NodeClassInfo {
	input: {
		required?: Record<string, InputSpec>;
		optional?: Record<string, InputSpec>;
		/** Hidden inputs map name → type string (e.g. `PROMPT`) or a spec. */
		hidden?: Record<string, string | InputSpec>;
	};
	input_order?: {
		required?: string[];
		optional?: string[];
		hidden?: string[];
	};
	output: Array<string | string[]>;
	output_is_list?: boolean[];
	output_name?: string[];
	output_tooltips?: string[];
	name: string;
	display_name?: string | null;
	description?: string;
	python_module?: string;
	category?: string;
	output_node: boolean;
	deprecated?: boolean;
	experimental?: boolean;
	api_node?: boolean;
	[key: string]: unknown;
}

export type ObjectInfo = Record<string, NodeClassInfo>;

/** The primitive types ComfyUI's frontend shows as widgets. */
export const WIDGET_TYPES: ReadonlySet<string> = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);

export interface DeclaredInput {
	name: string;
	group: 'required' | 'optional';
	spec: InputSpec;
}

function orderedNames(map: Record<string, unknown> | undefined, order: string[] | undefined): string[] {
	if (!map) return [];
	const names = Object.keys(map);
	if (!order) return names;
	// input_order is authoritative; names it lacks keep their map order after it.
	const known = order.filter((name) => Object.hasOwn(map, name));
	return [...known, ...names.filter((name) => !known.includes(name))];
}

/** Required then optional inputs, in the order the node declares them (hidden inputs excluded). */
export function declaredInputs(info: NodeClassInfo): DeclaredInput[] {
	const result: DeclaredInput[] = [];
	for (const group of ['required', 'optional'] as const) {
		const map = info.input?.[group];
		for (const name of orderedNames(map, info.input_order?.[group])) {
			const spec = own(map, name);
			if (Array.isArray(spec)) result.push({ name, group, spec });
		}
	}
	return result;
}

export function findInputSpec(info: NodeClassInfo | undefined, name: string): InputSpec | undefined {
	if (!info) return undefined;
	const spec = own(info.input?.required, name) ?? own(info.input?.optional, name);
	return Array.isArray(spec) ? spec : undefined;
}

export function specOptions(spec: InputSpec): InputOptions {
	const options = spec[1];
	return options && typeof options === 'object' ? options : {};
}

/** The input's type name; legacy list combos and V3 `COMBO` both give `COMBO`. */
export function specType(spec: InputSpec): string {
	return Array.isArray(spec[0]) ? 'COMBO' : String(spec[0]);
}

/** The allowed values of a combo input, or undefined when the input is not a combo. */
export function comboOptions(spec: InputSpec): Array<string | number> | undefined {
	if (Array.isArray(spec[0])) return spec[0];
	if (spec[0] === 'COMBO') {
		const options = specOptions(spec).options;
		return Array.isArray(options)
			? options.filter((o): o is string | number => typeof o === 'string' || typeof o === 'number')
			: [];
	}
	return undefined;
}

/** True when ComfyUI's frontend draws this input as a widget (a value typed on the node, not a socket). */
export function isWidgetInput(spec: InputSpec): boolean {
	return WIDGET_TYPES.has(specType(spec)) && specOptions(spec).forceInput !== true;
}

/** True when a file upload button is attached to this combo (its files live in the server's input folder). */
export function isUploadCombo(spec: InputSpec): boolean {
	const o = specOptions(spec);
	return (
		comboOptions(spec) !== undefined &&
		(o.image_upload === true || o.video_upload === true || o.audio_upload === true || o.animated_image_upload === true)
	);
}

/**
 * Whether the frontend adds a "control after generate" widget after this one: declared with
 * `control_after_generate`, or (legacy convention) an INT named `seed` / `noise_seed` that does not say.
 */
export function hasControlWidget(name: string, spec: InputSpec): boolean {
	const type = specType(spec);
	if (type !== 'INT' && type !== 'FLOAT' && type !== 'COMBO') return false;
	const flag = specOptions(spec).control_after_generate;
	if (flag !== undefined) return Boolean(flag);
	return type === 'INT' && (name === 'seed' || name === 'noise_seed');
}

/** The default value the frontend gives a fresh widget. */
export function widgetDefault(spec: InputSpec): { value: unknown } | undefined {
	const o = specOptions(spec);
	if (o.default !== undefined) return { value: o.default };
	const options = comboOptions(spec);
	if (options) return options.length > 0 ? { value: options[0] } : undefined;
	switch (specType(spec)) {
		case 'INT':
		case 'FLOAT':
			return { value: typeof o.min === 'number' ? o.min : 0 };
		case 'STRING':
			return { value: '' };
		case 'BOOLEAN':
			return { value: false };
		default:
			return undefined;
	}
}

/** The type of output `slot` of a class, when declared. */
export function outputType(info: NodeClassInfo | undefined, slot: number): string | undefined {
	const type = info?.output?.[slot];
	if (type === undefined) return undefined;
	return Array.isArray(type) ? 'COMBO' : type;
}

const inputSpecSchema = z.array(z.unknown()).min(1);
const classInfoSchema = z
	.object({
		input: z
			.object({
				required: z.record(inputSpecSchema).optional(),
				optional: z.record(inputSpecSchema).optional(),
				hidden: z.record(z.unknown()).optional(),
			})
			.passthrough()
			.default({}),
		input_order: z
			.object({
				required: z.array(z.string()).optional(),
				optional: z.array(z.string()).optional(),
				hidden: z.array(z.string()).optional(),
			})
			.passthrough()
			.optional(),
		output: z.array(z.union([z.string(), z.array(z.string())])).default([]),
		output_node: z.boolean().default(false),
		name: z.string().optional(),
	})
	.passthrough();

/**
 * Reads a `/object_info` answer. Entries that do not have the expected shape (a broken custom node)
 * are left out rather than failing the whole catalogue; their names are returned in `skipped`.
 */
export function parseObjectInfo(input: unknown): { objectInfo: ObjectInfo; skipped: string[] } {
	const objectInfo: ObjectInfo = {};
	const skipped: string[] = [];
	if (typeof input !== 'object' || input === null || Array.isArray(input)) return { objectInfo, skipped };
	for (const [name, raw] of Object.entries(input)) {
		const parsed = classInfoSchema.safeParse(raw);
		if (!parsed.success || name === '__proto__') {
			skipped.push(name);
			continue;
		}
		objectInfo[name] = { ...parsed.data, name: parsed.data.name ?? name } as NodeClassInfo;
	}
	return { objectInfo, skipped };
}
