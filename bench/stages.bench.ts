/**
 * Each stage alone, as users get it (its factory from src/stages/, driven
 * through stream/promises.pipeline from an array source into a counting
 * sink), beside its ceiling on the same data in the same process:
 *
 *   serializer    vs JSON.stringify of the same line as a plain JSON tree, '\n'-joined into 64 KiB Buffers
 *   parser        vs splitting the same NDJSON bytes on '\n' and JSON.parse of each line
 *   compressor    vs zstd-napi's one-shot compress of the same bytes (same level, checksum on)
 *   decompressor  vs zstd-napi's binding decompressing the same bytes in one loop into one reused buffer
 *                 (its one-shot decompress is slower on our frames: they carry no content size)
 *   batcher       vs its pure core (mutationBytes + BatchAccumulator in a loop, no stream)
 *
 * Slices of each side alternate in short pairs and the ratio is the median
 * of per-pair ratios, so load from other processes hits both sides alike.
 * MB/s always counts NDJSON (uncompressed line) bytes, so stages compare.
 *
 *   node dist/bench/stages.bench.js [--quick]
 */
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import { compress } from 'zstd-napi';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { encodeEntity } from '../src/format/entity-codec.js';
import { BatchAccumulator, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS, mutationBytes } from '../src/format/batching.js';
import type { IEntity } from '../src/model/proto.js';
import { createSerializer } from '../src/stages/serializer.js';
import { createParser } from '../src/stages/parser.js';
import { createCompressor } from '../src/stages/compressor.js';
import { createDecompressor } from '../src/stages/decompressor.js';
import { createBatcher } from '../src/stages/batcher.js';
import { makeEntities, type Shape } from './lib/entities.js';
import { emitReport, isQuick, progress, type BenchRow } from './lib/report.js';
import { median } from './lib/stats.js';

// the native binding is CommonJS without named ESM exports
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;
const quick = isQuick();
const PAIRS = quick ? 3 : 11;
const MIN_MS = quick ? 20 : 70;
const CHUNK = 64 * 1024;
const LEVEL = 3;
const ZSTD_BYTES = (quick ? 2 : 8) * 1024 * 1024;

interface Workload {
  shape: Shape;
  entities: IEntity[];
  trees: unknown[];
  /** The NDJSON file as a reader would hand it over: 64 KiB chunks. */
  chunks: Buffer[];
  ndjson: Buffer;
  /**
   * The zstd rows work on ~ZSTD_BYTES of NDJSON (more entities of the same
   * shape): a dump file is one long stream, and a short one would mostly time
   * setting up a context. Not the same lines repeated: zstd would find them.
   */
  zstdInput: Buffer;
  zstdChunks: Buffer[];
  compressed: Buffer;
  compressedChunks: Buffer[];
}

function slices(buffer: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += CHUNK) out.push(buffer.subarray(i, i + CHUNK));
  return out;
}

async function workload(shape: Shape, count: number): Promise<Workload> {
  const entities = makeEntities(shape, count);
  const lines = entities.map((e) => encodeEntity(e));
  const trees = lines.map((l) => JSON.parse(l) as unknown);
  const ndjson = Buffer.from(lines.join('\n') + '\n', 'utf8');
  const chunks = slices(ndjson);
  const more = Math.max(0, Math.ceil(((ZSTD_BYTES - ndjson.length) / ndjson.length) * count));
  const extra = makeEntities(shape, more, { first: count }).map((e) => encodeEntity(e) + '\n').join('');
  const zstdInput = Buffer.concat([ndjson, Buffer.from(extra, 'utf8')]);
  const zstdChunks = slices(zstdInput);
  // The decompressor reads what our compressor writes: one streaming frame.
  const parts: Buffer[] = [];
  await pipeline(Readable.from(zstdChunks, { objectMode: false }), createCompressor({ level: LEVEL }), collect(parts));
  const compressed = Buffer.concat(parts);
  return { shape, entities, trees, chunks, ndjson, zstdInput, zstdChunks, compressed, compressedChunks: slices(compressed) };
}

function collect(into: Buffer[]): Writable {
  return new Writable({ write(chunk: Buffer, _e, cb) { into.push(chunk); cb(); } });
}

let checksum = 0;
/** A sink that only counts, in bytes or objects. */
function counter(objectMode: boolean): Writable {
  return new Writable({
    objectMode,
    highWaterMark: objectMode ? 256 : 64 * 1024,
    write(chunk: { length?: number }, _e, cb) {
      checksum += chunk.length ?? 1;
      cb();
    },
  });
}

async function through(source: unknown[], objectMode: boolean, stage: Transform, outObjects: boolean): Promise<void> {
  await pipeline(Readable.from(source, { objectMode }), stage, counter(outObjects));
}

