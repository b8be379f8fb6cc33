/**
 * `cat`: dump files (or whole dump folders) decoded to NDJSON on a stream —
 * `.ndjson.zst` decompressed, `.ndjson` passed through — one after the other.
 * A folder is read through its manifest, kind files in manifest order, each
 * checked against its recorded size and sha256.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DspipeError } from '../errors.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { normalizeCatPaths } from '../options/cat.js';

export interface CatResult {
  files: number;
  bytes: number;
}

export async function cat(paths: readonly string[], output: Writable, options: { signal?: AbortSignal } = {}): Promise<CatResult> {
  const result: CatResult = { files: 0, bytes: 0 };
  for (const path of normalizeCatPaths(paths)) {
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new DspipeError(err.code === 'ENOENT' ? 'DSPIPE_NOT_FOUND' : 'DSPIPE_IO', `cannot read: ${err.message}`, { file: path, cause: err });
    });
    const sources = info.isDirectory()
      ? (await openDump(path)).kinds.map((entry) => ({ label: `${path}/${entry.file}`, open: () => createFileSource(path, entry) }))
      : [{ label: path, open: () => createReadStream(path) }];
    for (const source of sources) {
      const decompressor = createDecompressor({ file: source.label });
      await pipeline(source.open(), decompressor, output, { end: false, ...(options.signal && { signal: options.signal }) });
      result.files++;
      result.bytes += decompressor.bytesOut;
    }
  }
  return result;
}
