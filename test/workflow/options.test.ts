/**
 * Options evaluated per item, in n8n's engine: an expression gives each scene its own options
 * (Generate, Submit, Collect); Strategy and Concurrency decide for the whole run, so an expression
 * giving items different values stops the run naming the item, the option and the fix.
 */
import type { INodeExecutionData, INodeParameters, NodeOperationError } from 'n8n-workflow';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import type { Fleet } from '../sim';
import {
	clusterCredential,
	deleteKeys,
	fixture,
	isPng,
	nodeOf,
	receivedPrompts,
	redisCredential,
	runJson,
	setItems,
	setParameters,
	startTestFleet,
	type WorkflowJson,
} from './comfyui';

let fleet: Fleet;

beforeAll(async () => {
	fleet = await startTestFleet(2);
});
afterEach(async () => {
	await closeAllRuntimes();
});
const prefixes: string[] = [];
afterAll(async () => {
	await closeAllRuntimes();
	await fleet.stop();
	for (const prefix of prefixes) await deleteKeys(`${prefix}:`);
});

function cluster() {
	const credential = clusterCredential(fleet.urls);
	prefixes.push(String(credential.statePrefix));
	return credential;
}

/** The fixture's Generate (or Submit) with `options` merged into the fixture's own. */
function withOptions(name: 'generate' | 'submit-collect', node: string, options: INodeParameters, items: unknown[]): WorkflowJson {
	const wf = setItems(fixture(name), 'Scenes', items);
	const target = nodeOf(wf, node);
	return setParameters(wf, node, { options: { ...(target.parameters.options as INodeParameters), ...options } });
}

/** Prompts of this seed that started on a server (a scene moved before it started counts once, where it ran). */
function promptCount(seed: number): number {
	const started = new Set(fleet.servers.flatMap((s) => s.records.started));
	return receivedPrompts(fleet.servers).filter((p) => started.has(p.promptId) && (p.prompt as Record<string, { inputs: Record<string, unknown> }>)['3']?.inputs.seed === seed).length;
}

function isReference(item: INodeExecutionData): boolean {
	const outputs = item.json.outputs as Array<Record<string, unknown>>;
	return item.binary === undefined && outputs.length === 1 && typeof outputs[0].url === 'string' && outputs[0].property === undefined;
}

