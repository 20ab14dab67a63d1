/**
 * The importable example workflows (examples/comfyui-cluster-*.json): they parse, use only our node
 * types and a few n8n core nodes, set only parameters our node declares, and run in n8n's engine
 * against a simulated fleet.
 */
import { readdirSync } from 'fs';
import { join } from 'path';
import type { INodeParameters, INodeProperties, INodePropertyCollection } from 'n8n-workflow';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import type { Fleet } from '../sim';
import { clusterCredential, deleteKeys, NODE_TYPE, readWorkflowJson, redisCredential, runJson, startTestFleet, type WorkflowJson } from './comfyui';

const EXAMPLES = join(__dirname, '../../examples');
const OUR_TYPES = new Set([NODE_TYPE, 'n8n-nodes-comfyui-cluster.cloudImageStorage']);
const CORE_TYPES = new Set(['n8n-nodes-base.manualTrigger', 'n8n-nodes-base.stickyNote', 'n8n-nodes-base.set', 'n8n-nodes-base.code']);
const EXPECTED = ['generate', 'submit-collect', 'cancel', 'status', 'free-memory'].map((n) => `comfyui-cluster-${n}.json`);

const files = readdirSync(EXAMPLES).filter((f) => /^comfyui-cluster-.*\.json$/.test(f)).sort();
const properties = new ComfyUiCluster().description.properties;

function load(file: string): WorkflowJson {
	return readWorkflowJson(join(EXAMPLES, file));
}

function visibleFor(property: INodeProperties, operation: string): boolean {
	const show = property.displayOptions?.show?.operation as string[] | undefined;
	return !show || show.includes(operation);
}