/** Workload passes per second of `fn`, repeated for at least MIN_MS. */
async function rate(fn: () => unknown): Promise<number> {
  let done = 0;
  const start = process.hrtime.bigint();
  let ms = 0;
  while (ms < MIN_MS) {
    await fn();
    done++;
    ms = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (done * 1000) / ms;
}

interface Pairing {
  stage: string;
  mine: () => unknown;
  ceiling: () => unknown;
  ceilingName: string;
  /** How many times the workload one pass covers (the zstd rows repeat it). */
  scale?: number;
}

function pairings(w: Workload): Pairing[] {
  return [
    {
      stage: 'serializer',
      mine: () => through(w.entities, true, createSerializer(), false),
      ceilingName: 'JSON.stringify',
      ceiling: () => {
        let pending = '';
        for (const t of w.trees) {
          pending += JSON.stringify(t) + '\n';
          if (pending.length >= CHUNK) {
            checksum += Buffer.from(pending, 'utf8').length;
            pending = '';
          }
        }
        checksum += Buffer.from(pending, 'utf8').length;
      },
    },
    {
      stage: 'parser',
      mine: () => through(w.chunks, false, createParser(), true),
      ceilingName: 'JSON.parse',
      ceiling: () => {
        const b = w.ndjson;
        let start = 0;
        for (let nl = b.indexOf(10); nl !== -1; nl = b.indexOf(10, start)) {
          checksum += JSON.parse(b.toString('utf8', start, nl)) === null ? 1 : 0;
          start = nl + 1;
        }
      },
    },
    {
      stage: 'compressor',
      mine: () => through(w.zstdChunks, false, createCompressor({ level: LEVEL }), false),
      scale: w.zstdInput.length / w.ndjson.length,
      ceilingName: 'zstd-napi compress',
      ceiling: () => {
        checksum += compress(w.zstdInput, { compressionLevel: LEVEL, checksumFlag: true }).length;
      },
    },
    {
      stage: 'decompressor',
      mine: () => through(w.compressedChunks, false, createDecompressor(), false),
      scale: w.zstdInput.length / w.ndjson.length,
      ceilingName: 'zstd-napi binding loop',
      ceiling: () => {
        const dctx = new zstd.DCtx();
        const out = Buffer.allocUnsafe(zstd.dStreamOutSize());
        let src = w.compressed;
        for (;;) {
          const [remaining, produced, consumed] = dctx.decompressStream(out, src);
          checksum += produced;
          src = src.subarray(consumed);
          if (src.length === 0 && (produced < out.length || remaining === 0)) break;
        }
      },
    },
    {
      stage: 'batcher',
      mine: () => through(w.entities, true, createBatcher(), true),
      ceilingName: 'pure BatchAccumulator',
      ceiling: () => {
        const acc = new BatchAccumulator({ maxBytes: DEFAULT_MAX_BATCH_BYTES, maxOps: DEFAULT_MAX_BATCH_OPS });
        for (const entity of w.entities) {
          const op = { op: 'upsert' as const, entity };
          const batch = acc.add(op, mutationBytes(op));
          if (batch) checksum += batch.length;
        }
        checksum += acc.take()?.length ?? 0;
      },
    },
  ];
}

async function measure(w: Workload, p: Pairing): Promise<BenchRow> {
  await p.mine(); // warm both, and check the stage runs at all before timing it
  await p.ceiling();
  const mine: number[] = [];
  const ceiling: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < PAIRS; r++) {
    let a: number;
    let c: number;
    if (r % 2 === 0) {
      a = await rate(p.mine);
      c = await rate(p.ceiling);
    } else {
      c = await rate(p.ceiling);
      a = await rate(p.mine);
    }
    mine.push(a);
    ceiling.push(c);
    ratios.push(a / c);
  }
  const n = w.entities.length * (p.scale ?? 1);
  const mb = (w.ndjson.length * (p.scale ?? 1)) / 1e6;
  const m = median(mine);
  const c = median(ceiling);
  return {
    name: `${p.stage} ${w.shape}`,
    entitiesPerSec: Math.round(m * n),
    mbPerSec: +(m * mb).toFixed(1),
    ceilingEntitiesPerSec: Math.round(c * n),
    ceilingMbPerSec: +(c * mb).toFixed(1),
    ratio: +median(ratios).toFixed(3),
    bytesPerEntity: Math.round(w.ndjson.length / w.entities.length),
    ceiling: p.ceilingName,
  };
}

async function main(): Promise<void> {
  const plan: Array<[Shape, number]> = [
    ['small', quick ? 2000 : 10_000],
    ['medium', quick ? 300 : 2000],
    ['large', quick ? 4 : 20],
  ];
  const rows: BenchRow[] = [];
  let compression = '';
  for (const [shape, count] of plan) {
    const w = await workload(shape, count);
    compression += ` ${shape} ${(w.zstdInput.length / w.compressed.length).toFixed(1)}x`;
    progress(`stages: ${shape}, ${count} entities of ~${Math.round(w.ndjson.length / count)} B (${(w.ndjson.length / 1e6).toFixed(1)} MB NDJSON), ${PAIRS} pairs`);
    for (const p of pairings(w)) {
      const row = await measure(w, p);
      rows.push(row);
      progress(`  ${row.name}: ${row.entitiesPerSec} entities/s, ${row.mbPerSec} MB/s; ${p.ceilingName} ${row.ceilingMbPerSec} MB/s; ratio ${row.ratio}`);
    }
  }
  // Printed so no engine can prove the measured work unused and drop it.
  progress(`stages: checksum ${checksum}`);
  emitReport({
    scenario: 'stages',
    rows,
    notes: [
      'each stage through pipeline(Readable.from(array), stage, counting sink) vs its ceiling on the same data; ratio = median of per-pair ratios',
      `MB/s counts NDJSON bytes on every row; zstd rows on ${ZSTD_BYTES / 2 ** 20} MiB of NDJSON per pass, level ${LEVEL}, compressed${compression}`,
      `${PAIRS} interleaved pairs of >= ${MIN_MS} ms slices`,
    ],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
