/** Which node an override or placeholder names: by id, else by title. */
import { WorkflowFormatError } from './errors';
import { describeNode, listNodes, type ApiGraph } from './types';

/**
 * Finds a node by id, or else by its title (`_meta.title`). An ambiguous title is an error listing the
 * ids that carry it; a miss is an error listing every node.
 */
export function findNodeId(graph: ApiGraph, ref: string): string {
	const wanted = String(ref).trim();
	if (Object.hasOwn(graph, wanted)) return wanted;
	const byTitle = Object.keys(graph).filter((id) => graph[id]._meta?.title === wanted);
	if (byTitle.length === 1) return byTitle[0];
	if (byTitle.length > 1) {
		throw new WorkflowFormatError(
			`The title "${wanted}" is used by ${byTitle.length} nodes: ${byTitle.map((id) => describeNode(id, graph[id])).join(', ')}. ` +
				'Use the node id instead, or give the nodes distinct titles',
			{ key: wanted },
		);
	}
	const loose = Object.keys(graph).filter((id) => graph[id]._meta?.title?.trim().toLowerCase() === wanted.toLowerCase());
	const hint = loose.length > 0 ? ` Did you mean ${loose.map((id) => `"${graph[id]._meta?.title}" (node ${id})`).join(' or ')}?` : '';
	throw new WorkflowFormatError(
		`No node has the id or title "${wanted}".${hint} Nodes: ${listNodes(graph)}`,
		{ key: wanted },
	);
}
