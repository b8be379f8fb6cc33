/**
 * Datastore's managed export format (`gcloud datastore export` / `import`),
 * pure codecs, no I/O. MANAGED-EXPORT-FORMAT.md describes the bytes.
 *
 *   crc32c, maskCrc, unmaskCrc          CRC-32C (Castagnoli) and LevelDB's mask
 *   LogWriter, LogReader                LevelDB log framing: 32 KiB blocks, FULL/FIRST/MIDDLE/LAST,
 *                                       every CRC checked; incremental both ways (flat memory)
 *   frameRecords, readRecords           the same for small whole files
 *   encodeEntityProto, decodeEntityProto   EntityProto record <-> v1 entity (decodeEntity's shape)
 *   encodeOverallMetadata, decodeOverallMetadata   NAME.overall_export_metadata <-> ExportPointer[]
 *   encodeBackup, decodeBackup          <ns>_<kind>.export_metadata <-> output file list
 *   pointerPaths, namespacePart, kindPart, exportName   folder layout, as Google names it
 *
 * Reading an output file:
 *   const r = new LogReader(file);
 *   for await (const chunk of stream) r.push(chunk, (rec, off) => use(decodeEntityProto(rec, { file, offset: off })));
 *   r.end(onRecord);                    // refuses a truncated last record
 * Writing one:
 *   const w = new LogWriter();
 *   out.write(w.frame(encodeEntityProto(entity, { onLossy })));   // w.bytes = file size
 *
 * Every malformed input is a DspipeError DSPIPE_CORRUPT_DUMP naming the file
 * and byte offset; entities the format cannot hold are DSPIPE_REJECTED_ENTITY.
 */
export { crc32c, maskCrc, unmaskCrc } from './crc32c.js';
export { LogWriter, LogReader, frameRecords, readRecords, BLOCK_SIZE, HEADER_SIZE } from './log.js';
export type { RecordHandler } from './log.js';
export { encodeEntityProto, decodeEntityProto } from './entity-proto.js';
export type { EncodeEntityOptions, LossyCorner, RecordLocation } from './entity-proto.js';
export {
  encodeOverallMetadata,
  decodeOverallMetadata,
  encodeBackup,
  decodeBackup,
  pointerPaths,
  namespacePart,
  kindPart,
  exportName,
  OVERALL_SUFFIX,
  EXPORT_METADATA_SUFFIX,
  OVERALL_VERSION,
} from './metadata.js';
export type { ExportPointer, BackupInfo } from './metadata.js';
