/**
 * The zstd of kind files, from whichever implementation this runtime has:
 *
 *   node:zlib   Node's built-in zstd (22.15 / 23.8 and later): nothing to build.
 *   zstd-napi   the optional native addon, for Node 20; it needs its install
 *               script (a native build), which `--ignore-scripts`, pnpm's
 *               default and npm's allowScripts may have skipped.
 *
 * Both write standard zstd frames (level as asked, content checksum on), so a
 * dump written with one reads with the other. Neither is loaded until a zstd
 * stream is asked for: `--compress none` and plain NDJSON never need one.
 * DSPIPE_ZSTD=node:zlib|zstd-napi picks one (benchmarks, tests).
 */
import * as zlib from 'node:zlib';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { DspipeError } from '../errors.js';
import { OutputSlab } from './output-slab.js';
import { ZstdFrameScanner } from './zstd-frames.js';

export type ZstdImplementation = 'node:zlib' | 'zstd-napi';
export type Emit = (bytes: Buffer) => void;

/**
 * One zstd stream. Output goes to `emit` (slices that are never written again);
 * a call returns once its input is consumed — at once (zstd-napi) or through a
 * promise (node:zlib, which works on the thread pool).
 */
export interface ZstdStream {
  write(src: Buffer, emit: Emit): void | Promise<void>;
  /** No more input: finish the frame (compress), or check the input did not stop inside one (decompress). */
  end(emit: Emit): void | Promise<void>;
  /** Frees the stream; safe after end and more than once. */
  close(): void;
}

export interface Zstd {
  readonly implementation: ZstdImplementation;
  /** Level 1..22; the frame carries a content checksum. */
  compressor(level: number): ZstdStream;
  decompressor(): ZstdStream;
}

/** Thrown by a decompressor whose input ends inside a frame. */
export class ZstdTruncatedError extends Error {
  constructor() {
    super('ends in the middle of a zstd frame (the file is truncated)');
  }
}

// Node 20's types do not know zlib's zstd yet.
interface ZlibZstd {
  createZstdCompress?: (options: { params: Record<number, number>; chunkSize?: number }) => zlib.Gzip;
  createZstdDecompress?: (options?: { chunkSize?: number }) => zlib.Gunzip;
  constants: Record<string, number>;
}
const z = zlib as unknown as ZlibZstd;

/** Whether this Node has zstd built in (no native addon needed). */
export function hasBuiltinZstd(): boolean {
  return typeof z.createZstdCompress === 'function' && typeof z.createZstdDecompress === 'function';
}

let loaded: Promise<Zstd> | undefined;

/** The zstd to use, loaded on first call; refuses in one line naming the fix when there is none. */
export function loadZstd(env: NodeJS.ProcessEnv = process.env): Promise<Zstd> {
  return (loaded ??= pick(env.DSPIPE_ZSTD));
}

async function pick(forced: string | undefined): Promise<Zstd> {
  if (forced !== undefined && forced !== '' && forced !== 'node:zlib' && forced !== 'zstd-napi') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `DSPIPE_ZSTD=${forced} is not a zstd implementation; use node:zlib or zstd-napi (or unset it)`);
  }
  if (forced !== 'zstd-napi' && hasBuiltinZstd()) return NODE_ZSTD;
  if (forced === 'node:zlib') throw unavailable('has no built-in zstd (22.15 and later do)');
  try {
    // Only here, and only when needed: the addon's binding is CommonJS and fails to load without its build.
    const binding = ((await import('zstd-napi/binding.js')) as unknown as { default: typeof ZstdBinding }).default;
    return napiZstd(binding);
  } catch (err) {
    const why = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' ? 'zstd-napi is not installed' : "zstd-napi's native addon is not built (its install script did not run)";
    throw unavailable(hasBuiltinZstd() ? `was told DSPIPE_ZSTD=zstd-napi, but ${why}` : `has no built-in zstd and ${why}`, err);
  }
}

function unavailable(what: string, cause?: unknown): DspipeError {
  // One line, the fix included: this is what a fresh `npm i --ignore-scripts` on Node 20 meets first.
  return new DspipeError(
    'DSPIPE_NO_ZSTD',
    `no zstd here: Node ${process.version} ${what}; run \`npm rebuild zstd-napi\` (or \`npm install-scripts approve zstd-napi\`), use Node 22.15 or later, or pass --compress none`,
    cause === undefined ? {} : { cause },
  );
}

// -- node:zlib --

const NODE_ZSTD: Zstd = {
  implementation: 'node:zlib',
  compressor: (level) => {
    const c = z.constants;
    return new ZlibStream(() => z.createZstdCompress!({ params: { [c.ZSTD_c_compressionLevel!]: level, [c.ZSTD_c_checksumFlag!]: 1 }, chunkSize: 128 * 1024 }), undefined);
  },
  decompressor: () => new ZlibStream(() => z.createZstdDecompress!({ chunkSize: 128 * 1024 }), new ZstdFrameScanner()),
};

/**
 * A zlib zstd Transform driven one write at a time. Decompressing, the input
 * is cut at frame boundaries and each frame gets a zlib stream of its own
 * (zstd-frames.ts says why).
 */
class ZlibStream implements ZstdStream {
  private inner: zlib.Gzip | zlib.Gunzip | undefined;
  private emit: Emit = () => {};

  constructor(
    private readonly open: () => zlib.Gzip | zlib.Gunzip,
    private readonly frames: ZstdFrameScanner | undefined,
  ) {}

  async write(src: Buffer, emit: Emit): Promise<void> {
    this.emit = emit;
    if (this.frames === undefined) return this.feed(src);
    for (const piece of this.frames.scan(src)) {
      if (piece.skip) continue;
      if (piece.bytes.length > 0) await this.feed(piece.bytes);
      if (piece.ends) await this.finish();
    }
  }

