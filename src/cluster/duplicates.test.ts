import type { SystemStats } from '../comfyui/client';
import { describeSameServer, sameServers, statsIdentity, type ResolveHost } from './duplicates';

const stats = (over: { version?: string; gpu?: string; vramFree?: number } = {}): SystemStats => ({
	system: { os: 'posix', comfyui_version: over.version ?? '0.3.64', python_version: '3.11.2', pytorch_version: '2.8.0+cu128', ram_total: 64e9, ram_free: 30e9 },
	devices: [{ name: over.gpu ?? 'cuda:0 NVIDIA GeForce RTX 4090', type: 'cuda', index: 0, vram_total: 24e9, vram_free: over.vramFree ?? 20e9 }],
});

/** A resolver with fixed answers, as a DNS server would give them. */
const hosts: Record<string, string[]> = {
	localhost: ['127.0.0.1', '::1'],
	'gpu-1.lan': ['10.0.0.5'],
	'gpu-2.lan': ['10.0.0.6'],
	'ip6-localhost': ['::1'],
};
const resolve: ResolveHost = async (host) => hosts[host] ?? [host.replace(/^\[|\]$/g, '')];

describe('sameServers', () => {
	it('finds one server listed under its loopback names, a host name and its IP, or with /api', async () => {
		const s = stats();
		expect(await sameServers([{ url: 'http://127.0.0.1:8188', stats: s }, { url: 'http://localhost:8188', stats: stats({ vramFree: 1 }) }], resolve)).toEqual([
			['http://127.0.0.1:8188', 'http://localhost:8188'],
		]);
		expect(await sameServers([{ url: 'http://[::1]:8188', stats: s }, { url: 'http://127.0.0.1:8188', stats: s }, { url: 'http://ip6-localhost:8188', stats: s }], resolve)).toEqual([
			['http://[::1]:8188', 'http://127.0.0.1:8188', 'http://ip6-localhost:8188'],
		]);
		expect(await sameServers([{ url: 'http://gpu-1.lan:8188', stats: s }, { url: 'http://10.0.0.5:8188/api', stats: s }], resolve)).toEqual([
			['http://gpu-1.lan:8188', 'http://10.0.0.5:8188/api'],
		]);
		expect(await sameServers([{ url: 'https://gpu-1.lan', stats: s }, { url: 'https://10.0.0.5:443', stats: s }], resolve)).toHaveLength(1);
	});

	it('keeps servers apart that differ in address, port, base path, devices or versions', async () => {
		const s = stats();
		const apart = [
			[{ url: 'http://gpu-1.lan:8188', stats: s }, { url: 'http://gpu-2.lan:8188', stats: s }],
			[{ url: 'http://127.0.0.1:8188', stats: s }, { url: 'http://127.0.0.1:8189', stats: s }],
			[{ url: 'http://10.0.0.5/comfy-a', stats: s }, { url: 'http://10.0.0.5/comfy-b', stats: s }],
			[{ url: 'http://127.0.0.1:8188', stats: s }, { url: 'http://localhost:8188', stats: stats({ gpu: 'cuda:0 NVIDIA A100' }) }],
			[{ url: 'http://127.0.0.1:8188', stats: s }, { url: 'http://localhost:8188', stats: stats({ version: '0.3.65' }) }],
		];
		for (const pair of apart) expect(await sameServers(pair, resolve)).toEqual([]);
	});

	it('tells identity from load, and says what to do', () => {
		expect(statsIdentity(stats({ vramFree: 1 }))).toBe(statsIdentity(stats({ vramFree: 2 })));
		expect(describeSameServer(['http://127.0.0.1:8188', 'http://localhost:8188'])).toBe(
			'http://127.0.0.1:8188 and http://localhost:8188 are the same server (same address, devices and versions): list it once, or it takes 2 × its max of prompts',
		);
	});
});
