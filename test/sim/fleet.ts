import { ComfyUiSimulator, SimulatorOptions } from './server';

export interface Fleet {
	servers: ComfyUiSimulator[];
	urls: string[];
	stop(): Promise<void>;
}

/** Starts one simulator per spec (named sim-1, sim-2, … unless a name is given). */
export async function startFleet(specs: SimulatorOptions[]): Promise<Fleet> {
	const servers: ComfyUiSimulator[] = [];
	try {
		for (const [i, spec] of specs.entries()) servers.push(await ComfyUiSimulator.start({ name: `sim-${i + 1}`, ...spec }));
	} catch (e) {
		await Promise.all(servers.map((s) => s.stop()));
		throw e;
	}
	return {
		servers,
		urls: servers.map((s) => s.url),
		stop: async () => {
			await Promise.all(servers.map((s) => s.stop()));
		},
	};
}
