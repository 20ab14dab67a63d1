/**
 * The same ComfyUI server listed twice (`127.0.0.1:8188` and `localhost:8188`, a host name and its IP)
 * would take twice its `max` of prompts. Two entries are the same server when they reach the same
 * address, port and base path and their `/system_stats` tell the same devices and versions. Only a
 * warning: the list is the author's to fix.
 */
import { lookup } from 'dns/promises';
import { parseServerAddress, type SystemStats } from '../comfyui/client';

/** How long one host name may take to resolve before it counts as itself. */
const LOOKUP_TIMEOUT_MS = 2_000;

/** A server of the list that answered `/system_stats`. */
export interface AnsweredServer {
	url: string;
	stats: SystemStats;
}

/** Addresses a host name resolves to. */
export type ResolveHost = (host: string) => Promise<string[]>;

/** What `/system_stats` says about which server this is (its devices and versions), not how busy it is. */
export function statsIdentity(stats: SystemStats): string {
	const system = stats.system ?? {};
	return JSON.stringify({
		versions: [system.comfyui_version, system.python_version, system.pytorch_version, system.embedded_python, system.os],
		devices: (stats.devices ?? []).map((d) => [d.name, d.type, d.index, d.vram_total, d.torch_vram_total]),
	});
}

/** Every loopback address is this machine: 127.0.0.1, ::1 and localhost reach the same server. */
function canonicalAddress(address: string): string {
	const plain = address.replace(/^\[|\]$/g, '').toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
	return /^127\./.test(plain) || plain === '::1' ? 'loopback' : plain;
}

/** The host's addresses through the system resolver (as connections resolve it); the host itself when it does not resolve in time. */
export const resolveHost: ResolveHost = async (host) => {
	const bare = host.replace(/^\[|\]$/g, '');
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<string[]>((resolve) => {
		timer = setTimeout(() => resolve([bare]), LOOKUP_TIMEOUT_MS);
	});
	try {
		return await Promise.race([lookup(bare, { all: true }).then((all) => all.map((a) => a.address)), timeout]);
	} catch {
		return [bare];
	} finally {
		clearTimeout(timer);
	}
};

interface Identity {
	url: string;
	addresses: Set<string>;
	/** Port and base path (an `/api` tail reaches the same routes). */
	endpoint: string;
	stats: string;
}

async function identityOf(server: AnsweredServer, resolve: ResolveHost): Promise<Identity> {
	const address = parseServerAddress(server.url);
	const origin = new URL(address.origin);
	const port = origin.port || (address.secure ? '443' : '80');
	const addresses = new Set((await resolve(origin.hostname)).map(canonicalAddress));
	return { url: server.url, addresses, endpoint: `${port}${address.basePath.replace(/\/api$/i, '')}`, stats: statsIdentity(server.stats) };
}

function same(a: Identity, b: Identity): boolean {
	return a.endpoint === b.endpoint && a.stats === b.stats && [...a.addresses].some((x) => b.addresses.has(x));
}

/** Groups (of two or more URLs, in list order) of entries that are one server. */
export async function sameServers(answered: readonly AnsweredServer[], resolve: ResolveHost = resolveHost): Promise<string[][]> {
	const identities = await Promise.all(answered.map((server) => identityOf(server, resolve)));
	const groups: Identity[][] = [];
	for (const identity of identities) {
		const group = groups.find((g) => g.some((other) => same(identity, other)));
		if (group) group.push(identity);
		else groups.push([identity]);
	}
	return groups.filter((g) => g.length > 1).map((g) => g.map((i) => i.url));
}

/** One sentence for an author about a group of entries that are one server. */
export function describeSameServer(urls: readonly string[]): string {
	return `${urls.join(' and ')} are the same server (same address, devices and versions): list it once, or it takes ${urls.length} × its max of prompts`;
}
