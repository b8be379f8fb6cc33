/**
 * The public API, by subpath (package.json "exports"): what each entry point
 * exports, values and types. A change here is a change to dspipe's API, so it
 * is a visible decision: update this list in the same commit, on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const API: Record<string, { values: string[]; types: string[] }> = {
  'dspipe': {
    values: [
    'DspipeError', 'EntityHelper', 'GeoPoint', 'Timestamp', 'cat', 'clear', 'convert', 'createAdminClient',
    'createClient', 'createDatastore', 'demo', 'dump', 'indexesCreate', 'indexesDiff', 'indexesPrune',
    'indexesWait', 'isDspipeError', 'migrateRun', 'migrateStatus', 'migrateUp', 'readDump', 'resolveConnection',
    'restore', 'schema', 'startEmulator', 'writeDump',
    ],
    types: [
    'BuiltinTransform', 'CatContext', 'CatEvent', 'CatOptions', 'CatResult', 'ClearCommandOptions',
    'ClearContext', 'ClearEvent', 'ClearResult', 'ClearedKind', 'CommandContext', 'Connection',
    'ConnectionOptions', 'ConvertContext', 'ConvertDirection', 'ConvertEvent', 'ConvertOptionsInput',
    'ConvertResult', 'DatastoreAdminClient', 'DatastoreClient', 'DemoContext', 'DemoEvent', 'DemoOptions',
    'DemoResult', 'DemoStep', 'DeployedIndex', 'DspipeErrorCode', 'DspipeErrorContext', 'DumpContext',
    'DumpEvent', 'DumpKindOptions', 'DumpKindSummary', 'DumpManifest', 'DumpOptions', 'DumpRunOptions',
    'DumpSummary', 'Emulator', 'EmulatorIndexOptions', 'EmulatorOptions', 'FastKindSchema', 'FaultOptions',
    'FileIndexStatus', 'IEntity', 'IKey', 'ILatLng', 'IPartitionId', 'IPathElement', 'ITimestamp', 'IValue',
    'IndexDefinition', 'IndexProperty', 'IndexesCommandOptions', 'IndexesContext', 'IndexesCreateResult',
    'IndexesDiff', 'IndexesEvent', 'IndexesPruneResult', 'JsValue', 'KindEvents', 'KindOptionsFile',
    'KindReport', 'KindSchema', 'ManifestKind', 'MigrateCommandOptions', 'MigrateContext', 'MigrateEvent',
    'MigrationCounts', 'MigrationRecord', 'MigrationReport', 'MigrationStatusEntry', 'PropertyStats', 'ReadDumpOptions',
    'RestoreCommandOptions', 'RestoreContext', 'RestoreEvent', 'RestoreKindOptions', 'RestorePhase',
    'RestoreResult', 'RestoredKind', 'RetryEvent', 'RetryPolicy', 'RunTransformsOptions',
    'SchemaCommandOptions', 'SchemaContext', 'SchemaEvent', 'SchemaReport', 'SetOptions', 'SplitsOption',
    'TimeFormat', 'TransformContext', 'TransformFunction', 'UpResult', 'WriteDumpOptions', 'WriteDumpResult',
    ],
  },
  'dspipe/stages': {
    values: [
    'CommitBudget', 'ExportFolderWriter', 'PointerSink', 'createBatcher', 'createClient', 'createCompressor',
    'createDecompressor', 'createDeleteOps', 'createEntityCounter', 'createEntityDeleter', 'createEntityReader',
    'createEntityWriter', 'createExportReader', 'createFileSink', 'createFileSource', 'createIdReserver',
    'createKeyRewriter', 'createKindEnumerator', 'createParser', 'createRejectsSink', 'createSchemaCollector',
    'createSelectionFilter', 'createSerializer', 'createTransformer', 'enumerateKinds', 'findExport',
    'openDump', 'openExport', 'resolveConnection',
    ],
    types: [
    'BatcherOptions', 'ChangeExample', 'Compressor', 'CompressorOptions', 'Connection', 'ConnectionOptions',
    'DatastoreClient', 'DecompressorOptions', 'EntityCounter', 'EntityDeleterOptions', 'EntityReader',
    'EntityReaderOptions', 'EntityWriterOptions', 'ExportPart', 'ExportReader', 'FileSink', 'FileSourceOptions',
    'IEntity', 'IEntityResult', 'IKey', 'IValue', 'IdReserverOptions', 'KindEnumeratorOptions', 'KindRef',
    'OpenedDump', 'OpenedExport', 'ParserOptions', 'PointerSinkOptions', 'Reject', 'RejectsSink', 'RetryPolicy',
    'SchemaCollectorOptions', 'SelectionFilter', 'Serializer', 'TransformerOptions', 'WriteOp',
    ],
  },
  'dspipe/format': {
    values: [
    'DEFAULT_NAMESPACE_TOKEN', 'EntityHelper', 'FORMAT_NAME', 'FORMAT_VERSION', 'GeoPoint', 'LogReader',
    'LogWriter', 'MANIFEST_FILE', 'MAX_ENTITY_BYTES', 'MAX_ENTITY_DEPTH', 'MAX_INDEXED_BYTES',
    'MAX_KEY_PATH', 'MAX_LOOKUP_KEYS', 'MAX_NAME_BYTES', 'MAX_REQUEST_BYTES', 'MAX_TIMESTAMP_SECONDS',
    'MIN_TIMESTAMP_SECONDS', 'SchemaAccumulator', 'Timestamp', 'VALUE_FIELDS', 'VALUE_TYPES',
    'applyTransforms', 'compareKeyPaths', 'compareKeys', 'compareUtf8', 'crc32c', 'createKeyRewrite',
    'decodeBackup', 'decodeEntity', 'decodeEntityObject', 'decodeEntityProto', 'decodeKey',
    'decodeOverallMetadata', 'decodeSafeName', 'decodeValue', 'describeIndex', 'describeTypes',
    'encodeBackup', 'encodeEntity', 'encodeEntityProto', 'encodeKey', 'encodeOverallMetadata',
    'encodeSafeName', 'encodeValue', 'entitySize', 'formatIndexSnippet', 'formatIndexYaml', 'formatKey',
    'formatManifest', 'formatSchemaTable', 'formatTime', 'formatTimestamp', 'fromValue', 'indexIdentity',
    'isReservedName', 'keySize', 'kindFilePath', 'matches', 'parseConvert', 'parseDrop', 'parseIndexFile',
    'parseIndexYaml', 'parseManifest', 'parseNamespaceMap', 'parseRename', 'parseSelection', 'parseSet',
    'parseTime', 'parseTimestamp', 'parseTypedValue', 'sameIndex', 'toValue', 'valueField', 'valueSize',
    'valueTypeOf', 'wrapEntity',
    ],
    types: [
    'BackupInfo', 'BuiltinTransform', 'Compression', 'DumpManifest', 'EncodeEntityOptions', 'ExportPointer',
    'FileCompression', 'IEntity', 'IKey', 'ILatLng', 'IPartitionId', 'IPathElement', 'ITimestamp', 'IValue',
    'IndexDefinition', 'IndexDirection', 'IndexProperty', 'JsValue', 'KeyRewriteOptions', 'KindSchema',
    'LineLocation', 'LossyCorner', 'ManifestKind', 'NameFilter', 'ParsedIndexFile', 'PropertyStats',
    'Selection', 'SetOptions', 'TimeFormat', 'ValueField', 'ValueTypeName', 'WriteOp',
    ],
  },
};

const ENTRY: Record<string, string> = { dspipe: 'src/index.ts', 'dspipe/stages': 'src/stages.ts', 'dspipe/format': 'src/format.ts' };

// Sharded dumps and the write rate (issue 18), kept apart from the lists above so either can change alone.
API['dspipe']!.values.push('dumpShard', 'finalizeDump', 'planDump');
API['dspipe']!.types.push('DumpPlanSummary', 'FinalizeContext', 'FinalizeSummary', 'PlanEvent', 'RateEvent', 'ShardContext', 'ShardEvent', 'ShardSummary', 'WriteRateSummary');
for (const entry of Object.values(API)) {
  entry.values.sort();
  entry.types.sort();
}

function declared(file: string): { values: string[]; types: string[] } {
  const text = readFileSync(resolve(ROOT, file), 'utf8');
  const values: string[] = [];
  const types: string[] = [];
  for (const m of text.matchAll(/export (type )?\{([^}]*)\} from/g)) {
    const names = m[2]!.split(',').map((n) => n.trim()).filter((n) => n !== '');
    (m[1] ? types : values).push(...names);
  }
  return { values: values.sort(), types: types.sort() };
}

for (const [subpath, expected] of Object.entries(API)) {
  test(`${subpath} exports exactly its documented names`, async () => {
    // Imported by name, as a user would: through package.json "exports".
    const mod = (await import(subpath)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mod).sort(), expected.values, `runtime exports of ${subpath} changed`);
    assert.deepEqual(declared(ENTRY[subpath]!), expected, `declared exports of ${subpath} changed`);
  });
}

test('package.json exports the three subpaths, each with its types', () => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string } | string> };
  assert.deepEqual(Object.keys(pkg.exports).sort(), ['.', './format', './package.json', './stages']);
  for (const [sub, file] of [['.', 'index'], ['./stages', 'stages'], ['./format', 'format']] as const) {
    assert.deepEqual(pkg.exports[sub], { types: `./dist/src/${file}.d.ts`, default: `./dist/src/${file}.js` });
  }
});

test('internals stay internal', async () => {
  const all = new Set<string>();
  for (const subpath of Object.keys(API)) for (const name of Object.keys(await import(subpath))) all.add(name);
  for (const internal of ['NO_GAX_RETRY', 'mutationBytes', 'runQueryPage', 'queryPages', 'namespaceDir', 'withCommandContext', 'normalizeDumpOptions']) {
    assert.equal(all.has(internal), false, `${internal} is exported`);
  }
});
