/**
 * Reading a dump folder: `openDump` reads and checks manifest.json and picks
 * the kinds to restore; `createFileSource` streams one kind's file, hashing
 * and counting what it reads, and fails at the end if the bytes are not the
 * ones the manifest recorded (size and sha256), so a flipped byte or a
 * truncated file never passes unnoticed.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
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
      throw new DspipeError('DSPIPE_NOT_FOUND', `no dump folder ${dir}`, { file: dir, hint: 'check the dump name (ls _backup) or give the folder with --in' });
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

export interface FileSourceOptions {
  /** Check size and sha256 against the manifest at the end (default true). */
  verify?: boolean;
  chunkSize?: number;
}

export class FileSource extends Readable {
  bytes = 0;
  readonly path: string;
  private handle: FileHandle | undefined;
  private readonly hash: Hash | undefined;
  private readonly chunkSize: number;

  constructor(dir: string, private readonly entry: ManifestKind, options: FileSourceOptions = {}) {
    super({ highWaterMark: options.chunkSize ?? 64 * 1024 });
    this.path = join(dir, ...entry.file.split('/'));
    this.chunkSize = options.chunkSize ?? 64 * 1024;
    if (options.verify !== false) this.hash = createHash('sha256');
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'r').then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (err: NodeJS.ErrnoException) =>
        callback(err.code === 'ENOENT'
          ? this.corrupt('the kind file listed in the manifest is missing')
          : new DspipeError('DSPIPE_IO', `cannot open: ${err.message}`, { file: this.path, cause: err })),
    );
  }

  override _read(): void {
    const buffer = Buffer.allocUnsafe(this.chunkSize);
    this.handle!.read(buffer, 0, buffer.length, null).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) return this.end();
        const chunk = buffer.subarray(0, bytesRead);
        this.bytes += bytesRead;
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
