/** Whether a workflow is in ComfyUI's saved (UI) format, read leniently. */
import { z } from 'zod';

/**
 * ComfyUI's saved ("UI") workflow format, read leniently: only what conversion needs is checked,
 * everything else passes through. Links come as `[id, from_node, from_slot, to_node, to_slot, type]`
 * (version 0.4) or as objects (schema version 1).
 */

const nodeId = z.union([z.number(), z.string()]);

const uiInputSchema = z
	.object({
		name: z.string(),
		type: z.union([z.string(), z.number()]).optional(),
		link: z.number().nullable().optional(),
		widget: z.object({ name: z.string() }).passthrough().optional(),
		label: z.string().optional(),
	})
	.passthrough();

const uiOutputSchema = z
	.object({
		name: z.string().optional(),
		type: z.union([z.string(), z.number()]).optional(),
		links: z.array(z.number()).nullable().optional(),
		slot_index: z.number().optional(),
		widget: z.object({ name: z.string() }).passthrough().optional(),
	})
	.passthrough();

export const uiNodeSchema = z
	.object({
		id: nodeId,
		type: z.string(),
		mode: z.number().optional(),
		title: z.string().optional(),
		inputs: z.array(uiInputSchema).optional(),
		outputs: z.array(uiOutputSchema).optional(),
		widgets_values: z.union([z.array(z.unknown()), z.record(z.unknown())]).optional(),
		properties: z.record(z.unknown()).optional(),
	})
	.passthrough();

const linkTuple = z.tuple([z.number(), nodeId, z.number(), nodeId, z.number()]).rest(z.unknown());
const linkObject = z
	.object({
		id: z.number(),
		origin_id: nodeId,
		origin_slot: z.number(),
		target_id: nodeId,
		target_slot: z.number(),
		type: z.unknown().optional(),
	})
	.passthrough();

export const uiWorkflowSchema = z
	.object({
		last_node_id: z.unknown().optional(),
		last_link_id: z.unknown().optional(),
		nodes: z.array(uiNodeSchema),
		links: z.array(z.union([linkTuple, linkObject])).default([]),
		groups: z.array(z.unknown()).optional(),
		config: z.unknown().optional(),
		extra: z.record(z.unknown()).optional(),
		version: z.unknown().optional(),
		definitions: z
			.object({ subgraphs: z.array(z.object({ id: z.string() }).passthrough()).optional() })
			.passthrough()
			.optional(),
	})
	.passthrough();

export type UiInput = z.infer<typeof uiInputSchema>;
export type UiOutput = z.infer<typeof uiOutputSchema>;
export type UiNode = z.infer<typeof uiNodeSchema>;
export type UiWorkflow = z.infer<typeof uiWorkflowSchema>;

export interface UiLink {
	id: number;
	originId: string;
	originSlot: number;
	targetId: string;
	targetSlot: number;
	type?: unknown;
}

export function normaliseLink(link: UiWorkflow['links'][number]): UiLink {
	if (Array.isArray(link)) {
		return {
			id: link[0],
			originId: String(link[1]),
			originSlot: link[2],
			targetId: String(link[3]),
			targetSlot: link[4],
			type: link[5],
		};
	}
	return {
		id: link.id,
		originId: String(link.origin_id),
		originSlot: link.origin_slot,
		targetId: String(link.target_id),
		targetSlot: link.target_slot,
		type: link.type,
	};
}

/** Node modes as litegraph stores them. */
export const NodeMode = { always: 0, onEvent: 1, never: 2, onTrigger: 3, bypass: 4 } as const;
