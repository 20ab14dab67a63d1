/**
 * Which speeds and model residency a batch plans with: the store's averages and resident models
 * (every worker's scenes) with this batch's own newer results applied on top, as the store will
 * apply them, so a scene that just ended here counts at once, before its release reached the store.
 */
import type { Release, ServerStatus } from '../store/HealthStore';
import { DEFAULT_EWMA_ALPHA } from '../store/HealthStore';
import { DurationModel, samplesOf, WORK_KEY, type DurationSample } from './durationModel';
import { loadSamplesOf, Residency, type LoadSample } from './residency';

/** A result of ours: counted at once, and from the store once its release is there. */
interface LocalResult {
	serverId: string;
	workflowKey: string;
	work: number;
	release: Release;
	at: number;
	/** When the exchange carrying it to the store completed. */
	storedAt?: number;
}

export interface PlannedScene {
	workflowKey: string;
	/** Expected work units (from the graph): the model's prior for a workflow never timed. */
	work: number;
}

/** The model of a set of scenes from the store's statuses alone (no samples of our own yet). */
export function modelOf(statuses: readonly ServerStatus[], scenes: readonly PlannedScene[], servers: ReadonlyArray<{ id: string; weight: number }>): DurationModel {
	return new DurationModel({ samples: samplesOf(statuses), work: workOf(scenes), weights: weightsOf(servers) });
}

export class Speeds {
	private readonly work: ReadonlyMap<string, number>;
	private readonly weights: ReadonlyMap<string, number>;
	private storeSamples: DurationSample[] = [];
	private storeLoads: LoadSample[] = [];
	private storeResident = new Map<string, readonly string[]>();
	private local: LocalResult[] = [];
	/** Servers told to free their memory (models unloaded, cache dropped), and when. */
	private readonly evicted = new Map<string, number>();
	/** Rebuilt whenever a result arrives: a new object tells the queue its order may have changed. */
	model: DurationModel;
	residency: Residency;

	constructor(scenes: readonly PlannedScene[], servers: ReadonlyArray<{ id: string; weight: number }>) {
		this.work = workOf(scenes);
		this.weights = weightsOf(servers);
		this.model = this.buildModel();
		this.residency = this.buildResidency();
	}

	/** The store's state, read at `requestedAt`: results of ours it held by then count from there. */
	refresh(statuses: readonly ServerStatus[], requestedAt: number): void {
		this.storeSamples = samplesOf(statuses);
		this.storeLoads = loadSamplesOf(statuses);
		this.storeResident = new Map(statuses.flatMap((s) => (s.resident ? [[s.id, s.resident.models] as const] : [])));
		// A scene that ended there after the eviction says what the server holds now.
		for (const s of statuses) if (s.resident && s.resident.at > (this.evicted.get(s.id) ?? Number.POSITIVE_INFINITY)) this.evicted.delete(s.id);
		this.local = this.local.filter((s) => s.storedAt === undefined || s.storedAt > requestedAt);
		this.model = this.buildModel();
		this.residency = this.buildResidency();
	}

	/** A success of ours (its release on its way to the store) counts at once. */
	learn(serverId: string, scene: PlannedScene, release: Release): void {
		if (release.outcome.kind !== 'success') return;
		this.local.push({ serverId, workflowKey: scene.workflowKey, work: scene.work, release, at: Date.now() });
		this.model = this.buildModel();
		this.residency = this.buildResidency();
	}

	/** The server was told to free its memory: it holds no model now, until a later scene of ours loads one. */
	evict(serverId: string): void {
		this.evicted.set(serverId, Date.now());
		this.residency = this.buildResidency();
	}

	/** These releases reached the store at `at`. */
	stored(releases: readonly Release[], at: number): void {
		for (const result of this.local) if (releases.includes(result.release)) result.storedAt = at;
	}

	private buildModel(): DurationModel {
		const samples = new Map(this.storeSamples.map((s) => [`${s.serverId}|${s.workflowKey}`, s]));
		const learn = (serverId: string, workflowKey: string, seconds: number) => {
			const key = `${serverId}|${workflowKey}`;
			samples.set(key, { serverId, workflowKey, seconds: ewma(samples.get(key)?.seconds, seconds) });
		};
		for (const { serverId, workflowKey, work, release } of this.local) {
			const ms = release.outcome.executionMs;
			if (ms === undefined || !(ms > 0)) continue;
			learn(serverId, workflowKey, ms / 1000);
			if (work > 0) learn(serverId, WORK_KEY, ms / 1000 / work);
		}
		return new DurationModel({ samples: [...samples.values()], work: this.work, weights: this.weights });
	}

	private buildResidency(): Residency {
		const loads = new Map(this.storeLoads.map((s) => [`${s.serverId}|${s.model}`, s]));
		const resident = new Map(this.storeResident);
		for (const { serverId, release } of this.local) {
			for (const [model, ms] of Object.entries(release.outcome.loads ?? {})) {
				const key = `${serverId}|${model}`;
				loads.set(key, { serverId, model, seconds: ewma(loads.get(key)?.seconds, ms / 1000) });
			}
			if (release.outcome.resident) resident.set(serverId, release.outcome.resident);
		}
		for (const [serverId, at] of this.evicted) {
			if (!this.local.some((r) => r.serverId === serverId && r.at > at && r.release.outcome.resident)) resident.set(serverId, []);
		}
		return new Residency([...loads.values()], resident);
	}
}

function ewma(previous: number | undefined, x: number): number {
	return previous === undefined ? x : DEFAULT_EWMA_ALPHA * x + (1 - DEFAULT_EWMA_ALPHA) * previous;
}

function workOf(scenes: readonly PlannedScene[]): Map<string, number> {
	return new Map(scenes.map((scene) => [scene.workflowKey, scene.work]));
}

function weightsOf(servers: ReadonlyArray<{ id: string; weight: number }>): Map<string, number> {
	return new Map(servers.map((s) => [s.id, s.weight]));
}
