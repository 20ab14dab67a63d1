/**
 * The engine's public surface: what the nodes (and anything else outside src/cluster) may use.
 * Rooms inside import each other directly; everything outside imports from here.
 */
export { runBatch } from './scheduler';
export type { BatchOptions } from './batchOptions';
export type { BatchEvent, ClusterRuntime, EngineLogger } from './types';
export { closeAllRuntimes, getRuntime, redactingLogger, secretsOf, type ClusterConfig, type Runtime } from './runtime';
export { cancelScenes, collectScenes, submitScenes, type CollectOptions, type SceneHandle, type SubmitOutcome } from './handles';
export { clusterStatus, freeMemory, type ServerStatusRow } from './status';
export { discardOutcomes, discardOutputs, KEEP_IN_MEMORY_BYTES } from './outputs';
export { SceneFailedError, type AttemptRecord, type SceneOutcome, type SceneRequest, type SceneResult, type SceneTimeouts } from './scene';
export { buildScene, DEFAULT_MAX_OUTPUT_BYTES } from './sceneBuilder';
export { parseServerList, ServerSpecError, type ServerAuth, type ServerSpec } from './serverSpec';
export { describeSameServer, sameServers } from './duplicates';
export { UrlFetcher } from './urlInputs';
export { createRedis, type RedisConfig } from './store/redisConnection';
export { STRATEGY_NAMES, type StrategyName } from './strategy';
