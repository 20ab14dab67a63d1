/**
 * A ComfyUI 0.3.64 simulator for tests, benchmarks and the demo: the real routes, JSON shapes and
 * websocket message order (checked against recordings by test/contract/). What it simplifies:
 *
 * - One worker per server; a node costs `msPerStep` per sampling step plus a fixed cost per class,
 *   divided by the server's speed. No GPU, no model files: model names are only checked against the
 *   server's lists, and nodes "compute" just the size, batch, colour and seed of their outputs.
 * - GPU behaviour when configured (all off by default): a loader not in the cache takes a load time
 *   per model file (models.ts), results stay cached as in ComfyUI's classic or LRU cache (cache.ts),
 *   and RAM and VRAM figures move with models and outputs until RAM runs out (memory.ts).
 * - Output files are small valid PNG / WebP / GIF / MP4 / WebM / FLAC files, not real pictures.
 * - Faults in this process (startFleet): `setHang` stops execution while HTTP and websocket keep
 *   answering (a stuck node); `crash()` closes the listening socket and every connection (refused
 *   from then on); `restart()` loses queue and history but keeps files and records.
 * - Faults of the machine (startProcessFleet, each server a child process): `freeze()` is SIGSTOP —
 *   the kernel still accepts connections, nothing answers; `thaw()` is SIGCONT; `kill()` is SIGKILL;
 *   `respawn()` starts a fresh server on the same port.
 * - Fault rates (HTTP errors) come from a seeded generator: the same seed, the same failures.
 */
export { ComfyUiSimulator } from './server';
export type { SimulatorOptions, SimulatorHooks, SimulatorFaults, SimulatorRecords, HttpErrorRule, ExecutionErrorRule, MemoryPressure } from './server';
export { defaultCatalogue, probeCatalogue, progressProbeClass } from './catalogue';
export type { Catalogue, NodeClassDef, ObjectInfoEntry, NodeBehaviour, ComboSource } from './catalogue';
export { startFleet } from './fleet';
export type { Fleet } from './fleet';
export { encodePng, encodeAnimatedWebp, pngSize } from './media';
export { startProcessFleet, SimulatorProcess } from './processFleet';
export type { ProcessFleet, SimulatorMethod, TimelineEntry, OsFault } from './processFleet';
