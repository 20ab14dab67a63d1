/**
 * ComfyUI as the rest of the package may use it: the client of one server, its errors, and the
 * workflow tools (parse, convert, overrides, requirements).
 */
export * from './client';
export * from './errors';
export * from './workflow';
// The client names the workflow's graph type too; it is one type.
export type { ApiGraph } from './workflow';
