/**
 * The one shape of an error item in both nodes (Settings → On Error → Continue): `error` (the message,
 * naming the item), `description` (what to do, or null), then the node's own context fields.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

export function errorItem(error: { message: string; description?: string | null }, itemIndex: number, context: IDataObject = {}): INodeExecutionData {
	return { json: { error: error.message, description: error.description ?? null, ...context }, pairedItem: { item: itemIndex } };
}
