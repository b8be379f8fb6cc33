/**
 * `dspipe/stages`: the stream stages the commands compose, one factory each,
 * for pipelines of your own:
 *
 *   dump     kindEnumerator -> entityReader -> serializer -> compressor -> fileSink
 *   restore  fileSource -> decompressor -> parser -> keyRewriter -> idReserver -> batcher -> entityWriter
 *   clear    kindEnumerator -> entityReader (keys only) -> deleteOps -> batcher -> entityDeleter
 *   schema   entityReader | fileSource -> decompressor -> parser -> schemaCollector
 *   migrate  entityReader -> transformer -> batcher -> entityWriter
 */
export { resolveConnection, createClient } from './datastore/connection.js';
export type { Connection, ConnectionOptions, DatastoreClient } from './datastore/connection.js';
export type { RetryPolicy } from './datastore/retry.js';
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
export { openDump, createFileSource } from './stages/file-source.js';
export type { OpenedDump, FileSourceOptions } from './stages/file-source.js';
export { createDecompressor } from './stages/decompressor.js';
export type { DecompressorOptions } from './stages/decompressor.js';
export { createParser } from './stages/parser.js';
export type { ParserOptions } from './stages/parser.js';
export { createKeyRewriter } from './stages/key-rewriter.js';
export { createIdReserver } from './stages/id-reserver.js';
export type { IdReserverOptions } from './stages/id-reserver.js';
export { createBatcher } from './stages/batcher.js';
export type { BatcherOptions } from './stages/batcher.js';
export { createEntityWriter, CommitBudget } from './stages/entity-writer.js';
export type { EntityWriterOptions } from './stages/entity-writer.js';
export { createDeleteOps, createEntityDeleter } from './stages/entity-deleter.js';
export type { EntityDeleterOptions } from './stages/entity-deleter.js';
export { createSelectionFilter } from './stages/selection-filter.js';
export type { SelectionFilter } from './stages/selection-filter.js';
export { createEntityCounter } from './stages/entity-counter.js';
export type { EntityCounter } from './stages/entity-counter.js';
export { createRejectsSink } from './stages/rejects-sink.js';
export type { RejectsSink, Reject } from './stages/rejects-sink.js';
export { createSchemaCollector } from './stages/schema-collector.js';
export type { SchemaCollectorOptions } from './stages/schema-collector.js';
export { createTransformer } from './migrate/transformer.js';
export type { TransformerOptions, ChangeExample } from './migrate/transformer.js';
export { createExportReader, findExport, openExport } from './stages/export-source.js';
export type { ExportReader, ExportPart, OpenedExport } from './stages/export-source.js';
export { ExportFolderWriter, PointerSink } from './stages/export-sink.js';
export type { PointerSinkOptions } from './stages/export-sink.js';
export type { WriteOp } from './format/batching.js';
export type { IEntity, IKey, IValue, IEntityResult } from './model/proto.js';
