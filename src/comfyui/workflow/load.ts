/** Which API-format graph a pasted workflow stands for. */
import { WorkflowFormatError } from './errors';
import { convertUiWorkflow } from './convert';
import type { ObjectInfo } from './objectInfo';
import { detectFormat, parseWorkflow } from './parse';
import type { ApiGraph } from './types';

/**
 * An API-format graph from whatever the author pasted: API format as is, UI format converted with the
 * server's catalogue. Without a catalogue a UI workflow is an error that says so.
 */
export function loadWorkflow(input: unknown, objectInfo?: ObjectInfo): ApiGraph {
	if (detectFormat(input) === 'api') return parseWorkflow(input);
	if (!objectInfo) {
		throw new WorkflowFormatError(
			'This is a UI-format workflow; converting it needs the node catalogue (/object_info) of a server. ' +
				'Export it with "Export (API)" in ComfyUI to skip the conversion',
		);
	}
	return parseWorkflow(convertUiWorkflow(input, objectInfo));
}
