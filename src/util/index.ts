/** Small tools the nodes share with the engine: byte formatting, own-property lookup, redaction. */
export { formatBytes } from './bytes';
export { own } from './own';
export { redact, redactDeep, redactError } from './redact';
