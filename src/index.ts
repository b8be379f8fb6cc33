/**
 * dspipe's library API: the same stages and commands the CLI uses, for
 * composing pipelines from your own scripts.
 */
export { DspipeError, isDspipeError } from './errors.js';
export type { DspipeErrorCode, DspipeErrorContext } from './errors.js';
export { resolveConnection, createClient, createDatastore } from './datastore/connection.js';
export type { Connection, ConnectionOptions } from './datastore/connection.js';
export { withRetry, isTransient, DEFAULT_RETRY } from './datastore/retry.js';
export type { RetryPolicy } from './datastore/retry.js';
export { parseSelection, matches } from './format/selection.js';
export type { Selection, NameFilter } from './format/selection.js';
export { loadKindOptions, parseKindOptions } from './commands/kind-options.js';
export type { KindOptionsFile, DumpKindOptions, RestoreKindOptions } from './commands/kind-options.js';

// -- format (codec) --
export {
  encodeEntity,
  decodeEntity,
  decodeEntityObject,
  encodeKey,
  decodeKey,
  encodeValue,
  decodeValue,
  MAX_ENTITY_DEPTH,
  MAX_KEY_PATH,
} from './format/entity-codec.js';
export type { LineLocation } from './format/entity-codec.js';
export { formatTimestamp, parseTimestamp, MIN_TIMESTAMP_SECONDS, MAX_TIMESTAMP_SECONDS } from './format/timestamp.js';

// -- emulator --
export { startEmulator, DEFAULT_FAULT_CODES } from './emulator/index.js';
export type { Emulator, EmulatorOptions, FaultOptions } from './emulator/index.js';

// -- dump --

// -- restore / clear --

// -- schema / migrate --
