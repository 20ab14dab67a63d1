/**
 * Which speeds a batch plans with: the store's averages (every worker's scenes) with this batch's
 * own newer samples applied on top, as the store will apply them, so a scene that just ended here
 * counts at once, before its release reached the store.
 */
import type { Release, ServerStatus } from '../store/HealthStore';
import { DEFAULT_EWMA_ALPHA } from '../store/HealthStore';
import { DurationModel, samplesOf, WORK_KEY, type DurationSample } from './durationModel';

interface LocalSample {
	serverId: string;
	workflowKey: string;
	seconds: number;
	work: number;
	/** When the exchange carrying it to the store completed. */
	storedAt?: number;
	release: Release;
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
	private localSamples: LocalSample[] = [];
	/** Rebuilt whenever a sample arrives: a new object tells the queue its order may have changed. */
	model: DurationModel;

	constructor(scenes: readonly PlannedScene[], servers: ReadonlyArray<{ id: string; weight: number }>) {
		this.work = workOf(scenes);
		this.weights = weightsOf(servers);
		this.model = this.build();
	}

	/** The store's averages, read at `requestedAt`: samples of ours it held by then count from there. */
	refresh(statuses: readonly ServerStatus[], requestedAt: number): void {
		this.storeSamples = samplesOf(statuses);
		this.localSamples = this.localSamples.filter((s) => s.storedAt === undefined || s.storedAt > requestedAt);
		this.model = this.build();
	}

	/** A success of ours (its release on its way to the store) counts at once. */
	learn(serverId: string, scene: PlannedScene, release: Release): void {
		const { outcome } = release;
		if (outcome.kind !== 'success' || outcome.executionMs === undefined || !(outcome.executionMs > 0)) return;
		this.localSamples.push({ serverId, workflowKey: scene.workflowKey, seconds: outcome.executionMs / 1000, work: scene.work, release });
		this.model = this.build();
	}

	/** These releases reached the store at `at`. */
	stored(releases: readonly Release[], at: number): void {
		for (const sample of this.localSamples) if (releases.includes(sample.release)) sample.storedAt = at;
	}

	private build(): DurationModel {
		const samples = new Map(this.storeSamples.map((s) => [`${s.serverId}|${s.workflowKey}`, s]));
		const learn = (serverId: string, workflowKey: string, seconds: number) => {
			const key = `${serverId}|${workflowKey}`;
			const prev = samples.get(key);
			samples.set(key, { serverId, workflowKey, seconds: prev ? DEFAULT_EWMA_ALPHA * seconds + (1 - DEFAULT_EWMA_ALPHA) * prev.seconds : seconds });
		};
		for (const s of this.localSamples) {
			learn(s.serverId, s.workflowKey, s.seconds);
			if (s.work > 0) learn(s.serverId, WORK_KEY, s.seconds / s.work);
		}
		return new DurationModel({ samples: [...samples.values()], work: this.work, weights: this.weights });
	}
}

function workOf(scenes: readonly PlannedScene[]): Map<string, number> {
	return new Map(scenes.map((scene) => [scene.workflowKey, scene.work]));
}

function weightsOf(servers: ReadonlyArray<{ id: string; weight: number }>): Map<string, number> {
	return new Map(servers.map((s) => [s.id, s.weight]));
}