describe('Generate reads its options for each item', () => {
	it('an Output Mode expression returns binary data for some scenes and references for others', async () => {
		const items = ['binary', 'references', 'binary', 'references'].map((mode, i) => ({ json: { prompt: `mode ${i}`, seed: 61_000 + i, mode } }));
		const result = await runJson(withOptions('generate', 'Generate', { outputMode: '={{ $json.mode }}' }, items), { cluster: cluster() });

		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out).toHaveLength(4);
		expect(out.map((item) => (item.binary?.image_0 ? 'binary' : isReference(item) ? 'references' : 'other'))).toEqual(['binary', 'references', 'binary', 'references']);
		expect(isPng(Buffer.from(out[0].binary!.image_0.data, 'base64'))).toBe(true);
	});

	it('an option that does not validate for one item fails that item only (continue on fail), naming the item and the option', async () => {
		const items = [5, 99, 7].map((priority, i) => ({ json: { prompt: `priority ${i}`, seed: 62_000 + i, priority } }));
		const wf = withOptions('generate', 'Generate', { priority: '={{ $json.priority }}' }, items);
		nodeOf(wf, 'Generate').onError = 'continueRegularOutput';
		const result = await runJson(wf, { cluster: cluster() });

		expect(result.status).toBe('success');
		const out = result.output('Generate');
		expect(out.map((item) => item.json.error === undefined)).toEqual([true, false, true]);
		expect(out[1].json).toEqual({
			error: 'Item 1, Options → priority: Priority goes from 1 to 10',
			description: expect.stringMatching(/evaluated for each item/),
			scene: 1,
		});
		expect(promptCount(62_001)).toBe(0);
		expect(promptCount(62_000) + promptCount(62_002)).toBe(2);
	});

	it('a Strategy expression that gives items different values stops the run before anything is submitted, naming the item and the fix', async () => {
		const items = ['leastLoaded', 'leastLoaded', 'fastest'].map((strategy, i) => ({ json: { prompt: `strategy ${i}`, seed: 63_000 + i, strategy } }));
		const result = await runJson(withOptions('generate', 'Generate', { strategy: '={{ $json.strategy }}' }, items), { cluster: cluster() });

		expect(result.status).toBe('error');
		const error = result.nodeError('Generate') as NodeOperationError;
		expect(error.name).toBe('NodeOperationError');
		expect(error.message).toBe('Item 2, Options → Strategy: "fastest" differs from item 0\'s "leastLoaded"; this parameter applies to the whole run, not to one item');
		expect(error.context.itemIndex).toBe(2);
		expect(error.description).toMatch(/same for every item.*split the items/);
		expect([0, 1, 2].map((i) => promptCount(63_000 + i))).toEqual([0, 0, 0]);
	});

	it('a Concurrency expression is refused the same way; one that gives every item the same value runs', async () => {
		const items = [1, 2].map((c, i) => ({ json: { prompt: `concurrency ${i}`, seed: 64_000 + i, c } }));
		const refused = await runJson(withOptions('generate', 'Generate', { concurrency: '={{ $json.c }}' }, items), { cluster: cluster() });
		expect(refused.status).toBe('error');
		expect(refused.nodeError('Generate')?.message).toMatch(/^Item 1, Options → Concurrency: 2 differs from item 0's 1;/);

		const same = await runJson(withOptions('generate', 'Generate', { concurrency: '={{ $json.c * 0 + 1 }}', strategy: '={{ "fastest" }}' }, items), { cluster: cluster() });
		expect(same.status).toBe('success');
		expect(same.output('Generate').map((item) => item.json.error)).toEqual([undefined, undefined]);
	});

	it('Model Affinity, Memory-Aware Admission and Heavy Scenes per Server apply to the whole run too', async () => {
		const items = [0, 1].map((i) => ({ json: { prompt: `gpu ${i}`, seed: 65_000 + i, on: i === 0 } }));
		for (const [name, label, value] of [
			['modelAffinity', 'Model Affinity', '={{ $json.on }}'],
			['memoryAware', 'Memory-Aware Admission', '={{ $json.on }}'],
			['heavyPerServer', 'Heavy Scenes per Server', '={{ $json.on ? 1 : 2 }}'],
		] as const) {
			const refused = await runJson(withOptions('generate', 'Generate', { [name]: value }, items), { cluster: cluster() });
			expect(refused.nodeError('Generate')?.message).toMatch(new RegExp(`^Item 1, Options → ${label}: .* differs from item 0's`));
		}
		const set = await runJson(withOptions('generate', 'Generate', { modelAffinity: false, memoryAware: false, heavyPerServer: 0 }, items), { cluster: cluster() });
		expect(set.status).toBe('success');
		expect(set.output('Generate').map((item) => typeof item.json.modelLoadMs)).toEqual(['number', 'number']);
	});
});

describe('Submit and Collect read their options for each item', () => {
	it('Submit: an Output Kinds expression goes into each scene\'s handle; Collect: an Output Mode expression applies per item', async () => {
		const kinds = [['image'], ['image', 'video'], ['audio']];
		const items = kinds.map((k, i) => ({ json: { seed: 65_000 + i, kinds: k } }));
		// The Submit and Collect fixtures keep the cluster state in Redis, as a queue-mode install does.
		const credentials = { cluster: cluster(), redis: redisCredential() };
		const submitted = await runJson(withOptions('submit-collect', 'Submit', { outputKinds: '={{ $json.kinds }}' }, items), credentials);
		expect(submitted.status).toBe('success');
		const handles = submitted.output('Submit').map((item) => item.json.handle as Record<string, unknown>);
		expect(handles.map((h) => h.outputKinds)).toEqual(kinds);

		const modes = ['references', 'binary', 'references'];
		const collectItems = handles.map((handle, i) => ({ json: { handle: { ...handle, outputKinds: undefined }, mode: modes[i] } }));
		const wf = setItems(fixture('collect'), 'Handles', collectItems);
		const collect = nodeOf(wf, 'Collect');
		collect.parameters.options = { ...(collect.parameters.options as INodeParameters), outputMode: '={{ $json.mode }}' };
		const collected = await runJson(wf, credentials);
		expect(collected.status).toBe('success');
		const out = collected.output('Collect');
		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(out.map((item) => (item.binary?.image_0 ? 'binary' : isReference(item) ? 'references' : 'other'))).toEqual(modes);
	});
});
