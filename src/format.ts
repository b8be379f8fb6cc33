/**
 * `dspipe/format`: the pure pieces — the dump line codec, timestamps, the
 * manifest, safe file names, selections, key rewriting, schema accumulation,
 * the migration entity helper and built-in transforms, the managed export codec — and Datastore's own
 * rules from src/model (key order, value types, the storage-size formula,
 * limits). Nothing here does I/O or talks to Datastore.
 */
export {
  encodeEntity,
  decodeEntity,
  decodeEntityObject,
  encodeKey,
  decodeKey,
  encodeValue,
  decodeValue,
} from './format/entity-codec.js';
export type { LineLocation } from './format/entity-codec.js';
export { formatTimestamp, parseTimestamp } from './format/timestamp.js';
export { parseManifest, formatManifest, MANIFEST_FILE, FORMAT_NAME, FORMAT_VERSION } from './format/manifest.js';
export type { DumpManifest, ManifestKind, Compression } from './format/manifest.js';
export { encodeSafeName, decodeSafeName, kindFilePath } from './format/file-names.js';
export type { FileCompression } from './format/file-names.js';
export { parseSelection, matches, DEFAULT_NAMESPACE_TOKEN } from './format/selection.js';
export type { Selection, NameFilter } from './format/selection.js';
export { createKeyRewrite, parseNamespaceMap } from './format/key-rewrite.js';
export type { KeyRewriteOptions } from './format/key-rewrite.js';
export { SchemaAccumulator, formatSchemaTable, describeTypes } from './format/schema.js';
export type { KindSchema, PropertyStats } from './format/schema.js';
export { EntityHelper, Timestamp, GeoPoint, wrapEntity, toValue, fromValue } from './format/entity-helper.js';
export type { JsValue, SetOptions } from './format/entity-helper.js';
export { parseRename, parseDrop, parseConvert, parseSet, parseTypedValue, applyTransforms, formatTime, parseTime } from './format/transforms.js';
export type { BuiltinTransform, TimeFormat } from './format/transforms.js';
export type { WriteOp } from './format/batching.js';
export {
  crc32c,
  LogReader,
  LogWriter,
  encodeEntityProto,
  decodeEntityProto,
  encodeOverallMetadata,
  decodeOverallMetadata,
  encodeBackup,
  decodeBackup,
} from './format/export/index.js';
export type { ExportPointer, BackupInfo, LossyCorner, EncodeEntityOptions } from './format/export/index.js';
export { parseIndexYaml, parseIndexFile, formatIndexYaml, formatIndexSnippet, describeIndex, indexIdentity, sameIndex } from './format/index-yaml.js';
export type { IndexDefinition, IndexProperty, IndexDirection, ParsedIndexFile } from './format/index-yaml.js';

// -- Datastore's own rules --
export { compareKeys, compareKeyPaths, compareUtf8 } from './model/key-order.js';
export { formatKey } from './model/key-text.js';
export { VALUE_TYPES, VALUE_FIELDS, valueTypeOf, valueField } from './model/value-types.js';
export type { ValueTypeName, ValueField } from './model/value-types.js';
export { entitySize, keySize, valueSize } from './model/storage-size.js';
export {
  MAX_REQUEST_BYTES,
  MAX_ENTITY_BYTES,
  MAX_INDEXED_BYTES,
  MAX_NAME_BYTES,
  MAX_KEY_PATH,
  MAX_ENTITY_DEPTH,
  MAX_LOOKUP_KEYS,
  MIN_TIMESTAMP_SECONDS,
  MAX_TIMESTAMP_SECONDS,
  isReservedName,
} from './model/limits.js';
export type { IEntity, IKey, IValue, IPathElement, IPartitionId, ITimestamp, ILatLng } from './model/proto.js';
