/**
 * Where a node sits in n8n's node creator (categories, subcategories) and the words that find it
 * (alias), read from the `<Node>.node.json` beside it. n8n takes the description's codex for an
 * installed package and reads the JSON file only when the description has none (nodes in
 * ~/.n8n/custom); the file is the one place both come from.
 *
 * A node in the "AI" category is left out of the node creator's search unless its "AI" subcategories
 * include "Root Nodes" (n8n hides AI sub-nodes there), as n8n's own OpenAI and Gemini nodes do.
 */
import type { CodexData } from 'n8n-workflow';

/** The codex part of a `.node.json` file (n8n ignores its `node`, `nodeVersion` and `codexVersion` here). */
export function codexOf(file: CodexData & Record<string, unknown>): CodexData {
	const { categories, subcategories, resources, alias } = file;
	return { categories, subcategories, resources, alias };
}
