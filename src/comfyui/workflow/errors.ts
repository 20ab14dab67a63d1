/** How a workflow that cannot be used is reported: every problem located by node and input. */
import { InvalidWorkflowError, type NodeValidationError } from '../errors';

/** One thing wrong with a workflow the author gave us, located as precisely as we can. */
export interface WorkflowProblem {
	message: string;
	/** Where in the input, e.g. `3.inputs.seed` or `nodes[4].widgets_values`. */
	path?: string;
	nodeId?: string;
	classType?: string;
	/** The input name (or JSON key) concerned. */
	key?: string;
}

/**
 * The workflow the author gave us is not usable as it stands: not JSON, not a graph, a UI workflow that
 * cannot be converted, an override or placeholder that names nothing. It is an invalid workflow (fail the
 * scene at once, do not try another server), found before any server saw it.
 */
export class WorkflowFormatError extends InvalidWorkflowError {
	readonly path?: string;
	readonly nodeId?: string;
	readonly key?: string;
	readonly classType?: string;
	readonly problems: WorkflowProblem[];

	constructor(message: string, where: Omit<WorkflowProblem, 'message'> = {}, problems?: WorkflowProblem[]) {
		const list = problems ?? [{ message, ...where }];
		super(message, list.filter((p) => p.nodeId !== undefined).map(toNodeError), undefined, 'workflow_format');
		this.path = where.path;
		this.nodeId = where.nodeId;
		this.key = where.key;
		this.classType = where.classType;
		this.problems = list;
	}

	/** One error for several problems; a single problem keeps its own message and location. */
	static of(problems: WorkflowProblem[], heading: string): WorkflowFormatError {
		if (problems.length === 1) {
			const [{ message, ...where }] = problems;
			return new WorkflowFormatError(message, where, problems);
		}
		const body = problems.map((p) => `- ${p.message}`).join('\n');
		return new WorkflowFormatError(`${heading} (${problems.length} problems):\n${body}`, {}, problems);
	}
}

function toNodeError(problem: WorkflowProblem): NodeValidationError {
	return {
		nodeId: problem.nodeId ?? '',
		classType: problem.classType,
		type: 'workflow_format',
		message: problem.message,
		inputName: problem.key,
	};
}

export function isWorkflowFormatError(error: unknown): error is WorkflowFormatError {
	return error instanceof WorkflowFormatError;
}