  async end(emit: Emit): Promise<void> {
    this.emit = emit;
    if (this.frames?.inFrame) throw new ZstdTruncatedError();
    if (this.frames === undefined) {
      // a compressor always ends its one frame, even with no input at all
      this.stream();
      await this.finish();
    }
  }

  close(): void {
    this.inner?.destroy();
    this.inner = undefined;
  }

  private stream(): zlib.Gzip | zlib.Gunzip {
    if (this.inner === undefined) {
      this.inner = this.open();
      const inner = this.inner;
      inner.on('data', (b: Buffer) => {
        // what `emit` throws (a size limit) fails the write, not the process
        try {
          this.emit(b);
        } catch (err) {
          inner.destroy(err as Error);
        }
      });
    }
    return this.inner;
  }

  private feed(bytes: Buffer): Promise<void> {
    const inner = this.stream();
    return settle(inner, (done) => inner.write(bytes, (err) => done(err)));
  }

  private async finish(): Promise<void> {
    const inner = this.inner;
    if (inner === undefined) return;
    await settle(inner, (done) => {
      inner.once('end', () => done());
      inner.end();
    });
    this.inner = undefined;
  }
}

/** Runs `start` and resolves when it calls back, or rejects on the stream's error. */
function settle(inner: NodeJS.EventEmitter, start: (done: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err?: Error | null) => {
      if (settled) return;
      settled = true;
      inner.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    inner.on('error', done);
    start(done);
  });
}

// -- zstd-napi --

/**
 * Driven through the binding rather than zstd-napi's streams: those allocate a
 * fresh 128 KiB output Buffer for every block they emit (~30 KiB used at our
 * ratios) and a fresh context per stream; those allocations and their GC were
 * most of the gap to one-shot zstd (bench/stages). Here blocks are written one
 * after another into a shared 1 MiB buffer and emitted as slices, and contexts
 * of finished streams are reused: a context holds a few MB of external memory,
 * so a fresh one per file costs page faults and a full GC every few files.
 */
const OUT_BUFFER = 1024 * 1024;
/** Idle contexts kept: two cover a dump's files written one after another per writer. */
const MAX_IDLE = 2;
const NOTHING = Buffer.alloc(0);

function napiZstd(zstd: typeof ZstdBinding): Zstd {
  const idleC: ZstdBinding.CCtx[] = [];
  const idleD: ZstdBinding.DCtx[] = [];
  const cOut = zstd.cStreamOutSize();
  const dOut = zstd.dStreamOutSize();
  const giveBack = <T extends { reset(d: ZstdBinding.ResetDirective): void }>(idle: T[], ctx: T | undefined) => {
    if (ctx === undefined || idle.length >= MAX_IDLE) return;
    // drops any unfinished frame and the parameters: the next user starts clean
    ctx.reset(zstd.ResetDirective.sessionAndParameters);
    idle.push(ctx);
  };

  return {
    implementation: 'zstd-napi',
    compressor(level) {
      if (typeof level !== 'number') throw new TypeError('Invalid type for parameter: compressionLevel');
      let cctx: ZstdBinding.CCtx | undefined = idleC.pop() ?? new zstd.CCtx();
      cctx.setParameter(zstd.CParameter.compressionLevel, level);
      // The content checksum lets `zstd -t` and our reader detect a damaged file.
      cctx.setParameter(zstd.CParameter.checksumFlag, 1);
      const out = new OutputSlab(OUT_BUFFER, cOut);
      const run = (src: Buffer, end: ZstdBinding.EndDirective, emit: Emit) => {
        if (cctx === undefined) throw new Error('the compressor was already finished or closed');
        for (;;) {
          const [remaining, produced, consumed] = cctx.compressStream2(out.room(), src, end);
          if (produced > 0) emit(out.take(produced));
          src = src.subarray(consumed);
          if (src.length === 0 && (end === zstd.EndDirective.continue || remaining === 0)) return;
        }
      };
      const close = () => {
        giveBack(idleC, cctx);
        cctx = undefined;
        out.release();
      };
      return {
        write: (src, emit) => run(src, zstd.EndDirective.continue, emit),
        end: (emit) => {
          run(NOTHING, zstd.EndDirective.end, emit);
          close();
        },
        close,
      };
    },
    decompressor() {
      let dctx: ZstdBinding.DCtx | undefined = idleD.pop() ?? new zstd.DCtx();
      let inFrame = false;
      const out = new OutputSlab(OUT_BUFFER, dOut);
      const close = () => {
        giveBack(idleD, dctx);
        dctx = undefined;
        out.release();
      };
      return {
        write(src, emit) {
          if (dctx === undefined) throw new Error('the decompressor was already finished or closed');
          if (src.length === 0) return;
          for (;;) {
            const room = out.room();
            const [remaining, produced, consumed] = dctx.decompressStream(room, src);
            if (produced > 0) emit(out.take(produced));
            src = src.subarray(consumed);
            inFrame = remaining !== 0;
            // a full output buffer may hold back more output of the same input
            if (src.length === 0 && (produced < room.length || remaining === 0)) return;
          }
        },
        end() {
          if (inFrame) throw new ZstdTruncatedError();
          close();
        },
        close,
      };
    },
  };
}

/** Decompresses a whole byte stream (the emulator's --import of zstd kind files). */
export async function* zstdDecompressed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const d = (await loadZstd()).decompressor();
  try {
    const out: Buffer[] = [];
    const emit = (b: Buffer) => out.push(b);
    for await (const chunk of source) {
      await d.write(chunk, emit);
      yield* out.splice(0);
    }
    await d.end(emit);
    yield* out.splice(0);
  } finally {
    d.close();
  }
}
