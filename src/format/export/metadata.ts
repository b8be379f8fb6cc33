/**
 * The metadata files of a managed export (MANAGED-EXPORT-FORMAT.md §1, §3, §4):
 *
 *   NAME/NAME.overall_export_metadata   LevelDB log: "3", then OverallExportMetadata
 *   NAME/<ns>/<kind>/<ns>_<kind>.export_metadata   plain Backup protobuf listing output files
 *
 * and the folder names of one pointer per (namespace, kind) as Google's
 * exporter names them, with namespace and kind names made safe for paths
 * (the importer follows only the stored paths, so escaping is free).
 */
import { DspipeError } from '../../errors.js';
import { encodeSafeName } from '../file-names.js';
import { frameRecords, readRecords } from './log.js';
import { ProtoReader, ProtoWriter, WireError, WIRE_LEN, WIRE_VARINT } from './wire.js';

export const OVERALL_SUFFIX = '.overall_export_metadata';
export const EXPORT_METADATA_SUFFIX = '.export_metadata';
/** The first record of an overall metadata file. */
export const OVERALL_VERSION = '3';

/** One pointer of the overall metadata: a (namespace, kind) set and its Backup file. */
export interface ExportPointer {
  /** The kind, or undefined for all kinds. */
  kind: string | undefined;
  /** The namespace ('' = default), or undefined for all namespaces. */
  namespace: string | undefined;
  /** Path of the `.export_metadata` file relative to the overall file's folder, '/'-separated. */
  metadataFile: string;
  /** Entities under this pointer, as the exporter counted them (the importer ignores it). */
  entities?: number;
  /** Bytes of this pointer's output files, framing included. */
  bytes?: number;
}

const KIND_ONE = 1;
const KIND_ALL = 2;
const NS_DEFAULT = 1;
const NS_ONE = 2;
const NS_ALL = 3;

