/** What test/process/scenarios.ts reports from its process (kept apart so that jest loads none of the scenarios). */

export const REPORT_PREFIX = '@@report ';

/** What one workflow run did. */
export interface RunFacts {
	/** The run's status, or "thrown" when the run itself threw. */
	status: string;
	/** The first node error (or what was thrown), with its message. */
	error?: string;
	items: Array<{ error?: string; server?: string; png: boolean }>;
}

export interface ProcessReport {
	node: string;
	/** undici's global dispatcher as n8n leaves it, and how often anything sent through it while the workflows ran. */
	globalDispatcher: { present: boolean; fromPackageUndici: boolean; sameAfter: boolean; dispatches: number };
	urlInput: RunFacts & { requests: Record<string, number>; usedServers: number; uploadsOnUsedServers: number[]; uploadedBytesMatch: boolean[] };
	binaryInput: RunFacts & { usedServers: number; uploadsOnUsedServers: number[]; uploadedBytesMatch: boolean[] };
	uiFormat: RunFacts & { samplerSeeds: unknown[] };
	generateToStorage: RunFacts & { uploaded: number; servedSameBytes: number };
	cloudflareImages: RunFacts & { stored: number; urls: string[] };
	/** Collect's run, on the handles an earlier run of Submit returned. */
	submitThenCollect: RunFacts & { submitted: number };
	cancel: RunFacts & { outcomes: string[] };
	clusterStatus: RunFacts & { reachable: Array<[string, boolean]> };
	freeMemory: RunFacts & { freed: Array<[string, boolean]> };
	/** The simulated servers, in the credential's order. */
	servers: string[];
	/** Websockets the fleet accepted from the cluster node (the socket shares the server's pool). */
	webSocketClients: number;
}
