import { spawn } from 'child_process';
import { join } from 'path';
import { ComfyUiSimulator } from '../sim';

/** An independent client (@saintno/comfyui-sdk, ESM only, so in a child process) runs a prompt on the simulator. */
describe('@saintno/comfyui-sdk against the simulator', () => {
	let sim: ComfyUiSimulator;
	beforeAll(async () => {
		sim = await ComfyUiSimulator.start({ msPerStep: 5 });
	});
	afterAll(async () => {
		await sim?.stop();
	});

	it('queues a prompt and receives its image through its own websocket handling', async () => {
		const out = await new Promise<string>((resolve, reject) => {
			const child = spawn(process.execPath, [join(__dirname, 'sdk-client.mjs'), sim.url], { cwd: join(__dirname, '..', '..') });
			let stdout = '';
			let stderr = '';
			child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
			child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
			child.on('error', reject);
			child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`sdk client exited ${code}: ${stdout} ${stderr}`))));
		});
		const result = JSON.parse(out.trim().split('\n').pop()!) as {
			ok: boolean;
			images: Array<{ filename: string; subfolder: string; type: string }>;
			downloads: Array<{ status: number; type: string; head: string }>;
		};
		expect(result.ok).toBe(true);
		expect(result.images).toEqual([{ filename: 'out_00001_.png', subfolder: 'sdk', type: 'output' }]);
		expect(result.downloads).toEqual([expect.objectContaining({ status: 200, type: 'image/png', head: '89504e470d0a1a0a' })]);
		// the SDK sent its own client id, so the run's messages went to its socket only
		expect(sim.records.wsClients).toContain('sdk-client-1');
		expect(sim.records.prompts).toHaveLength(1);
		expect(sim.records.prompts[0]).toMatchObject({ clientId: 'sdk-client-1' });
		expect(sim.records.prompts[0].prompt['1']).toMatchObject({ inputs: { color: 1234 } });
	});
});
