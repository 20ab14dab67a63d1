export { ComfyUiSimulator } from './server';
export type { SimulatorOptions, SimulatorFaults, SimulatorRecords, HttpErrorRule, ExecutionErrorRule, MemoryPressure } from './server';
export { defaultCatalogue, probeCatalogue, progressProbeClass } from './catalogue';
export type { Catalogue, NodeClassDef, ObjectInfoEntry, NodeBehaviour, ComboSource } from './catalogue';
export { startFleet } from './fleet';
export type { Fleet } from './fleet';
export { encodePng, encodeAnimatedWebp, pngSize } from './media';
