/**
 * The chain users build: ComfyUI Cluster generates, Cloud Image Storage uploads what it generated —
 * examples/cluster-to-storage.json as shipped, run in n8n's engine against simulators and fauxqs.
 */
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { ICredentialDataDecryptedObject, IConnections, INode } from 'n8n-workflow';
import { CloudImageStorage } from '../../nodes/CloudImageStorage/CloudImageStorage.node';
import { ComfyUiCluster } from '../../nodes/ComfyUiCluster/ComfyUiCluster.node';
import { closeAllRuntimes } from '../../src/cluster/runtime';
import { startFauxqs, type FauxqsHandle } from '../fakes/fauxqs';
import { startFleet, type Fleet } from '../sim';
import { registerBuiltins } from '../workflow/builtins';
import { NodeTypes, runWorkflow } from '../workflow/harness';

describe('ComfyUI Cluster → Cloud Image Storage (examples/cluster-to-storage.json)', () => {
	let fleet: Fleet;
	let s3: FauxqsHandle;
	let client: S3Client;

	beforeAll(async () => {
		fleet = await startFleet([3, 2, 1].map((speed) => ({ speed, msPerStep: 2, models: { checkpoints: ['v1-5-pruned-emaonly.safetensors'] } })));
		s3 = await startFauxqs();
		client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
		await client.send(new CreateBucketCommand({ Bucket: 'chain' }));
	});

	afterAll(async () => {
		await closeAllRuntimes();
		client.destroy();
		await fleet.stop();
		await s3.close();
	});

	it('uploads every generated image once, in item order, and returns URLs that serve the same bytes', async () => {
		const workflow = JSON.parse(readFileSync(join(__dirname, '../../examples/cluster-to-storage.json'), 'utf8')) as { nodes: INode[]; connections: IConnections };
		const credentials: Record<string, ICredentialDataDecryptedObject> = {
			comfyUiClusterApi: { servers: fleet.urls.join('\n'), authentication: 'none', statePrefix: `chain-${process.pid}` },
			s3CompatibleApi: { preset: 'custom', endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's', bucket: 'chain', addressingStyle: 'path', checksumMode: 'WHEN_REQUIRED' },
		};
		const types = registerBuiltins(new NodeTypes([new ComfyUiCluster(), new CloudImageStorage()]));
		const result = await runWorkflow({ nodeTypes: types, nodes: workflow.nodes, connections: workflow.connections, credentials, timeoutMs: 60_000 });
		expect(result.status).toBe('success');

		const generated = result.output('ComfyUI Cluster');
		const uploaded = result.output('Cloud Image Storage');
		expect(generated).toHaveLength(12);
		expect(uploaded).toHaveLength(12);
		expect(new Set(generated.map((g) => g.json.server)).size).toBeGreaterThan(1);
		for (const [i, item] of uploaded.entries()) {
			expect(item.pairedItem).toEqual({ item: i });
			const files = item.json.files as Array<{ url: string; key: string; size: number }>;
			expect(files).toHaveLength(1);
			expect(files[0].key).toContain(`scene-${i}-`);
			const served = Buffer.from(await (await fetch(files[0].url)).arrayBuffer());
			const original = Buffer.from(generated[i].binary!.image_0.data, 'base64');
			expect(served.equals(original)).toBe(true);
		}
		const listed = await client.send(new ListObjectsV2Command({ Bucket: 'chain' }));
		expect(listed.KeyCount).toBe(12);
	});
});
