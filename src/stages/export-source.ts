/**
 * Reading a Datastore managed export (`gcloud datastore export`) from a local
 * folder: `findExport` tells an export from a dump, `openExport` reads the
 * overall metadata and every pointer's `.export_metadata` and checks that
 * each output file they name is there, and `createExportReader` streams the
 * entities of a list of output files in order, every CRC checked, one chunk
 * at a time (flat memory whatever the size).
 */
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { DspipeError } from '../errors.js';
import { decodeBackup, decodeEntityProto, decodeOverallMetadata, LogReader, OVERALL_SUFFIX, type ExportPointer } from '../format/export/index.js';
import type { IEntity } from '../model/proto.js';
import { matches, type Selection } from '../format/selection.js';

export interface ExportPart {
  pointer: ExportPointer;
  /** Absolute path of the pointer's `.export_metadata`. */
  metadataFile: string;
  /** Its output files, in order. */
  files: string[];
}

export interface OpenedExport {
  /** The export folder (where the overall file is). */
  folder: string;
  overallFile: string;
  /** The export's name (from the Backup files, else the overall file's name). */
  name: string;
  parts: ExportPart[];
}

const HINT_COPY = 'copy the whole export folder again (gcloud storage cp -r gs://BUCKET/EXPORT .) or make a new export';

/** The overall metadata file of `path` when it is an export (the file itself, or a folder holding exactly one); else undefined. */
export async function findExport(path: string): Promise<string | undefined> {
  if (path.endsWith(OVERALL_SUFFIX)) return path;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const overall = (await readdir(path)).filter((f) => f.endsWith(OVERALL_SUFFIX));
  if (overall.length > 1) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `the folder holds ${overall.length} exports (${overall.join(', ')})`, {
      file: path,
      hint: `name one: --in ${join(path, overall[0]!)}`,
    });
  }
  return overall.length === 1 ? join(path, overall[0]!) : undefined;
}

async function readWhole(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DspipeError(code === 'ENOENT' ? 'DSPIPE_CORRUPT_DUMP' : 'DSPIPE_IO', `${what} is ${code === 'ENOENT' ? 'missing' : 'unreadable'}: ${(err as Error).message}`, {
      file,
      hint: HINT_COPY,
      cause: err,
    });
  }
}

/** Reads the export's metadata and checks that every file it names exists; reads no entity. */
export async function openExport(overallFile: string): Promise<OpenedExport> {
  const folder = dirname(overallFile);
  const pointers = decodeOverallMetadata(await readWhole(overallFile, 'the overall export metadata'), overallFile);
  const parts: ExportPart[] = [];
  let name: string | undefined;
  for (const pointer of pointers) {
    const metadataFile = join(folder, ...pointer.metadataFile.split('/'));
    const backup = decodeBackup(await readWhole(metadataFile, 'an .export_metadata file named in the overall metadata'), metadataFile);
    name ??= backup.name;
    const files = backup.files.map((f) => join(dirname(metadataFile), ...f.split('/')));
    for (const file of files) {
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) {
        throw new DspipeError('DSPIPE_CORRUPT_DUMP', 'an output file named in the export metadata is missing', { file, hint: HINT_COPY });
      }
    }
    parts.push({ pointer, metadataFile, files });
  }
  return { folder, overallFile, name: name ?? basename(overallFile, OVERALL_SUFFIX), parts };
}

/** A pointer's (namespace, kind) as dspipe names them in events and errors: `*` for all. */
export function partLabel(pointer: ExportPointer): { namespace: string; kind: string } {
  return { namespace: pointer.namespace ?? '*', kind: pointer.kind ?? '*' };
}

/** The parts that may hold entities of the selection (a pointer for all kinds or namespaces always may). */
export function selectedParts(opened: OpenedExport, selection: Selection): ExportPart[] {
  return opened.parts.filter(
    ({ pointer }) =>
      (pointer.kind === undefined || matches(selection.kinds, pointer.kind)) && (pointer.namespace === undefined || matches(selection.namespaces, pointer.namespace)),
  );
}

export interface ExportReaderOptions {
  chunkSize?: number;
}

/** Entities of export output files, in file order; `entities` and `bytes` count what was read. */
export interface ExportReader {
  [Symbol.asyncIterator](): AsyncIterableIterator<IEntity>;
  // the untyped signature too, so pipeline() still takes it as a NodeJS.ReadableStream
  [Symbol.asyncIterator](): AsyncIterableIterator<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class ExportReader extends Readable {
  entities = 0;
  bytes = 0;
  private index = -1;
  private handle: FileHandle | undefined;
  private log: LogReader | undefined;
  private queue: IEntity[] = [];
  private next = 0;
  private pumping = false;
  private again = false;
  private readonly chunkSize: number;

  constructor(private readonly files: readonly string[], options: ExportReaderOptions = {}) {
    super({ objectMode: true, highWaterMark: 64 });
    this.chunkSize = options.chunkSize ?? 256 * 1024;
  }

  private get file(): string {
    return this.files[this.index]!;
  }

  private onRecord = (rec: Buffer, offset: number): void => {
    this.queue.push(decodeEntityProto(rec, { file: this.file, offset }));
  };

  override _read(): void {
    // One pump at a time: push() may ask for more while a read is awaited.
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.again = false;
    this.pump().then(
      () => {
        this.pumping = false;
        if (this.again) this._read();
      },
      (err: unknown) => {
        this.pumping = false;
        this.destroy(err as Error);
      },
    );
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.next < this.queue.length) {
        let more = true;
        while (more && this.next < this.queue.length) {
          this.entities++;
          more = this.push(this.queue[this.next++]);
        }
        if (this.next === this.queue.length) {
          this.queue = [];
          this.next = 0;
        }
        if (!more) return;
        continue;
      }
      if (this.handle === undefined) {
        if (this.index + 1 >= this.files.length) {
          this.push(null);
          return;
        }
        this.index++;
        this.log = new LogReader(this.file);
        try {
          this.handle = await open(this.file, 'r');
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          throw new DspipeError(code === 'ENOENT' ? 'DSPIPE_CORRUPT_DUMP' : 'DSPIPE_IO', `cannot open an output file of the export: ${(err as Error).message}`, {
            file: this.file,
            hint: HINT_COPY,
            cause: err,
          });
        }
      }
      const buffer = Buffer.allocUnsafe(this.chunkSize);
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        const h = this.handle;
        this.handle = undefined;
        await h.close();
        this.log!.end(this.onRecord);
      } else {
        this.bytes += bytesRead;
        this.log!.push(buffer.subarray(0, bytesRead), this.onRecord);
      }
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const h = this.handle;
    this.handle = undefined;
    this.queue = [];
    if (!h) return callback(err);
    h.close().then(() => callback(err), () => callback(err));
  }
}

export function createExportReader(files: readonly string[], options: ExportReaderOptions = {}): ExportReader {
  return new ExportReader(files, options);
}