function corrupt(file: string, message: string, cause?: unknown): DspipeError {
  return new DspipeError('DSPIPE_CORRUPT_DUMP', message, {
    file,
    hint: 'the export metadata is damaged, or this is not a Datastore managed export',
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** The whole `.overall_export_metadata` file for these pointers. */
export function encodeOverallMetadata(pointers: readonly ExportPointer[]): Buffer {
  const w = new ProtoWriter();
  for (const p of pointers) {
    w.tag(1, WIRE_LEN);
    const ptr = w.beginLen();
    w.tag(1, WIRE_LEN);
    const spec = w.beginLen();
    w.tag(1, WIRE_VARINT);
    w.uint(p.kind === undefined ? KIND_ALL : KIND_ONE);
    w.tag(2, WIRE_LEN);
    w.string(p.kind ?? '');
    w.tag(3, WIRE_VARINT);
    w.uint(p.namespace === undefined ? NS_ALL : p.namespace === '' ? NS_DEFAULT : NS_ONE);
    w.tag(4, WIRE_LEN);
    w.string(p.namespace ?? '');
    w.endLen(spec);
    w.tag(2, WIRE_LEN);
    w.string(p.metadataFile);
    w.tag(3, WIRE_VARINT);
    w.int64(p.entities ?? 0);
    w.tag(4, WIRE_VARINT);
    w.int64(p.bytes ?? 0);
    w.endLen(ptr);
  }
  return frameRecords([Buffer.from(OVERALL_VERSION), w.finish()]);
}

/** The pointers of an `.overall_export_metadata` file (its whole bytes). */
export function decodeOverallMetadata(bytes: Buffer, file: string): ExportPointer[] {
  const records = readRecords(bytes, file);
  if (records.length === 0) throw corrupt(file, 'the overall export metadata holds no records');
  const version = records[0]!.toString('latin1');
  if (version !== OVERALL_VERSION) {
    throw corrupt(file, `unsupported export metadata version ${JSON.stringify(version.slice(0, 20))} (only "${OVERALL_VERSION}" is known)`);
  }
  if (records.length > 2) throw corrupt(file, `the overall export metadata holds ${records.length} records, not 2`);
  const out: ExportPointer[] = [];
  if (records.length === 1) return out;
  try {
    const r = new ProtoReader(records[1]!);
    while (!r.done()) {
      const t = r.uint();
      if (t !== ((1 << 3) | WIRE_LEN)) {
        r.skip(t & 7, t >>> 3);
        continue;
      }
      const [s, e] = r.len();
      const pr = new ProtoReader(r.buf, s, e);
      let kindType = KIND_ALL;
      let kind = '';
      let nsType = NS_ALL;
      let ns = '';
      let metadataFile: string | undefined;
      let entities: number | undefined;
      let size: number | undefined;
      while (!pr.done()) {
        const u = pr.uint();
        if (u === ((1 << 3) | WIRE_LEN)) {
          const [ss, se] = pr.len();
          const sr = new ProtoReader(pr.buf, ss, se);
          while (!sr.done()) {
            const v = sr.uint();
            if (v === ((1 << 3) | WIRE_VARINT)) kindType = sr.uint();
            else if (v === ((2 << 3) | WIRE_LEN)) kind = sr.string();
            else if (v === ((3 << 3) | WIRE_VARINT)) nsType = sr.uint();
            else if (v === ((4 << 3) | WIRE_LEN)) ns = sr.string();
            else sr.skip(v & 7, v >>> 3);
          }
        } else if (u === ((2 << 3) | WIRE_LEN)) metadataFile = pr.string();
        else if (u === ((3 << 3) | WIRE_VARINT)) entities = Number(pr.int64());
        else if (u === ((4 << 3) | WIRE_VARINT)) size = Number(pr.int64());
        else pr.skip(u & 7, u >>> 3);
      }
      if (metadataFile === undefined) throw new WireError(`export pointer ${out.length} names no .export_metadata file`);
      const p: ExportPointer = {
        kind: kindType === KIND_ONE ? kind : undefined,
        namespace: nsType === NS_DEFAULT ? '' : nsType === NS_ONE ? ns : undefined,
        metadataFile: metadataFile.replace(/\\/g, '/'),
      };
      if (entities !== undefined) p.entities = entities;
      if (size !== undefined) p.bytes = size;
      out.push(p);
    }
  } catch (err) {
    if (err instanceof DspipeError) throw err;
    throw corrupt(file, `the overall export metadata is not valid: ${(err as Error).message}`, err);
  }
  return out;
}

export interface BackupInfo {
  /** The export's name. */
  name: string;
  /** Start and end of the export, µs since the epoch. */
  startMicros?: number;
  endMicros?: number;
  /** The pointer's kind ('' for all kinds): written because the importer requires the field. */
  kind: string;
  /** Output file names relative to the `.export_metadata` file's folder. */
  files: readonly string[];
}

/** A `.export_metadata` file: a plain (unframed) Backup protobuf. */
export function encodeBackup(info: BackupInfo): Buffer {
  const w = new ProtoWriter();
  w.tag(1, WIRE_LEN);
  const bi = w.beginLen();
  w.tag(1, WIRE_LEN);
  w.string(info.name);
  if (info.startMicros !== undefined) {
    w.tag(2, WIRE_VARINT);
    w.int64(info.startMicros);
  }
  if (info.endMicros !== undefined) {
    w.tag(3, WIRE_VARINT);
    w.int64(info.endMicros);
  }
  w.endLen(bi);
  w.tag(2, WIRE_LEN);
  const ki = w.beginLen();
  w.tag(1, WIRE_LEN);
  w.string(info.kind);
  for (const f of info.files) {
    w.tag(2, WIRE_LEN);
    w.string(f);
  }
  w.endLen(ki);
  return w.finish();
}

/** The output files a `.export_metadata` lists, all kind_info entries in order. */
export function decodeBackup(bytes: Buffer, file: string): { name: string | undefined; files: string[] } {
  let name: string | undefined;
  const files: string[] = [];
  try {
    const r = new ProtoReader(bytes);
    while (!r.done()) {
      const t = r.uint();
      if (t === ((1 << 3) | WIRE_LEN)) {
        const [s, e] = r.len();
        const br = new ProtoReader(bytes, s, e);
        while (!br.done()) {
          const u = br.uint();
          if (u === ((1 << 3) | WIRE_LEN)) name = br.string();
          else br.skip(u & 7, u >>> 3);
        }
      } else if (t === ((2 << 3) | WIRE_LEN)) {
        const [s, e] = r.len();
        const kr = new ProtoReader(bytes, s, e);
        let sawKind = false;
        while (!kr.done()) {
          const u = kr.uint();
          if (u === ((1 << 3) | WIRE_LEN)) {
            kr.string();
            sawKind = true;
          } else if (u === ((2 << 3) | WIRE_LEN)) files.push(kr.string());
          else kr.skip(u & 7, u >>> 3);
        }
        if (!sawKind) throw new WireError('a kind_info entry has no kind (Google\'s importer refuses it)');
      } else r.skip(t & 7, t >>> 3);
    }
  } catch (err) {
    if (err instanceof DspipeError) throw err;
    throw corrupt(file, `the .export_metadata file is not a valid Backup protobuf: ${(err as Error).message}`, err);
  }
  return { name, files };
}

/** Folder part of a namespace, as Google names it (`default_namespace`, `namespace_N`, `all_namespaces`). */
export function namespacePart(namespace: string | undefined): string {
  if (namespace === undefined) return 'all_namespaces';
  return namespace === '' ? 'default_namespace' : `namespace_${encodeSafeName(namespace, 200)}`;
}

/** Folder part of a kind (`kind_K`, `all_kinds`). */
export function kindPart(kind: string | undefined): string {
  return kind === undefined ? 'all_kinds' : `kind_${encodeSafeName(kind, 200)}`;
}

/** The pointer folder and its `.export_metadata` path, relative to the export folder. */
export function pointerPaths(namespace: string | undefined, kind: string | undefined): { folder: string; metadataFile: string } {
  const ns = namespacePart(namespace);
  const k = kindPart(kind);
  return { folder: `${ns}/${k}`, metadataFile: `${ns}/${k}/${ns}_${k}${EXPORT_METADATA_SUFFIX}` };
}

/** An export name in the legacy emulator's style: UTC time with milliseconds, `2026-12-01T20:08:43_215`. */
export function exportName(date: Date): string {
  return date.toISOString().replace(/Z$/, '').replace('.', '_');
}
