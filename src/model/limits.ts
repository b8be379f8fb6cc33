/**
 * Every Datastore limit dspipe lives with, once, under one name. The values are
 * production's documented ones ("Limits" in the Datastore mode docs); where
 * Google's emulators are stricter (4 MiB requests), the code that meets them
 * says so. The emulator enforces these same constants.
 */

/** Largest request (Commit, Lookup, RunQuery) production accepts: 10 MiB. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** Largest entity by Google's storage-size formula (storage-size.ts): 1 MiB - 4 bytes. */
export const MAX_ENTITY_BYTES = 1_048_572;
/**
 * Most JSON bytes a dump line spends per byte of an entity's storage size:
 * the worst value is a boolean or null in an array (1 byte of storage), which
 * a line writes as `{"booleanValue":false,"excludeFromIndexes":true,"meaning":99},`
 * (62 bytes); strings escape at most 6 bytes per byte (`\u0001`).
 */
export const MAX_LINE_BYTES_PER_ENTITY_BYTE = 64;
/**
 * The longest dump line an entity Datastore holds can need: its largest entity
 * at the worst ratio, plus a margin for the key and the line's own fields
 * (64 MiB + 1 MiB). Restore and cat refuse a longer line instead of holding
 * it in memory (a file without newlines, a decompression bomb, /dev/zero).
 * Entities of ordinary properties encode to about their storage size, so a
 * real 1 MiB entity's line is a few MB.
 */
export const MAX_LINE_BYTES = MAX_ENTITY_BYTES * MAX_LINE_BYTES_PER_ENTITY_BYTE + (1 << 20);
/** Longest indexed string or blob value, and longest property name, kind or key name, in UTF-8 bytes. */
export const MAX_INDEXED_BYTES = 1500;
/** An unindexed string or blob value (Datastore's documented limit: 1 MiB - 89 bytes). */
export const MAX_UNINDEXED_BYTES = 1_048_487;
/** Most elements in a key path (ancestors plus the entity itself). */
export const MAX_KEY_PATH = 100;
/** Deepest nesting of entity values inside an entity. */
export const MAX_ENTITY_DEPTH = 20;
/**
 * Most indexed property values in one entity (each indexed value, array
 * elements and the properties of indexed entity values one by one). Production
 * allows 20,000 for indexed values plus composite index entries together;
 * Google's Firestore emulator refuses more than 5,000, its legacy one has no limit.
 */
export const MAX_INDEXED_VALUES = 20_000;
/** Namespace names: up to 100 of [0-9A-Za-z._-] (Google's "Illegal string ... in namespace id."); `__*__` are reserved. */
export const NAMESPACE_PATTERN = /^[0-9A-Za-z._-]{0,100}$/;
/** Most keys in one Lookup. */
export const MAX_LOOKUP_KEYS = 1000;
/** Largest integer id: ids are positive int64s. */
export const MAX_ID = 9223372036854775807n;
/** 0001-01-01T00:00:00Z, the earliest timestamp Datastore (google.protobuf.Timestamp) holds. */
export const MIN_TIMESTAMP_SECONDS = -62135596800;
/** 9999-12-31T23:59:59Z, the latest. */
export const MAX_TIMESTAMP_SECONDS = 253402300799;
/** Kind, property, namespace and key names of the form `__*__` are Datastore's own (newlines included). */
export function isReservedName(name: string): boolean {
  return name.length >= 4 && name.startsWith('__') && name.endsWith('__');
}

/** Google's two emulators refuse requests over 4 MiB (BACKENDS.md, difference 6); production takes 10 MiB. */
export const GOOGLE_EMULATOR_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Lookup defers the keys past about this many response bytes. */
export const MAX_LOOKUP_RESPONSE_BYTES = 10 * 1024 * 1024;
/** Most results in one query batch. */
export const MAX_QUERY_BATCH_RESULTS = 300;
/** About the most bytes of results in one query batch. */
export const MAX_QUERY_BATCH_BYTES = 1 << 20;
/** Most results one batch skips for an offset before it answers. */
export const MAX_QUERY_SKIP = 1000;
/** Most values in an IN filter. */
export const MAX_IN_VALUES = 30;
/** Most values in a NOT_IN filter. */
export const MAX_NOT_IN_VALUES = 10;
/** Most aggregations in one aggregation query. */
export const MAX_AGGREGATIONS = 5;
/** Longest kind, key name, namespace or property name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1500;