/** Problems with `value` against the declared property (names, option values, nested collections). */
function check(property: INodeProperties, value: unknown, path: string): string[] {
	if (typeof value === 'string' && value.startsWith('=')) return []; // an expression, checked at run time
	const problems: string[] = [];
	const optionValues = () => (property.options ?? []).map((o) => (o as { value: unknown }).value);
	switch (property.type) {
		case 'options':
			if (!optionValues().includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(optionValues())}`);
			break;
		case 'multiOptions':
			for (const v of value as unknown[]) if (!optionValues().includes(v)) problems.push(`${path}: ${JSON.stringify(v)} is not an option`);
			break;
		case 'collection': {
			const children = (property.options ?? []) as INodeProperties[];
			for (const [key, v] of Object.entries(value as INodeParameters)) {
				const child = children.find((c) => c.name === key);
				if (!child) problems.push(`${path}.${key} is not declared`);
				else problems.push(...check(child, v, `${path}.${key}`));
			}
			break;
		}
		case 'fixedCollection': {
			const groups = (property.options ?? []) as INodePropertyCollection[];
			for (const [key, entries] of Object.entries(value as INodeParameters)) {
				const group = groups.find((g) => g.name === key);
				if (!group) {
					problems.push(`${path}.${key} is not declared`);
					continue;
				}
				for (const [i, entry] of (Array.isArray(entries) ? entries : [entries]).entries()) {
					for (const [field, v] of Object.entries(entry as INodeParameters)) {
						const child = group.values.find((c) => c.name === field);
						if (!child) problems.push(`${path}.${key}[${i}].${field} is not declared`);
						else problems.push(...check(child, v, `${path}.${key}[${i}].${field}`));
					}
				}
			}
			break;
		}
		case 'boolean':
			if (typeof value !== 'boolean') problems.push(`${path}: ${JSON.stringify(value)} is not a boolean`);
			break;
		case 'number':
			if (typeof value !== 'number') problems.push(`${path}: ${JSON.stringify(value)} is not a number`);
			break;
		case 'json':
			if (typeof value === 'string') {
				try {
					JSON.parse(value);
				} catch {
					problems.push(`${path}: not valid JSON`);
				}
			}
			break;
		default:
			break;
	}
	return problems;
}

function parameterProblems(parameters: INodeParameters): string[] {
	const operation = String(parameters.operation ?? 'generate');
	const problems: string[] = [];
	for (const [key, value] of Object.entries(parameters)) {
		const declared = properties.filter((p) => p.name === key && visibleFor(p, operation));
		if (declared.length === 0) {
			problems.push(`${key} is not a parameter of operation ${operation}`);
			continue;
		}
		problems.push(...check(declared[0], value, key));
	}
	return problems;
}

describe('example workflows', () => {
	it('one example per operation is there', () => {
		expect(files).toEqual([...EXPECTED].sort());
	});

	describe.each(files)('%s', (file) => {
		const workflow = load(file);

		it('parses as an n8n workflow whose connections name its nodes', () => {
			expect(typeof workflow.name).toBe('string');
			expect(Array.isArray(workflow.nodes)).toBe(true);
			const names = new Set(workflow.nodes.map((n) => n.name));
			expect(names.size).toBe(workflow.nodes.length);
			expect(new Set(workflow.nodes.map((n) => n.id)).size).toBe(workflow.nodes.length);
			for (const [from, outputs] of Object.entries(workflow.connections)) {
				expect(names).toContain(from);
				for (const link of outputs.main.flat()) expect(names).toContain(link!.node);
			}
			for (const n of workflow.nodes) {
				expect(n.position).toEqual([expect.any(Number), expect.any(Number)]);
				expect(typeof n.typeVersion).toBe('number');
			}
		});

		it('uses only our node types, a Manual Trigger and a sticky note saying what to configure', () => {
			for (const n of workflow.nodes) expect(OUR_TYPES.has(n.type) || CORE_TYPES.has(n.type)).toBe(true);
			expect(workflow.nodes.filter((n) => n.type === 'n8n-nodes-base.manualTrigger')).toHaveLength(1);
			const notes = workflow.nodes.filter((n) => n.type === 'n8n-nodes-base.stickyNote');
			expect(notes).toHaveLength(1);
			expect(String(notes[0].parameters.content)).toMatch(/Configure:/);
			expect(String(notes[0].parameters.content)).toMatch(/ComfyUI Cluster API/);
		});

		it('sets only parameters the ComfyUI Cluster node declares, with declared values', () => {
			const ours = workflow.nodes.filter((n) => n.type === NODE_TYPE);
			expect(ours.length).toBeGreaterThan(0);
			for (const n of ours) {
				expect(parameterProblems(n.parameters)).toEqual([]);
				expect(n.credentials?.comfyUiClusterApi).toEqual({ id: expect.any(String), name: expect.any(String) });
			}
		});
	});
});

describe('test fixtures', () => {
	const fixtures = readdirSync(join(__dirname, 'fixtures')).filter((f) => f.endsWith('.workflow.json'));
	it.each(fixtures)('%s sets only parameters the ComfyUI Cluster node declares', (file) => {
		const workflow = readWorkflowJson(join(__dirname, 'fixtures', file));
		for (const n of workflow.nodes.filter((x) => x.type === NODE_TYPE)) expect(parameterProblems(n.parameters)).toEqual([]);
	});

	// The workflows scripts/e2e-n8n.sh runs in real n8n; "@@…@@" tokens are filled in by the script.
	const e2eDir = join(__dirname, '../../scripts/e2e-n8n/workflows');
	const e2eWorkflows = readdirSync(e2eDir).filter((f) => f.endsWith('.json') && readWorkflowJson(join(e2eDir, f)).nodes.some((n) => n.type === NODE_TYPE));
	it.each(e2eWorkflows)('scripts/e2e-n8n/workflows/%s sets only parameters the ComfyUI Cluster node declares', (file) => {
		for (const n of readWorkflowJson(join(e2eDir, file)).nodes.filter((x) => x.type === NODE_TYPE)) {
			const parameters = Object.fromEntries(Object.entries(n.parameters).filter(([, v]) => !(typeof v === 'string' && /^@@file:.+@@$/.test(v))));
			expect(parameterProblems(parameters)).toEqual([]);
		}
	});

	it('the checker reports undeclared parameters and values', () => {
		expect(parameterProblems({ operation: 'generate', bogus: 1, options: { strategy: 'fastestest', colour: 'red' }, overrides: { override: [{ node: '3', field: 'x' }] } })).toEqual([
			'bogus is not a parameter of operation generate',
			'options.strategy: "fastestest" is not one of ["leastLoaded","fastest","weighted","roundRobin"]',
			'options.colour is not declared',
			'overrides.override[0].field is not declared',
		]);
		expect(parameterProblems({ operation: 'clusterStatus', workflow: '{}' })).toEqual(['workflow is not a parameter of operation clusterStatus']);
	});
});

describe('example workflows run against a simulated fleet', () => {
	let fleet: Fleet;
	let cluster: ReturnType<typeof clusterCredential>;
	const trigger = 'When clicking Execute workflow';

	beforeAll(async () => {
		fleet = await startTestFleet(3, { msPerStep: 2 });
		cluster = clusterCredential(fleet.urls);
	});
	afterAll(async () => {
		await closeAllRuntimes();
		await fleet.stop();
		await deleteKeys(`${String(cluster.statePrefix)}:`);
	});

	const run = (file: string) => runJson(load(file), { cluster, redis: redisCredential() }, { startNode: trigger });

	it('Generate returns one image per scene', async () => {
		const result = await run('comfyui-cluster-generate.json');
		expect(result.status).toBe('success');
		const out = result.output('Generate Images');
		expect(out).toHaveLength(4);
		out.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.binary?.image_0.mimeType).toBe('image/png');
		});
		const texts = fleet.servers.flatMap((s) => s.records.prompts.map((p) => (p.prompt as Record<string, { inputs: { text?: string } }>)['6'].inputs.text));
		expect(texts).toContain('a red fox in fresh snow, morning light');
	});

	it('Submit, then Collect returns one image per scene', async () => {
		const result = await run('comfyui-cluster-submit-collect.json');
		expect(result.status).toBe('success');
		expect(result.output('Submit Scenes').map((i) => typeof (i.json.handle as { promptId?: unknown }).promptId)).toEqual(Array(4).fill('string'));
		const out = result.output('Collect Results');
		expect(out).toHaveLength(4);
		out.forEach((item) => expect(item.binary?.image_0.mimeType).toBe('image/png'));
	});

	it('Cancel reports an outcome per submitted scene', async () => {
		const result = await run('comfyui-cluster-cancel.json');
		expect(result.status).toBe('success');
		const out = result.output('Cancel Scenes');
		expect(out).toHaveLength(4);
		for (const item of out) expect(['deleted', 'interrupted', 'not-found']).toContain(item.json.outcome);
	});

	it('Cluster Status returns one row per server', async () => {
		const result = await run('comfyui-cluster-status.json');
		expect(result.status).toBe('success');
		expect(result.output('Cluster Status').map((r) => [r.json.server, r.json.reachable])).toEqual(fleet.urls.map((u) => [u, true]));
	});

	it('Free Memory frees every server', async () => {
		const before = fleet.servers.map((s) => s.records.frees);
		const result = await run('comfyui-cluster-free-memory.json');
		expect(result.status).toBe('success');
		expect(result.output('Free Memory').map((r) => r.json.freed)).toEqual([true, true, true]);
		expect(fleet.servers.map((s, k) => s.records.frees - before[k])).toEqual([1, 1, 1]);
	});
});
