/**
 * Runs n8n workflows in n8n's real engine (n8n-core `WorkflowExecute`), without an n8n server:
 * expressions, pairedItem, continueOnFail / error outputs, credentials and cancellation behave as in n8n.
 *
 * Node types are registered under the names a real install gives them (`n8n-nodes-comfyui-cluster.<name>`),
 * so the workflow JSON in examples/ runs here unchanged. A small `test.items` node starts a workflow with
 * given items (and binaries).
 */
import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import { BinaryDataService, ExecutionLifecycleHooks, WorkflowExecute, type BinaryDataConfig, type ErrorReporter } from 'n8n-core';
import {
	LoggerProxy,
	NodeHelpers,
	Workflow,
	createRunExecutionData,
	type ICredentialDataDecryptedObject,
	type IConnections,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type INodeTypes,
	type IRun,
	type IRunData,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
	type ICredentialType,
} from 'n8n-workflow';

export const PACKAGE = 'n8n-nodes-comfyui-cluster';

/** Emits the items given in its `items` parameter; `binary` entries are stored through n8n's helpers. */
export class TestItems implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Items',
		name: 'items',
		group: ['input'],
		version: 1,
		description: 'Emits fixed items for tests',
		defaults: { name: 'Items' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [{ displayName: 'Items', name: 'items', type: 'json', default: '[]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string | TestItem[];
		const items = (typeof raw === 'string' ? JSON.parse(raw) : raw) as TestItem[];
		const out: INodeExecutionData[] = [];
		for (const item of items) {
			const entry: INodeExecutionData = { json: item.json ?? {}, pairedItem: { item: 0 } };
			if (item.binary) {
				entry.binary = {};
				for (const [property, file] of Object.entries(item.binary)) {
					entry.binary[property] = await this.helpers.prepareBinaryData(
						Buffer.from(file.base64, 'base64'),
						file.fileName,
						file.mimeType,
					);
				}
			}
			out.push(entry);
		}
		return [out];
	}
}

export interface TestItem {
	json?: IDataObject;
	binary?: Record<string, { base64: string; fileName?: string; mimeType?: string }>;
}

export interface LogLine {
	level: 'error' | 'warn' | 'info' | 'debug';
	message: string;
	meta?: unknown;
}

const logLines: LogLine[] = [];
let loggerInstalled = false;

function installLogger(): void {
	if (loggerInstalled) return;
	loggerInstalled = true;
	const record = (level: LogLine['level']) => (message: string, meta?: unknown) => {
		logLines.push({ level, message, meta });
	};
	const logger = {
		error: record('error'),
		warn: record('warn'),
		info: record('info'),
		debug: record('debug'),
		scoped: () => logger,
	};
	LoggerProxy.init(logger as unknown as Parameters<typeof LoggerProxy.init>[0]);
	// Nodes get `this.logger` from n8n's DI container: record those lines too (and keep them off stdout).
	Container.set(Logger, logger as unknown as Logger);
}

/** Every line n8n's logger received since the process started (for secret and progress checks). */
export function loggedLines(): LogLine[] {
	return logLines;
}

/**
 * Makes n8n keep binary data as files under `dir` (its filesystem mode, the default of a regular n8n
 * install) instead of base64 in the items; returns what undoes it. Without it the engine keeps binary
 * data in memory, as n8n's `default` mode did.
 */
export async function useFilesystemBinaryData(dir: string): Promise<() => void> {
	installLogger();
	const previous = Container.get(BinaryDataService);
	const config = { mode: 'filesystem', localStoragePath: dir, signingSecret: 'test-signing-secret', availableModes: ['filesystem'], dbMaxFileSize: 512 };
	const reporter = { error: () => undefined, warn: () => undefined, info: () => undefined };
	const service = new BinaryDataService(config as unknown as BinaryDataConfig, reporter as unknown as ErrorReporter, Container.get(Logger));
	await service.init();
	Container.set(BinaryDataService, service);
	return () => Container.set(BinaryDataService, previous);
}

/** The bytes of a binary property, wherever n8n keeps them. */
export function binaryBytes(data: { data: string; id?: string }): Promise<Buffer> {
	return Container.get(BinaryDataService).getAsBuffer(data as Parameters<BinaryDataService['getAsBuffer']>[0]);
}

export class NodeTypes implements INodeTypes {
	private readonly types = new Map<string, INodeType | IVersionedNodeType>();

	constructor(nodes: Array<INodeType | IVersionedNodeType>) {
		this.register('test.items', new TestItems());
		for (const node of nodes) {
			const name = 'nodeVersions' in node ? node.description.name : node.description.name;
			this.register(`${PACKAGE}.${name}`, node);
		}
	}

	register(name: string, node: INodeType | IVersionedNodeType): void {
		this.types.set(name, node);
	}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		const node = this.types.get(nodeType);
		if (!node) throw new Error(`Unknown node type ${nodeType}`);
		return node;
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
	}

	getKnownTypes(): IDataObject {
		return {};
	}
}

