/**
 * `cat`: dump files (or whole dump folders) decoded to NDJSON on a stream —
 * `.ndjson.zst` decompressed, `.ndjson` passed through — one after the other.
 * A folder is read through its manifest, kind files in manifest order, each
 * checked against its recorded size and sha256. A managed export (its folder
 * or its `.overall_export_metadata`) is decoded to the same lines, output
 * files in the order its metadata lists them, every CRC checked.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DspipeError } from '../errors.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { createExportReader, findExport, openExport } from '../stages/export-source.js';
import { createSerializer } from '../stages/serializer.js';
import { normalizeCatPaths } from '../options/cat.js';

import { withCommandContext, type CommandContext } from './context.js';

export interface CatOptions {
  /** Kind files (`.ndjson.zst` or `.ndjson`), dump folders and managed exports, in the order to write them. */
  paths: readonly string[];
  /** Where the NDJSON goes (default process.stdout); it is not ended. */
  output?: Writable;
}

export type CatEvent = { type: 'file-done'; file: string; bytes: number };

/** cat reads only files: its context has no connection, client or retry. */
export type CatContext = Pick<CommandContext<CatEvent>, 'signal' | 'onEvent'>;

export interface CatResult {
  files: number;
  bytes: number;
}

/**
 * The files' NDJSON goes to `output` through one small Writable per file that
 * writes to it, waits for its 'drain', and never ends it. Giving `output`
 * itself to pipeline() once per file (`end: false`) left pipeline's listeners
 * on it each time, and past ten files Node printed a listener-leak warning on
 * stderr (`dspipe cat DIR` on a dump of 11 kinds). Here `output` carries
 * three listeners for the whole run, removed at the end.
 */
function forwarder(output: Writable): { into(): Writable; close(): void } {
  let failure: Error | undefined;
  let waiting: ((err?: Error) => void) | undefined;
  const wake = (err?: Error) => {
    const next = waiting;
    waiting = undefined;
    next?.(err);
  };
  const onError = (err: Error) => {
    failure ??= err;
    wake(err);
  };
  const onDrain = () => wake();
  const onClose = () => onError(Object.assign(new Error('the output was closed'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  output.on('error', onError).on('drain', onDrain).on('close', onClose);
  return {
    into: () =>
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (failure) return callback(failure);
          if (output.write(chunk)) return callback();
          waiting = callback;
        },
        final: (callback) => callback(failure ?? null),
      }),
    close: () => {
      output.off('error', onError).off('drain', onDrain).off('close', onClose);
    },
  };
}

export async function cat(options: CatOptions, context: CatContext = {}): Promise<CatResult> {
  const paths = normalizeCatPaths(options.paths);
  const out = forwarder(options.output ?? process.stdout);
  try {
    return await catInto(paths, out.into, context);
  } finally {
    out.close();
  }
}

async function catInto(paths: readonly string[], into: () => Writable, context: CatContext): Promise<CatResult> {
  return withCommandContext(context, async (ctx) => {
    const result: CatResult = { files: 0, bytes: 0 };
    for (const path of paths) {
      const overall = await findExport(path);
      if (overall !== undefined) {
        const opened = await openExport(overall);
        for (const part of opened.parts) {
          for (const file of part.files) {
            const serializer = createSerializer();
            await pipeline(createExportReader([file]), serializer, into(), { signal: ctx.signal });
            result.files++;
            result.bytes += serializer.rawBytes;
            ctx.emit({ type: 'file-done', file, bytes: serializer.rawBytes });
          }
        }
        continue;
      }
      const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
        throw new DspipeError(err.code === 'ENOENT' ? 'DSPIPE_NOT_FOUND' : 'DSPIPE_IO', `cannot read: ${err.message}`, { file: path, cause: err });
      });
      const sources = info.isDirectory()
        ? (await openDump(path)).kinds.map((entry) => ({ label: `${path}/${entry.file}`, open: () => createFileSource(path, entry), maxBytes: entry.rawBytes as number | undefined }))
        : [{ label: path, open: () => createReadStream(path), maxBytes: undefined }];
      for (const source of sources) {
        const decompressor = createDecompressor({ file: source.label, ...(source.maxBytes !== undefined && { maxBytes: source.maxBytes }) });
        await pipeline(source.open(), decompressor, into(), { signal: ctx.signal });
        result.files++;
        result.bytes += decompressor.bytesOut;
        ctx.emit({ type: 'file-done', file: source.label, bytes: decompressor.bytesOut });
      }
    }
    return result;
  });
}
