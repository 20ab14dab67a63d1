/** Workflow tools: parse, convert, override, fill and read requirements of ComfyUI graphs, all pure. */
export * from './types';
export * from './objectInfo';
export * from './errors';
export * from './parse';
export * from './uiFormat';
export * from './widgets';
export * from './convert';
export * from './load';
export * from './nodeRef';
export * from './overrides';
export * from './placeholders';
export * from './seed';
export * from './requirements';
export * from './workflowKey';
export * from './work';
