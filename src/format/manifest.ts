/**
 * manifest.json: what a dump folder holds. Written by dump (atomically, and
 * again as each kind completes, so an interrupted dump can be resumed), read
 * and checked by restore before anything is written.
 */
import { DspipeError } from '../errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const FORMAT_NAME = 'dspipe-dump';
export const FORMAT_VERSION = 1;

export type Compression = 'zstd' | 'none';

export interface ManifestKind {
  namespace: string;
  kind: string;
  /** Path of the kind's file relative to the dump folder, '/'-separated. */
  file: string;
  entities: number;
  /** Bytes of NDJSON before compression. */
  rawBytes: number;
  /** Bytes of the file as written. */
  bytes: number;
  /** sha256 (hex) of the file as written. */
  sha256: string;
  complete: boolean;
}

export interface DumpManifest {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  dspipeVersion: string;
  source: { projectId: string; databaseId: string; emulatorHost?: string };
  /** RFC 3339 read time of the snapshot, or null when the dump read current data. */
  readTime: string | null;
  /**
   * Whether the dump is one consistent snapshot (read at `readTime`). False
   * with --no-snapshot, or when the backend reports no read time (Google's
   * legacy emulator); `snapshotReason` then says why. Absent in dumps from
   * before it was recorded: `readTime !== null` tells the same.
   */
  snapshot?: boolean;
  snapshotReason?: string;
  startedAt: string;
  finishedAt: string | null;
  complete: boolean;
  compression: Compression;
  kinds: ManifestKind[];
}

function fail(file: string, what: string): never {
  throw new DspipeError('DSPIPE_CORRUPT_DUMP', `manifest ${what}`, {
    file,
    hint: 'the dump is damaged or was not written by dspipe; dump again or restore another dump',
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const COUNT = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses and checks a manifest's text; `file` names it in errors. */
export function parseManifest(text: string, file: string): DumpManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    return fail(file, `is not valid JSON (${(cause as Error).message})`);
  }
  if (!isRecord(data)) return fail(file, 'is not a JSON object');
  if (data.format !== FORMAT_NAME) fail(file, `has format ${JSON.stringify(data.format)}, expected ${JSON.stringify(FORMAT_NAME)}`);
  if (data.formatVersion !== FORMAT_VERSION) {
    fail(file, `has format version ${JSON.stringify(data.formatVersion)}; this dspipe reads version ${FORMAT_VERSION}`);
  }
  const source = data.source;
  if (!isRecord(source) || typeof source.projectId !== 'string' || typeof source.databaseId !== 'string') fail(file, 'has no valid source');
  if (data.snapshot !== undefined && typeof data.snapshot !== 'boolean') fail(file, `has a snapshot flag that is not true or false: ${JSON.stringify(data.snapshot)}`);
  if (data.snapshot === true && data.readTime === null) fail(file, 'says it is a snapshot but has no read time');
  if (data.snapshotReason !== undefined && typeof data.snapshotReason !== 'string') fail(file, 'has a snapshotReason that is not a string');
  if (data.compression !== 'zstd' && data.compression !== 'none') fail(file, `has unknown compression ${JSON.stringify(data.compression)}`);
  if (!Array.isArray(data.kinds)) return fail(file, 'has no kinds list');
  const seen = new Set<string>();
  const files = new Map<string, number>();
  data.kinds.forEach((k: unknown, i: number) => {
    const at = `kinds[${i}]`;
    if (!isRecord(k)) return fail(file, `${at} is not an object`);
    if (typeof k.namespace !== 'string' || typeof k.kind !== 'string' || k.kind === '') fail(file, `${at} has no namespace/kind`);
    if (typeof k.file !== 'string' || k.file === '' || k.file.startsWith('/') || k.file.split('/').some((p) => p === '..' || p === '')) {
      fail(file, `${at} has an unsafe file path ${JSON.stringify(k.file)}`);
    }
    if (!COUNT(k.entities) || !COUNT(k.rawBytes) || !COUNT(k.bytes)) fail(file, `${at} has invalid counts`);
    if (typeof k.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(k.sha256)) fail(file, `${at} has an invalid sha256`);
    if (typeof k.complete !== 'boolean') fail(file, `${at} has no complete flag`);
    if (files.has(k.file)) fail(file, `${at} claims the file ${JSON.stringify(k.file)}, which kinds[${files.get(k.file)}] claims too`);
    files.set(k.file, i);
    const id = JSON.stringify([k.namespace, k.kind]);
    if (seen.has(id)) fail(file, `${at} lists namespace ${JSON.stringify(k.namespace)} kind ${JSON.stringify(k.kind)} twice`);
    seen.add(id);
  });
  return data as unknown as DumpManifest;
}

/** Deterministic text: fixed key order, two-space indent, trailing newline. */
export function formatManifest(manifest: DumpManifest): string {
  const ordered: DumpManifest = {
    format: manifest.format,
    formatVersion: manifest.formatVersion,
    dspipeVersion: manifest.dspipeVersion,
    source: manifest.source,
    readTime: manifest.readTime,
    ...(manifest.snapshot !== undefined && { snapshot: manifest.snapshot }),
    ...(manifest.snapshotReason !== undefined && { snapshotReason: manifest.snapshotReason }),
    startedAt: manifest.startedAt,
    finishedAt: manifest.finishedAt,
    complete: manifest.complete,
    compression: manifest.compression,
    kinds: manifest.kinds.map((k) => ({
      namespace: k.namespace,
      kind: k.kind,
      file: k.file,
      entities: k.entities,
      rawBytes: k.rawBytes,
      bytes: k.bytes,
      sha256: k.sha256,
      complete: k.complete,
    })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
