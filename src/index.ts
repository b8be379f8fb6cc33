/**
 * `dspipe`: the commands the CLI runs, as functions (`dump(options, context)`
 * and the rest), their option, event and result types, the error family,
 * connections, the migration script API and the embedded emulator.
 *
 * The stream stages live in `dspipe/stages`, the pure codecs and Datastore's
 * own rules in `dspipe/format`.
 */
export { DspipeError, isDspipeError } from './errors.js';
export type { DspipeErrorCode, DspipeErrorContext } from './errors.js';
export { resolveConnection, createClient, createAdminClient, createDatastore } from './datastore/connection.js';
export type { Connection, ConnectionOptions, DatastoreClient, DatastoreAdminClient } from './datastore/connection.js';
export type { RetryPolicy } from './datastore/retry.js';
export type { CommandContext, KindEvents, RetryEvent } from './commands/context.js';
export type { KindOptionsFile, DumpKindOptions, RestoreKindOptions } from './options/kind-options.js';
export type { IEntity, IKey, IValue, IPathElement, IPartitionId, ITimestamp, ILatLng } from './model/proto.js';

// -- commands --
export { dump } from './commands/dump.js';
export type { DumpRunOptions, DumpContext, DumpSummary, DumpKindSummary, DumpEvent } from './commands/dump.js';
export type { DumpOptions, SplitsOption } from './options/dump.js';
export { planDump } from './commands/dump-plan.js';
export type { DumpPlanSummary, PlanEvent } from './commands/dump-plan.js';
export { dumpShard } from './commands/dump-shard.js';
export type { ShardContext, ShardEvent, ShardSummary } from './commands/dump-shard.js';
export { finalizeDump } from './commands/dump-finalize.js';
export type { FinalizeContext, FinalizeSummary } from './commands/dump-finalize.js';
export type { RateEvent } from './commands/write-rate.js';
export type { WriteRateSummary } from './datastore/write-rate.js';
export { restore } from './commands/restore.js';
export type { RestoreCommandOptions, RestoreContext, RestoreResult, RestoredKind, RestoreEvent, RestorePhase } from './commands/restore.js';
export { clear } from './commands/clear.js';
export type { ClearCommandOptions, ClearContext, ClearResult, ClearedKind, ClearEvent } from './commands/clear.js';
export { schema } from './commands/schema.js';
export type { SchemaCommandOptions, SchemaContext, SchemaEvent, SchemaReport, FastKindSchema } from './commands/schema.js';
export type { KindSchema, PropertyStats } from './format/schema.js';
export { migrateStatus, migrateUp, migrateRun } from './commands/migrate.js';
export type { MigrateCommandOptions, MigrateContext, MigrateEvent, MigrationReport, MigrationStatusEntry, KindReport, UpResult } from './commands/migrate.js';
export type { RunTransformsOptions } from './options/migrate.js';
export type { BuiltinTransform, TimeFormat } from './format/transforms.js';
export { readDump, writeDump } from './commands/dump-files.js';
export type { ReadDumpOptions, WriteDumpOptions, WriteDumpResult } from './commands/dump-files.js';
export { cat } from './commands/cat.js';
export type { CatOptions, CatContext, CatEvent, CatResult } from './commands/cat.js';
export { convert } from './commands/convert.js';
export type { ConvertContext, ConvertEvent, ConvertResult, ConvertDirection } from './commands/convert.js';
export type { ConvertOptionsInput } from './options/convert.js';
export { demo } from './commands/demo.js';
export type { DemoOptions, DemoContext, DemoEvent, DemoStep, DemoResult } from './commands/demo.js';
export type { DumpManifest, ManifestKind } from './format/manifest.js';
export { indexesDiff, indexesCreate, indexesWait, indexesPrune } from './commands/indexes.js';
export type { IndexesCommandOptions, IndexesContext, IndexesEvent, IndexesDiff, IndexesCreateResult, IndexesPruneResult, DeployedIndex, FileIndexStatus } from './commands/indexes.js';
export type { IndexDefinition, IndexProperty } from './format/index-yaml.js';

// -- migration scripts --
export { EntityHelper, Timestamp, GeoPoint } from './format/entity-helper.js';
export type { JsValue, SetOptions } from './format/entity-helper.js';
export type { TransformContext, TransformFunction } from './migrate/loader.js';
export type { MigrationRecord, MigrationCounts } from './migrate/record.js';

// -- emulator --
export { startEmulator } from './emulator/index.js';
export type { Emulator, EmulatorOptions, EmulatorIndexOptions, FaultOptions } from './emulator/index.js';
