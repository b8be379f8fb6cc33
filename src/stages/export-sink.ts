/**
 * Writing a Datastore managed export that `gcloud datastore import` accepts
 * (MANAGED-EXPORT-FORMAT.md §7): one pointer per (namespace, kind), so that
 * a selective import works, each with its `output-N` files (LevelDB log of
 * EntityProto records, Google's framing byte for byte), its `.export_metadata`
 * (Backup) and, last, `NAME.overall_export_metadata` with the counts and sizes.
 *
 *   const folder = new ExportFolderWriter(tempDir, name);
 *   await pipeline(entities, folder.pointer(namespace, kind, { onLossy }));   // per kind, concurrently if wanted
 *   await folder.finish();                                                   // metadata files
 *
 * The caller writes into a temporary folder and renames it when finish()
 * resolves, so a failed run leaves no export behind. Memory stays flat: one
 * record and one write buffer per pointer.
 */
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DspipeError } from '../errors.js';
import {
  encodeBackup,
  encodeEntityProto,
  encodeOverallMetadata,
  LogWriter,
  OVERALL_SUFFIX,
  pointerPaths,
  type ExportPointer,
  type LossyCorner,
} from '../format/export/index.js';
import type { IEntity } from '../model/proto.js';

/** Entities per output file, as Google's exporter splits a small kind (any file names work on import). */
export const ENTITIES_PER_OUTPUT_FILE = 5000;
const WRITE_BUFFER = 256 * 1024;

export interface PointerSinkOptions {
  /** A value the format keeps only approximately; throw to refuse the entity (--strict). */
  onLossy?: (entity: IEntity, corner: LossyCorner) => void;
  /** Project for keys without one. */
  project?: string;
  entitiesPerFile?: number;
}

/** Writes one pointer's output files; `entities` and `bytes` count what it wrote. */
export class PointerSink extends Writable {
  entities = 0;
  bytes = 0;
  readonly files: string[] = [];
  private handle: FileHandle | undefined;
  private log = new LogWriter();
  private inFile = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly perFile: number;

  constructor(
    private readonly folder: string,
    private readonly options: PointerSinkOptions,
  ) {
    super({ objectMode: true, highWaterMark: 256 });
    this.perFile = options.entitiesPerFile ?? ENTITIES_PER_OUTPUT_FILE;
  }

  override _write(entity: IEntity, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    // The common case stays synchronous: an open file with room, and the write buffer not full.
    if (this.handle !== undefined && this.inFile < this.perFile) {
      try {
        this.append(entity);
      } catch (err) {
        return callback(err as Error);
      }
      if (this.pendingBytes < WRITE_BUFFER) return callback();
      this.flushPending().then(() => callback(), (err: Error) => callback(err));
      return;
    }
    this.rotate().then(
      () => {
        this.append(entity);
        callback();
      },
    ).catch((err: Error) => callback(err));
  }

  private append(entity: IEntity): void {
    const onLossy = this.options.onLossy;
    const record = encodeEntityProto(entity, {
      ...(this.options.project !== undefined && { project: this.options.project }),
      ...(onLossy && { onLossy: (corner: LossyCorner) => onLossy(entity, corner) }),
    });
    const framed = this.log.frame(record);
    this.pending.push(framed);
    this.pendingBytes += framed.length;
    this.inFile++;
    this.entities++;
  }

  private async flushPending(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle!.write(data);
    this.bytes += data.length;
  }

  private async rotate(): Promise<void> {
    await this.closeFile();
    const name = `output-${this.files.length}`;
    const path = join(this.folder, name);
    if (this.destroyed) throw new DspipeError('DSPIPE_IO', 'the export writer was stopped', { file: path });
    try {
      await mkdir(this.folder, { recursive: true });
      const handle = await open(path, 'wx');
      // Destroyed while the file was being opened: nothing will close it but us.
      if (this.destroyed) {
        await handle.close();
        throw new DspipeError('DSPIPE_IO', 'the export writer was stopped', { file: path });
      }
      this.handle = handle;
    } catch (err) {
      throw new DspipeError('DSPIPE_IO', `cannot create an export file: ${(err as Error).message}`, { file: path, cause: err });
    }
    this.files.push(name);
    this.log = new LogWriter();
    this.inFile = 0;
  }

  private async closeFile(): Promise<void> {
    if (this.handle === undefined) return;
    await this.flushPending();
    const h = this.handle;
    this.handle = undefined;
    await h.close();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.closeFile().then(() => callback(), (err: Error) => callback(err));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const h = this.handle;
    this.handle = undefined;
    if (!h) return callback(err);
    h.close().then(() => callback(err), () => callback(err));
  }
}

interface PointerEntry {
  namespace: string;
  kind: string;
  sink: PointerSink;
  metadataFile: string;
  folder: string;
}

/** An export folder being written: pointers, then the metadata files. */
export class ExportFolderWriter {
  private readonly pointers: PointerEntry[] = [];
  private readonly started = Date.now();

  constructor(
    readonly dir: string,
    readonly name: string,
  ) {}

  /** The sink for one (namespace, kind). Kinds whose sink writes nothing get no pointer (as Google's exporter does). */
  pointer(namespace: string, kind: string, options: PointerSinkOptions = {}): PointerSink {
    const paths = pointerPaths(namespace, kind);
    if (this.pointers.some((p) => p.metadataFile === paths.metadataFile)) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `two kinds map to the export folder ${paths.folder}`, { namespace, kind });
    }
    const folder = join(this.dir, ...paths.folder.split('/'));
    const sink = new PointerSink(folder, options);
    this.pointers.push({ namespace, kind, sink, metadataFile: paths.metadataFile, folder });
    return sink;
  }

  /** Entities and bytes written so far, all pointers. */
  totals(): { entities: number; bytes: number } {
    return this.pointers.reduce((t, p) => ({ entities: t.entities + p.sink.entities, bytes: t.bytes + p.sink.bytes }), { entities: 0, bytes: 0 });
  }

  /** Writes each pointer's Backup file and the overall metadata; returns the overall file's path. */
  async finish(): Promise<string> {
    const startMicros = this.started * 1000;
    const endMicros = Date.now() * 1000;
    const pointers: ExportPointer[] = [];
    const sorted = [...this.pointers].filter((p) => p.sink.entities > 0).sort((a, b) => (a.metadataFile < b.metadataFile ? -1 : a.metadataFile > b.metadataFile ? 1 : 0));
    for (const p of sorted) {
      const backup = encodeBackup({ name: this.name, startMicros, endMicros, kind: p.kind, files: p.sink.files });
      await writeFile(join(this.dir, ...p.metadataFile.split('/')), backup, { flag: 'wx' });
      pointers.push({ kind: p.kind, namespace: p.namespace, metadataFile: p.metadataFile, entities: p.sink.entities, bytes: p.sink.bytes });
    }
    await mkdir(this.dir, { recursive: true });
    const overall = join(this.dir, `${this.name}${OVERALL_SUFFIX}`);
    await writeFile(overall, encodeOverallMetadata(pointers), { flag: 'wx' });
    return overall;
  }
}
