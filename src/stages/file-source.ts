/**
 * Reading a dump folder: `openDump` reads and checks manifest.json and picks
 * the kinds to restore; `createFileSource` streams one kind's file, hashing
 * and counting what it reads, and fails at the end if the bytes are not the
 * ones the manifest recorded (size and sha256), so a flipped byte or a
 * truncated file never passes unnoticed. A file that grows past the
 * recorded size fails at once. Only regular files inside the dump folder are
 * read: a FIFO, a device or a link out of the folder is refused before a byte
 * is read (a FIFO would hang the read forever).
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, readFile, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import { DspipeError } from '../errors.js';
import { MANIFEST_FILE, parseManifest, type DumpManifest, type ManifestKind } from '../format/manifest.js';
import { matches, SELECT_ALL, type Selection } from '../format/selection.js';

export interface OpenedDump {
  dir: string;
  manifest: DumpManifest;
  /** The selected kinds, in manifest order. */
  kinds: ManifestKind[];
}

/** Reads `<dir>/manifest.json` and selects kinds; refuses incomplete dumps. */
export async function openDump(dir: string, selection: Selection = SELECT_ALL): Promise<OpenedDump> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new DspipeError('DSPIPE_IO', `cannot read the manifest: ${(err as Error).message}`, { file, cause: err });
    const folder = await stat(dir).catch(() => undefined);
    if (!folder?.isDirectory()) {
      throw new DspipeError('DSPIPE_NOT_FOUND', `no dump folder ${dir}`, { file: dir, hint: 'check the path: a dump is a folder holding manifest.json (ls _backup for the names)' });
    }
    throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the dump has no ${MANIFEST_FILE}; it is incomplete or not a dspipe dump`, {
      file,
      hint: 'finish it with dspipe dump --resume, or restore another dump',
    });
  }
  const manifest = parseManifest(text, file);
  const kinds = manifest.kinds.filter((k) => matches(selection.namespaces, k.namespace) && matches(selection.kinds, k.kind));
  const unfinished = kinds.find((k) => !k.complete);
  if (unfinished || !manifest.complete) {
    throw new DspipeError('DSPIPE_CORRUPT_DUMP', unfinished ? 'the dump of this kind did not finish' : 'the dump did not finish', {
      file,
      ...(unfinished && { kind: unfinished.kind, namespace: unfinished.namespace }),
      hint: 'finish it with dspipe dump --resume, or restore another dump',
    });
  }
  return { dir, manifest, kinds };
}

/** Which file was read, as the OS knows it: a file replaced (renamed over) or rewritten since has another. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface FileSourceOptions {
  /** Check size and sha256 against the manifest at the end (default true). */
  verify?: boolean;
  /**
   * The identity the file had when an earlier pass verified it: a file that
   * differs (swapped or rewritten between restore's verify and write passes)
   * is refused before a byte is read.
   */
  expect?: FileIdentity;
  chunkSize?: number;
}

export class FileSource extends Readable {
  bytes = 0;
  readonly path: string;
  /** Set once the file is open. */
  identity: FileIdentity | undefined;
  private handle: FileHandle | undefined;
  private readonly hash: Hash | undefined;
  private readonly chunkSize: number;

  private readonly expect: FileIdentity | undefined;

  constructor(private readonly dir: string, private readonly entry: ManifestKind, options: FileSourceOptions = {}) {
    super({ highWaterMark: options.chunkSize ?? 64 * 1024 });
    this.path = join(dir, ...entry.file.split('/'));
    this.chunkSize = options.chunkSize ?? 64 * 1024;
    this.expect = options.expect;
    if (options.verify !== false) this.hash = createHash('sha256');
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.openChecked().then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  /** Opens the file if it is a regular file inside the dump folder (O_NONBLOCK: opening a FIFO never waits for a writer). */
  private async openChecked(): Promise<FileHandle> {
    let real: string;
    let root: string;
    try {
      [real, root] = await Promise.all([realpath(this.path), realpath(this.dir)]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw this.corrupt('the kind file listed in the manifest is missing');
      throw new DspipeError('DSPIPE_IO', `cannot open: ${(err as Error).message}`, { file: this.path, cause: err });
    }
    const rel = relative(root, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw this.corrupt('the kind file is a link to a file outside the dump folder; refusing to read it');
    let handle: FileHandle;
    try {
      handle = await open(real, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    } catch (err) {
      throw new DspipeError('DSPIPE_IO', `cannot open: ${(err as Error).message}`, { file: this.path, cause: err });
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw this.corrupt(`the kind file is not a regular file (${info.isFIFO() ? 'a FIFO' : info.isDirectory() ? 'a folder' : 'a device or socket'}); refusing to read it`);
    }
    this.identity = { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
    const e = this.expect;
    if (e && (e.dev !== info.dev || e.ino !== info.ino || e.size !== info.size || e.mtimeMs !== info.mtimeMs)) {
      await handle.close();
      throw this.corrupt('the kind file was replaced or changed after it was verified; nothing of it was written');
    }
    return handle;
  }

  override _read(): void {
    const buffer = Buffer.allocUnsafe(this.chunkSize);
    this.handle!.read(buffer, 0, buffer.length, null).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) return this.end();
        const chunk = buffer.subarray(0, bytesRead);
        this.bytes += bytesRead;
        if (this.hash && this.bytes > this.entry.bytes) {
          return void this.destroy(this.corrupt(`the file has more than the ${this.entry.bytes} bytes the manifest says (changed, or not the file that was dumped)`));
        }
        this.hash?.update(chunk);
        this.push(chunk);
      },
      (err: Error) => this.destroy(new DspipeError('DSPIPE_IO', `cannot read: ${err.message}`, { file: this.path, cause: err })),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return callback(err);
    handle.close().then(() => callback(err), () => callback(err));
  }

  private end(): void {
    if (this.hash) {
      if (this.bytes !== this.entry.bytes) {
        return void this.destroy(this.corrupt(`the file has ${this.bytes} bytes, the manifest says ${this.entry.bytes} (truncated or changed)`));
      }
      const sha256 = this.hash.digest('hex');
      if (sha256 !== this.entry.sha256) return void this.destroy(this.corrupt('the file\'s sha256 does not match the manifest (the file is damaged)'));
    }
    this.push(null);
  }

  private corrupt(what: string): DspipeError {
    return new DspipeError('DSPIPE_CORRUPT_DUMP', what, {
      file: this.path,
      kind: this.entry.kind,
      namespace: this.entry.namespace,
      hint: 'dump again, or restore another dump',
    });
  }
}

export function createFileSource(dir: string, entry: ManifestKind, options: FileSourceOptions = {}): FileSource {
  return new FileSource(dir, entry, options);
}
