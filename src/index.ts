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
export { loadKindOptions, parseKindOptions } from './options/kind-options.js';
export type { KindOptionsFile, DumpKindOptions, RestoreKindOptions } from './options/kind-options.js';

// -- format (codec) --
export { encodeEntity, decodeEntity, decodeEntityObject, encodeKey, decodeKey, encodeValue, decodeValue } from './format/entity-codec.js';
export type { LineLocation } from './format/entity-codec.js';
export { formatTimestamp, parseTimestamp } from './format/timestamp.js';

// -- emulator --
export { startEmulator, DEFAULT_FAULT_CODES } from './emulator/index.js';
export type { Emulator, EmulatorOptions, FaultOptions } from './emulator/index.js';

// -- dump --
export { dump, DUMP_LOG_FILE } from './commands/dump.js';
export type { DumpRunOptions, DumpContext, DumpSummary, DumpKindSummary, DumpEvent } from './commands/dump.js';
export type { CommandContext, KindEvents, RetryEvent } from './commands/context.js';
export { normalizeDumpOptions, DUMP_DEFAULTS } from './options/dump.js';
export type { DumpOptions, NormalizedDumpOptions } from './options/dump.js';
export { encodeSafeName, decodeSafeName, kindFilePath, assignFilePaths, namespaceDir } from './format/file-names.js';
export { createKindEnumerator, enumerateKinds } from './stages/kind-enumerator.js';
export type { KindRef, KindEnumeratorOptions } from './stages/kind-enumerator.js';
export { createEntityReader } from './stages/entity-reader.js';
export type { EntityReader, EntityReaderOptions } from './stages/entity-reader.js';
export { createSerializer } from './stages/serializer.js';
export type { Serializer } from './stages/serializer.js';
export { createCompressor } from './stages/compressor.js';
export type { Compressor, CompressorOptions } from './stages/compressor.js';
export { createFileSink } from './stages/file-sink.js';
export type { FileSink } from './stages/file-sink.js';
export { runQueryPage, queryPages, countKind, serverReadTime, scatterSplitPoints } from './datastore/run-query.js';

// -- restore / clear --
export { restore } from './commands/restore.js';
export type { RestoreCommandOptions, RestoreContext, RestoreResult, RestoredKind, RestoreEvent, RestorePhase } from './commands/restore.js';
export { clear } from './commands/clear.js';
export type { ClearCommandOptions, ClearContext, ClearResult, ClearedKind, ClearEvent } from './commands/clear.js';
export { cat } from './commands/cat.js';
export type { CatOptions, CatContext, CatEvent, CatResult } from './commands/cat.js';
export { demo } from './commands/demo.js';
export type { DemoOptions, DemoContext, DemoEvent, DemoStep, DemoResult } from './commands/demo.js';
export { openDump, createFileSource } from './stages/file-source.js';
export type { OpenedDump, FileSourceOptions } from './stages/file-source.js';
export { createDecompressor } from './stages/decompressor.js';
export { createParser } from './stages/parser.js';
export { createKeyRewriter } from './stages/key-rewriter.js';
export { createBatcher } from './stages/batcher.js';
export type { BatcherOptions } from './stages/batcher.js';
export { createEntityWriter, NO_GAX_RETRY } from './stages/entity-writer.js';
export type { EntityWriterOptions } from './stages/entity-writer.js';
export { createIdReserver } from './stages/id-reserver.js';
export { createDeleteOps, createEntityDeleter } from './stages/entity-deleter.js';
export { BatchAccumulator, mutationBytes, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS } from './format/batching.js';
export type { WriteOp, BatchLimits } from './format/batching.js';
export { createKeyRewrite, parseNamespaceMap } from './format/key-rewrite.js';
export type { KeyRewriteOptions } from './format/key-rewrite.js';
export { normalizeRestoreOptions } from './options/restore.js';
export type { RestoreOptionsInput, RestoreOptions } from './options/restore.js';
export { normalizeClearOptions, checkClearConfirmation } from './options/clear.js';
export type { ClearOptionsInput, ClearOptions } from './options/clear.js';
export { sampleDataset } from './demo/dataset.js';

// -- schema / migrate --
export { schema } from './commands/schema.js';
export type { SchemaCommandOptions, SchemaContext, SchemaEvent, SchemaReport, FastKindSchema } from './commands/schema.js';
export { migrateStatus, migrateUp, migrateRun } from './commands/migrate.js';
export type { MigrateCommandOptions, MigrateContext, MigrateEvent, MigrationReport, MigrationStatusEntry, KindReport, UpResult } from './commands/migrate.js';
export { SchemaAccumulator, formatSchemaTable, describeTypes } from './format/schema.js';
export type { KindSchema, PropertyStats } from './format/schema.js';
export { EntityHelper, Timestamp, GeoPoint, wrapEntity, toValue, fromValue } from './format/entity-helper.js';
export type { JsValue, SetOptions } from './format/entity-helper.js';
export { parseRename, parseDrop, parseConvert, parseSet, parseTypedValue, applyTransforms, formatTime, parseTime } from './format/transforms.js';
export type { BuiltinTransform, TimeFormat } from './format/transforms.js';
export { normalizeMigrateOptions, normalizeRunOptions, MIGRATION_KIND } from './options/migrate.js';
export type { MigrateOptions, RunTransformsOptions } from './options/migrate.js';
export { normalizeSchemaOptions } from './options/schema.js';
export type { SchemaOptions } from './options/schema.js';
export { createSchemaCollector } from './stages/schema-collector.js';
export { createTransformer } from './migrate/transformer.js';
export type { TransformerOptions, ChangeExample } from './migrate/transformer.js';
export type { TransformContext, TransformFunction } from './migrate/loader.js';
export type { MigrationRecord, MigrationCounts } from './migrate/record.js';
export { formatKey } from './model/key-text.js';
export { MAX_ENTITY_DEPTH, MAX_KEY_PATH } from './model/limits.js';
export { MIN_TIMESTAMP_SECONDS, MAX_TIMESTAMP_SECONDS } from './model/limits.js';
export { valueTypeOf } from './model/value-types.js';
export type { ValueTypeName } from './model/value-types.js';
export { valueSize, entitySize } from './model/storage-size.js';
