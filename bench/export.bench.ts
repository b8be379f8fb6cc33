/**
 * Managed export read and write beside dspipe's own dump format, in the same
 * run on the same entities (bench/lib/entities.ts shapes), through the real
 * stages and real files, interleaved so load hits both sides alike:
 *
 *   write dump    Readable.from(entities) → serializer → compressor (zstd 3) → fileSink
 *   write export  Readable.from(entities) → pointerSink (EntityProto records, LevelDB framing, output-N files)
 *   read dump     fileSource → decompressor → parser → count
 *   read export   exportReader (every CRC checked) → count
 *
 * MB/s counts each format's own file bytes; entities/s is the comparable
 * figure, and `vsDump` is export ÷ dump entities/s.
 *
 *   node dist/bench/export.bench.js [--quick]
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IEntity } from '../src/model/proto.js';
import { createSerializer } from '../src/stages/serializer.js';
import { createCompressor } from '../src/stages/compressor.js';
import { createDecompressor } from '../src/stages/decompressor.js';
import { createFileSink } from '../src/stages/file-sink.js';
import { createFileSource } from '../src/stages/file-source.js';
import { createParser } from '../src/stages/parser.js';
import { createExportReader } from '../src/stages/export-source.js';
import { PointerSink } from '../src/stages/export-sink.js';
import { makeEntities, type Shape } from './lib/entities.js';
import { emitReport, isQuick, progress, type BenchRow } from './lib/report.js';
import { median } from './lib/stats.js';

const quick = isQuick();
const ROUNDS = quick ? 2 : 5;
const COUNTS: Record<string, number> = quick ? { small: 20_000, medium: 4_000, large: 60 } : { small: 200_000, medium: 40_000, large: 600 };

const count = () =>
  new Writable({
    objectMode: true,
    highWaterMark: 256,
    write(_e, _enc, cb) {
      cb();
    },
  });

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function sizeOf(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dspipe-bench-export-'));
  const rows: BenchRow[] = [];
  try {
    for (const shape of ['small', 'medium', 'large'] as Shape[]) {
      const n = COUNTS[shape]!;
      const entities: IEntity[] = makeEntities(shape, n);
      const samples = { writeDump: [] as number[], writeExport: [] as number[], readDump: [] as number[], readExport: [] as number[] };
      let dumpBytes = 0;
      let exportBytes = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const dir = join(work, `${shape}-${r}`);
        const dumpFile = join(dir, 'kind.ndjson.zst');
        const exportDir = join(dir, 'export');
        const first = r % 2 === 0;
        const writeDump = async () => {
          const sink = createFileSink(dumpFile);
          samples.writeDump.push(await time(() => pipeline(Readable.from(entities), createSerializer(), createCompressor({ compression: 'zstd', level: 3 }), sink)));
          dumpBytes = sink.bytes;
        };
        const writeExport = async () => {
          const sink = new PointerSink(exportDir, {});
          samples.writeExport.push(await time(() => pipeline(Readable.from(entities), sink)));
          exportBytes = sink.bytes;
        };
        for (const step of first ? [writeDump, writeExport] : [writeExport, writeDump]) await step();
        const files = (await readdir(exportDir)).sort((a, b) => Number(a.slice(7)) - Number(b.slice(7))).map((f) => join(exportDir, f));
        if ((await sizeOf(exportDir)) !== exportBytes) throw new Error('export size mismatch');
        const entry = { namespace: '', kind: 'K', file: 'kind.ndjson.zst', entities: n, rawBytes: 0, bytes: dumpBytes, sha256: '', complete: true };
        const readDump = async () => {
          samples.readDump.push(await time(() => pipeline(createFileSource(dir, entry, { verify: false }), createDecompressor({ file: dumpFile }), createParser({ file: dumpFile }), count())));
        };
        const readExport = async () => {
          const reader = createExportReader(files);
          samples.readExport.push(await time(() => pipeline(reader, count())));
          if (reader.entities !== n) throw new Error(`read ${reader.entities} of ${n}`);
        };
        for (const step of first ? [readDump, readExport] : [readExport, readDump]) await step();
        await rm(dir, { recursive: true, force: true });
        progress(`export ${shape} round ${r + 1}/${ROUNDS}`);
      }
      const rate = (s: number[]) => n / median(s);
      const mb = (bytes: number, s: number[]) => bytes / 1e6 / median(s);
      rows.push(
        { name: `write ${shape}`, entities: n, dumpEntitiesPerSec: rate(samples.writeDump), exportEntitiesPerSec: rate(samples.writeExport), dumpMbPerSec: mb(dumpBytes, samples.writeDump), exportMbPerSec: mb(exportBytes, samples.writeExport), vsDump: rate(samples.writeExport) / rate(samples.writeDump), dumpMB: dumpBytes / 1e6, exportMB: exportBytes / 1e6 },
        { name: `read ${shape}`, entities: n, dumpEntitiesPerSec: rate(samples.readDump), exportEntitiesPerSec: rate(samples.readExport), dumpMbPerSec: mb(dumpBytes, samples.readDump), exportMbPerSec: mb(exportBytes, samples.readExport), vsDump: rate(samples.readExport) / rate(samples.readDump), dumpMB: dumpBytes / 1e6, exportMB: exportBytes / 1e6 },
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  emitReport({
    scenario: 'export',
    rows,
    notes: ['MB/s counts each format\'s own file bytes (zstd NDJSON vs uncompressed EntityProto records); compare entities/s (vsDump = export ÷ dump).'],
  });
}

await main();
