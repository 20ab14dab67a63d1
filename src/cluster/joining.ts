/**
 * When a server may take scenes of a batch, and which scenes it can run: every server joins by a
 * probe (a cheap `GET /queue` that also tells whose prompts wait there), then its catalogue and
 * memory are read and its websocket opened once it answers, so a server where nothing listens costs
 * one connection attempt and 999 dead servers or a frozen one do not hold up the first submit.
 *
 * A server that answered a probe just now, or whose catalogue this process read within its cache
 * time, is most likely up: it does all of that while probed and may take one scene before the probe
 * answers (a refusal then costs the scene no attempt, and a silent server gives its waiting scenes
 * up, as at any time). While any server is joining, the others take one scene each, so the first to
 * answer does not take a queue of scenes the others would have started at once.
 */
import { IncapableServerError, type MissingCapabilities } from '../comfyui/errors';
import { checkCapability, describeMissing, isCapable, type ObjectInfo, type Requirements } from '../comfyui/workflow';
import type { BatchState } from './batchState';
import type { ServerSpec } from './serverSpec';
import { refreshSystemStats } from './status';

const OBJECT_INFO_TIMEOUT_MS = 10_000;

export interface JoiningHooks {
	/** Reads the shared state (started with the first probes, awaited before any scene starts). */
	refresh(): Promise<void>;
	/** A server's catalogue is known: scenes it cannot run leave it. */
	checkCapabilities(servers: readonly ServerSpec[]): void;
	/** A server joined (or failed to): the scheduler may place scenes. */
	changed(): void;
}

export class Joining {
	/** Servers being probed or read (catalogue, memory) before they take scenes. */
	private readonly joining = new Set<string>();
	/** Servers whose catalogue and memory were read while they answered. */
	private readonly joined = new Set<string>();

	constructor(
		private readonly state: BatchState,
		private readonly probeSignal: AbortSignal,
		private readonly hooks: JoiningHooks,
	) {}

	/** While any server is still joining, the ones that joined take one scene each. */
	get settling(): boolean {
		return this.joining.size > 0;
	}

	/** Reads the shared state while every server joins; returns once one server may take scenes. */
	async prepare(): Promise<void> {
		let firstJoined!: () => void;
		const first = new Promise<void>((resolve) => (firstJoined = resolve));
		const refreshed = this.hooks.refresh();
		const { liveness } = this.state.runtime;
		const all = Promise.all(this.state.servers.map((server) => this.join(server, true).then(() => liveness.reachable(server.id) && firstJoined())));
		if (this.state.servers.some((s) => this.joining.has(s.id) && !this.state.holding.has(s.id))) firstJoined();
		await Promise.all([refreshed, Promise.race([all, first])]);
	}

	/** A server that answers again after the batch started joins before it takes a scene. */
	back(serverId: string): void {
		const server = this.state.byId.get(serverId);
		if (server && !this.joined.has(serverId) && !this.joining.has(serverId)) void this.join(server, false);
	}

	private async join(server: ServerSpec, probe: boolean): Promise<void> {
		const { runtime } = this.state;
		this.joining.add(server.id);
		const client = runtime.clientFor(server.id);
		const catalogue = probe && runtime.liveness.reachable(server.id) ? client.cachedObjectInfo() : undefined;
		if (catalogue) {
			this.state.catalogues.set(server.id, catalogue as ObjectInfo);
			this.hooks.checkCapabilities([server]);
		} else this.state.holding.add(server.id);
		const openUp = () => {
			client.warmUp();
			return refreshSystemStats(runtime, [server], this.state.options.signal);
		};
		try {
			// The probe first: it takes the connection kept alive since the last request, if any.
			const probing = probe ? runtime.prober.probe(server.id, this.probeSignal) : undefined;
			let stats = catalogue || !probe ? openUp() : undefined;
			await probing;
			if (runtime.liveness.reachable(server.id)) {
				stats ??= openUp();
				await Promise.all([this.readCatalogue(server), stats]);
				this.joined.add(server.id);
			}
		} finally {
			this.joining.delete(server.id);
			this.state.holding.delete(server.id);
		}
		this.hooks.checkCapabilities([server]);
		this.hooks.changed();
	}

	private async readCatalogue(server: ServerSpec): Promise<void> {
		const needed = this.state.queue.some((w) => w.scene.requirements.nodeClasses.length > 0);
		if (!needed || this.state.catalogues.has(server.id)) return;
		try {
			const info = await this.state.runtime.clientFor(server.id).objectInfo({ signal: AbortSignal.timeout(OBJECT_INFO_TIMEOUT_MS) });
			this.state.catalogues.set(server.id, info as ObjectInfo);
		} catch {
			// Unknown catalogue: the server is not excluded for capability; its breaker handles reachability.
			this.state.catalogues.set(server.id, undefined);
		}
	}
}

/**
 * Which of these servers cannot run the scene, by their catalogues; and when no server of the
 * cluster can, the error that names what is missing where.
 */
export function incapableOn(
	requirements: Requirements,
	servers: readonly ServerSpec[],
	all: readonly ServerSpec[],
	catalogues: ReadonlyMap<string, ObjectInfo | undefined>,
	incapable: Set<string>,
): IncapableServerError | undefined {
	for (const server of servers) {
		const info = catalogues.get(server.id);
		if (info && !isCapable(checkCapability(requirements, info))) incapable.add(server.id);
	}
	if (incapable.size < all.length) return undefined;
	const gaps: Array<{ server: ServerSpec; missing: MissingCapabilities }> = all.flatMap((server) => {
		const info = catalogues.get(server.id);
		return info ? [{ server, missing: checkCapability(requirements, info) }] : [];
	});
	const text = gaps.map(({ server, missing }) => `${server.url} is ${describeMissing(missing)}`).join('; ');
	return new IncapableServerError(`No server can run this workflow: ${text}.`, gaps[0]?.missing ?? { nodeClasses: [], values: [] });
}
