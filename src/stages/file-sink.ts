/**
 * fileSink: bytes to a file that appears whole or not at all. Writes go to a
 * temp file beside the target (same directory, so the rename is atomic),
 * are fsynced, then renamed into place; destroy or failure removes the temp
 * file. Counts bytes and hashes them (sha256) as they pass.
 */
import { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DspipeError } from '../errors.js';
import { recycleLines } from '../format/wire/line-buffer.js';

export interface FileSink extends Writable {
  readonly path: string;
  readonly bytes: number;
  /** Hex sha256 of everything written; final once 'finish' has fired. */
  readonly sha256: string;
}

function ioError(what: string, file: string, cause: unknown): DspipeError {
  return new DspipeError('DSPIPE_IO', `${what}: ${(cause as Error).message}`, {
    file,
    hint: 'check that the dump folder is writable and the disk has room',
    cause,
  });
}

class FileSinkStream extends Writable implements FileSink {
  bytes = 0;
  sha256 = '';
  readonly tempPath: string;
  private handle: FileHandle | undefined;
  private readonly hash = createHash('sha256');
  private renamed = false;

  constructor(readonly path: string) {
    super({ highWaterMark: 1 << 20 });
    // Short on purpose: the final name may already use the whole 255-byte component limit.
    this.tempPath = join(dirname(path), `.dspipe-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  }

  override _construct(callback: (err?: Error | null) => void): void {
    mkdir(dirname(this.path), { recursive: true })
      .then(() => open(this.tempPath, 'w'))
      .then(
        (handle) => {
          this.handle = handle;
          callback();
        },
        (err: unknown) => callback(ioError('cannot create the file', this.tempPath, err)),
      );
  }

  private writeAll(data: Buffer, callback: (err?: Error | null) => void): void {
    this.hash.update(data);
    this.bytes += data.length;
    this.handle!.write(data).then(
      () => {
        // written: a page of lines (--compress none) can be reused
        recycleLines(data);
        callback();
      },
      (err: unknown) => callback(ioError('cannot write', this.tempPath, err)),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writeAll(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    const all = Buffer.concat(chunks.map((c) => c.chunk));
    for (const c of chunks) recycleLines(c.chunk);
    this.writeAll(all, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    const handle = this.handle!;
    this.sha256 = this.hash.digest('hex');
    // fsync before rename: after a crash the name never points at a partial file.
    handle
      .sync()
      .then(() => handle.close())
      .then(() => {
        this.handle = undefined;
        return rename(this.tempPath, this.path);
      })
      .then(
        () => {
          this.renamed = true;
          callback();
        },
        (err: unknown) => callback(ioError('cannot finish the file', this.path, err)),
      );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    const cleanup = async () => {
      if (handle) await handle.close().catch(() => {});
      if (!this.renamed) await rm(this.tempPath, { force: true }).catch(() => {});
    };
    cleanup().then(() => callback(err));
  }
}

/** A Writable of bytes that lands at `path` atomically when it finishes. */
export function createFileSink(path: string): FileSink {
  return new FileSinkStream(path);
}
