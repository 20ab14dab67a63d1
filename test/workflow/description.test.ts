/**
 * What n8n's editor shows of the two nodes before they run: where the node creator files them and the
 * words that find them (codex), how the credential pickers are labelled, the subtitles and boolean defaults.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { PackageDirectoryLoader } from 'n8n-core';
import { Workflow, type CodexData, type INode, type INodeParameters, type INodeProperties, type INodeTypeDescription } from 'n8n-workflow';
import { CloudImageStorage } from '../../nodes/CloudImageStorage/CloudImageStorage.node';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { DEFAULT_FREE_MEMORY, DEFAULT_FREE_MEMORY_AFTER, DEFAULT_MEMORY_AWARE, DEFAULT_MODEL_AFFINITY, DEFAULT_UNLOAD_MODELS } from '../../nodes/ComfyUiCluster/helpers/defaults';
import { NodeTypes, PACKAGE } from './harness';

const comfy = new ComfyUiCluster().description;
const storage = new CloudImageStorage().description;

/**
 * Whether the node creator's search can return the node outside the AI panel: n8n's editor drops
 * nodes of the "AI" category from it unless their "AI" subcategories include "Root Nodes"
 * (filterOutAiNodes in editor-ui's useViewStacks.ts).
 */
function searchable(codex: CodexData | undefined): boolean {
	if (!codex?.categories?.includes('AI')) return true;
	return codex.subcategories?.AI?.includes('Root Nodes') === true;
}

/** The `.node.json` n8n reads beside the compiled node when the description carries no codex. */
function codexFile(node: string): Record<string, unknown> {
	return JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', node, `${node}.node.json`), 'utf8')) as Record<string, unknown>;
}

describe('node creator', () => {
	it.each([
		['ComfyUI Cluster', comfy, ['ComfyUI', 'Comfy', 'Stable Diffusion', 'SDXL', 'Flux', 'image generation', 'video generation', 'GPU']],
		['Cloud Image Storage', storage, ['S3', 'R2', 'MinIO', 'Cloudflare Images', 'upload', 'storage', 'bucket']],
	])('%s carries a searchable codex with the words users type', (_, description: INodeTypeDescription, words: string[]) => {
		const codex = description.codex;
		expect(codex?.categories?.length).toBeGreaterThan(0);
		expect(searchable(codex)).toBe(true);
		expect(codex?.alias).toEqual(expect.arrayContaining(words));
		expect(codex?.resources?.primaryDocumentation?.[0]?.url).toMatch(/^https:\/\/github\.com\/.+#/);
	});

	it('n8n-core\'s package loader (an installed community package) passes the codex on to the editor', () => {
		const loader = new PackageDirectoryLoader(join(__dirname, '..', '..'));
		for (const node of ['ComfyUiCluster', 'CloudImageStorage']) loader.loadNodeFromFile(`nodes/${node}/${node}.node.ts`, '0.1.0');
		const loaded = Object.fromEntries(loader.types.nodes.map((d) => [d.name, d.codex]));
		expect(loaded).toEqual({ comfyUiCluster: comfy.codex, cloudImageStorage: storage.codex });
		expect(searchable(loaded.comfyUiCluster)).toBe(true);
	});

	it('files ComfyUI Cluster among the AI root nodes (as n8n\'s OpenAI node), never as an AI sub-node', () => {
		expect(comfy.codex?.categories).toEqual(expect.arrayContaining(['AI', 'Development']));
		expect(comfy.codex?.subcategories?.AI).toEqual(expect.arrayContaining(['Root Nodes']));
	});

	it.each([
		['ComfyUiCluster', comfy],
		['CloudImageStorage', storage],
	])('%s.node.json (read by n8n for nodes in ~/.n8n/custom) says what the description says', (node, description: INodeTypeDescription) => {
		const { categories, subcategories, resources, alias, node: type } = codexFile(node);
		expect(type).toBe(`n8n-nodes-comfyui-cluster.${description.name}`);
		expect(JSON.parse(JSON.stringify({ categories, subcategories, resources, alias }))).toEqual(JSON.parse(JSON.stringify(description.codex)));
	});
});

describe('credential pickers', () => {
	it('ComfyUI Cluster names both, the required servers first', () => {
		expect(comfy.credentials?.map(({ name, displayName, required }) => ({ name, displayName, required }))).toEqual([
			{ name: 'comfyUiClusterApi', displayName: 'ComfyUI Servers', required: true },
			{ name: 'comfyUiClusterRedisApi', displayName: 'Shared State (Redis)', required: false },
		]);
	});

	it('Cloud Image Storage names the credential of each provider', () => {
		expect(storage.credentials?.map(({ name, displayName }) => ({ name, displayName }))).toEqual([
			{ name: 's3CompatibleApi', displayName: 'S3-Compatible Storage' },
			{ name: 'cloudflareImagesApi', displayName: 'Cloudflare Images Account' },
		]);
	});

	it('the Redis notice reads true with and without a Redis credential (n8n cannot show it by credential)', () => {
		const notice = comfy.properties.find((p) => p.name === 'redisNotice');
		expect(notice?.type).toBe('notice');
		expect(notice?.displayName).toMatch(/^Shared State \(Redis\) is optional: without it /);
		expect(Object.keys(notice?.displayOptions?.show ?? {})).toEqual(['operation']);
	});
});

describe('subtitles', () => {
	const types = new NodeTypes([new ComfyUiCluster(), new CloudImageStorage()]);

	/** The subtitle as n8n's canvas shows it: the description's expression on the node's parameters. */
	function subtitle(description: INodeTypeDescription, parameters: INodeParameters): string {
		const node: INode = { id: '1', name: 'N', type: `${PACKAGE}.${description.name}`, typeVersion: 1, position: [0, 0], parameters };
		const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes: types });
		return String(workflow.expression.getSimpleParameterValue(node, String(description.subtitle), 'internal', {}));
	}

	it('say the operation, then the provider where there is one', () => {
		expect(subtitle(comfy, { operation: 'generate' })).toBe('Generate');
		expect(subtitle(comfy, { operation: 'clusterStatus' })).toBe('Cluster Status');
		expect(subtitle(storage, { operation: 'upload', provider: 's3' })).toBe('Upload: S3');
		expect(subtitle(storage, { operation: 'getUrl', provider: 'cloudflareImages' })).toBe('Get URL: Cloudflare Images');
		expect(subtitle(storage, { operation: 'delete', provider: 's3' })).toBe('Delete: S3');
	});
});

describe('boolean defaults', () => {
	/** Every property named `name` anywhere in the description (options of collections included). */
	function propertiesNamed(name: string, properties = comfy.properties): INodeProperties[] {
		return properties.flatMap((p) => [
			...(p.name === name ? [p] : []),
			...(p.options ?? []).flatMap((o) => ('displayName' in o && 'type' in o ? propertiesNamed(name, [o as INodeProperties]) : [])),
		]);
	}

	it('are literals in the description (as the community-package scanner wants) and the ones the node applies', () => {
		for (const [name, applied] of [['freeMemoryAfter', DEFAULT_FREE_MEMORY_AFTER], ['unloadModels', DEFAULT_UNLOAD_MODELS], ['freeMemory', DEFAULT_FREE_MEMORY], ['memoryAware', DEFAULT_MEMORY_AWARE], ['modelAffinity', DEFAULT_MODEL_AFFINITY]] as const) {
			const shown = propertiesNamed(name);
			expect(shown.length).toBeGreaterThan(0);
			for (const property of shown) expect(property.default).toBe(applied);
		}
	});
});
