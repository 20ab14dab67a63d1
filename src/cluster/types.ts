/**
 * What every room of the engine is handed: the cluster runtime (servers, clients, shared store,
 * liveness, probes, janitor), the logger, and the events a batch reports as scenes move.
 */
import type { ComfyUiClient } from '../comfyui/client';
import type { Janitor } from './janitor';
import type { Liveness } from './liveness';
import type { Prober } from './probes';
import type { ServerSpec } from './serverSpec';
import type { HealthStore } from './store/HealthStore';

export interface EngineLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
}

export interface ClusterRuntime {
	servers: readonly ServerSpec[];
	clientFor(serverId: string): ComfyUiClient;
	store: HealthStore;
	/** Whether each server answers, as this process last saw it (shared by its executions). */
	liveness: Liveness;
	/** Queue probes of this process. */
	prober: Prober;
	/** Removes prompts abandoned on servers that stopped answering, once they answer again. */
	janitor: Janitor;
	logger?: EngineLogger;
	/** Secrets to strip from anything logged or reported. */
	secrets?: readonly string[];
}

export type BatchEvent =
	| { type: 'start'; index: number; serverId: string; server: string; attempt: number }
	| { type: 'progress'; index: number; serverId: string; server: string; phase: 'queued' | 'running'; percent?: number }
	| { type: 'retry'; index: number; server: string; reason: string; delayMs: number }
	| { type: 'moved'; index: number; from: string; reason: string }
	| { type: 'finish'; index: number; ok: boolean; server?: string; message?: string };