export interface RunOptions {
	nodes: INode[];
	connections: IConnections;
	nodeTypes: NodeTypes;
	/** Decrypted credential data by credential type name. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	credentialTypes?: ICredentialType[];
	/** Name of the node the run starts at (default: the first node). */
	startNode?: string;
	/** Abort the run after this many ms (default 60 s); the engine then reports `canceled`. */
	timeoutMs?: number;
	/** Called once the run has started, with a function that cancels it. */
	onStart?: (cancel: () => void) => void;
	executionId?: string;
}

export interface RunResult {
	run: IRun;
	status: IRun['status'];
	runData: IRunData;
	/** Items of the first output of `nodeName`'s last run. */
	output(nodeName: string, outputIndex?: number): INodeExecutionData[];
	/** The error of `nodeName`'s last run, if any. */
	nodeError(nodeName: string): Error | undefined;
}

let executionCounter = 0;

export async function runWorkflow(options: RunOptions): Promise<RunResult> {
	installLogger();
	const executionId = options.executionId ?? `test-${process.pid}-${++executionCounter}`;
	const workflow = new Workflow({
		id: 'wf-test',
		name: 'test',
		nodes: options.nodes,
		connections: options.connections,
		active: false,
		nodeTypes: options.nodeTypes,
		staticData: {},
		settings: { executionOrder: 'v1' },
	});
	const hooks = new ExecutionLifecycleHooks('manual', executionId, {
		id: 'wf-test',
		name: 'test',
		nodes: options.nodes,
		connections: options.connections,
		active: false,
		activeVersionId: null,
		isArchived: false,
		createdAt: new Date(),
		updatedAt: new Date(),
		settings: {},
	} as unknown as ConstructorParameters<typeof ExecutionLifecycleHooks>[2]);
	const done = new Promise<IRun>((resolve) => {
		hooks.addHandler('workflowExecuteAfter', (fullRunData: IRun) => resolve(fullRunData));
	});
	const credentials = options.credentials ?? {};
	const credentialsHelper = {
		getParentTypes: () => [],
		isCredentialUsableByNode: () => true,
		authenticate: async (_c: unknown, _t: string, requestOptions: unknown) => requestOptions,
		preAuthentication: async () => undefined,
		runPreAuthentication: async () => undefined,
		getCredentials: async () => {
			throw new Error('not supported in tests');
		},
		getDecrypted: async (_additional: unknown, _nodeCredentials: unknown, type: string) => {
			const data = credentials[type];
			if (!data) throw new Error(`No test credential of type ${type}`);
			return data;
		},
		updateCredentials: async () => undefined,
		updateCredentialsOauthTokenData: async () => undefined,
		getCredentialsProperties: (type: string) =>
			options.credentialTypes?.find((c) => c.name === type)?.properties ?? [],
	};
	const additionalData = {
		hooks,
		executionId,
		credentialsHelper,
		variables: {},
		currentNodeParameters: undefined,
		currentNodeExecutionIndex: 0,
		restApiUrl: 'http://127.0.0.1:5678/rest',
		instanceBaseUrl: 'http://127.0.0.1:5678',
		formBaseUrl: 'http://127.0.0.1:5678/form',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1:5678/form-test',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		mcpBaseUrl: 'http://127.0.0.1:5678/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1:5678/mcp-test',
		userId: 'test-user',
	} as unknown as IWorkflowExecuteAdditionalData;

	const startName = options.startNode ?? options.nodes[0].name;
	const startNode = workflow.getNode(startName);
	if (!startNode) throw new Error(`No node named ${startName}`);
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [
				{ node: startNode, data: { main: [[{ json: {} }]] }, source: null },
			],
		},
	});
	const execute = new WorkflowExecute(additionalData, 'manual', runExecutionData);
	const running = execute.processRunExecutionData(workflow);
	const cancel = () => running.cancel();
	options.onStart?.(cancel);
	const timer = setTimeout(cancel, options.timeoutMs ?? 60_000);
	let run: IRun;
	try {
		await running.catch(() => undefined);
		run = await done;
	} finally {
		clearTimeout(timer);
	}
	const runData = run.data.resultData.runData;
	return {
		run,
		status: run.status,
		runData,
		output(nodeName, outputIndex = 0) {
			const runs = runData[nodeName];
			if (!runs || runs.length === 0) return [];
			return runs[runs.length - 1].data?.main?.[outputIndex] ?? [];
		},
		nodeError(nodeName) {
			const runs = runData[nodeName];
			const error = runs?.[runs.length - 1]?.error;
			return error ?? undefined;
		},
	};
}

/** A node as workflow JSON holds it. */
export function node(
	name: string,
	type: string,
	parameters: INode['parameters'],
	extra: Partial<INode> = {},
): INode {
	return {
		id: name.toLowerCase().replace(/\W+/g, '-'),
		name,
		type: type.includes('.') ? type : `${PACKAGE}.${type}`,
		typeVersion: 1,
		position: [0, 0],
		parameters,
		...extra,
	};
}

/** Connects nodes in a chain: a → b → c. */
export function chain(...names: string[]): IConnections {
	const connections: IConnections = {};
	for (let i = 0; i < names.length - 1; i++) {
		connections[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	}
	return connections;
}
