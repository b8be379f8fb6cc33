/**
 * `convert`: between Datastore's managed export format and dspipe's dump.
 *
 *   export → dump   exportReader → (per kind) serializer → compressor → fileSink, manifest last
 *   dump → export   fileSource → decompressor → parser → pointerSink (per kind, `concurrency` at once)
 *
 * Both verify before they write: an export is read once in full first (every
 * file the metadata names, every CRC and record, each pointer's count) and
 * its (namespace, kind) list taken from what it holds; a dump's kind files
 * are checked against the manifest's sizes, sha256 and counts as they are
 * read, and the export is written into a temporary folder renamed only when
 * complete. The dump folder written from an export is locked like a dump's.
 *
 * dump → export warns (event `lossy`, with the key and property) about what
 * the export format cannot keep exactly; `strict` refuses such entities.
 */
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DspipeError } from '../errors.js';
import { formatKey } from '../model/key-text.js';
import { compareUtf8 } from '../model/key-order.js';
import type { IEntity } from '../model/proto.js';
import type { LossyCorner } from '../format/export/index.js';
import { assignFilePaths } from '../format/file-names.js';
import { FORMAT_NAME, FORMAT_VERSION, type DumpManifest, type ManifestKind } from '../format/manifest.js';
import { normalizeConvertOptions, type ConvertOptions, type ConvertOptionsInput } from '../options/convert.js';
import { createCompressor } from '../stages/compressor.js';
import { loadZstd } from '../format/zstd.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createExportReader, findExport, openExport, type OpenedExport } from '../stages/export-source.js';
import { ExportFolderWriter } from '../stages/export-sink.js';
import { createFileSink, type FileSink } from '../stages/file-sink.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { createParser } from '../stages/parser.js';
import { createSerializer, type Serializer } from '../stages/serializer.js';
import { DumpFolder, dspipeVersion } from './dump-folder.js';
import { lockDumpFolder } from './dump-lock.js';
import { runKinds } from './kind-scheduler.js';
import { withCommandContext, type CommandContext, type KindEvents, type ResolvedContext } from './context.js';

export type ConvertDirection = 'export-to-dump' | 'dump-to-export';

export type ConvertEvent =
  | { type: 'start'; from: string; to: string; direction: ConvertDirection }
  | KindEvents<{ entities: number }>
  /** An entity the export keeps only approximately (dump → export), written all the same unless `strict`. */
  | { type: 'lossy'; namespace: string; kind: string; key: string; path: string; reason: LossyCorner['reason']; message: string };

/** convert reads and writes only files: its context has no connection. */
export type ConvertContext = Pick<CommandContext<ConvertEvent>, 'signal' | 'onEvent'>;

export interface ConvertResult {
  direction: ConvertDirection;
  from: string;
  /** The folder written (for an export, it holds NAME.overall_export_metadata). */
  to: string;
  kinds: Array<{ namespace: string; kind: string; entities: number }>;
  entities: number;
  /** Entities reported in `lossy` events. */
  lossy: number;
  seconds: number;
}

type Ctx = ResolvedContext<ConvertEvent>;

async function refuseExisting(dir: string): Promise<void> {
  if (await stat(dir).then(() => true, () => false)) {
    throw new DspipeError('DSPIPE_DUMP_EXISTS', `${dir} exists already`, { file: dir, hint: 'pick another -n NAME or --out folder' });
  }
}

const refKey = (namespace: string, kind: string) => JSON.stringify([namespace, kind]);
const kindOf = (e: IEntity) => e.key?.path?.at(-1)?.kind ?? '';
const namespaceOf = (e: IEntity) => e.key?.partitionId?.namespaceId ?? '';

/** Pass 1 over an export: every record read; the (namespace, kind) counts and the project of the keys. */
async function surveyExport(ctx: Ctx, opened: OpenedExport): Promise<{ counts: Map<string, { namespace: string; kind: string; entities: number }>; projectId: string; databaseId: string }> {
  const counts = new Map<string, { namespace: string; kind: string; entities: number }>();
  let projectId = '';
  let databaseId = '';
  for (const part of opened.parts) {
    const reader = createExportReader(part.files);
    await pipeline(
      reader,
      new Writable({
        objectMode: true,
        write(entity: IEntity, _enc, cb) {
          const namespace = namespaceOf(entity);
          const kind = kindOf(entity);
          const k = refKey(namespace, kind);
          const c = counts.get(k) ?? { namespace, kind, entities: 0 };
          c.entities++;
          counts.set(k, c);
          projectId ||= entity.key?.partitionId?.projectId ?? '';
          databaseId ||= entity.key?.partitionId?.databaseId ?? '';
          cb();
        },
      }),
      { signal: ctx.signal },
    );
    if (part.pointer.entities !== undefined && reader.entities !== part.pointer.entities) {
      throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the output files hold ${reader.entities} entities, the export metadata says ${part.pointer.entities}`, {
        file: part.metadataFile,
        hint: 'an output file is missing or was cut short: copy the export again (gcloud storage cp -r) or make a new one',
      });
    }
  }
  return { counts, projectId, databaseId };
}

interface KindOut {
  input: PassThrough;
  serializer: Serializer;
  sink: FileSink;
  done: Promise<void>;
}

async function exportToDump(ctx: Ctx, o: ConvertOptions, overallFile: string, started: number): Promise<ConvertResult> {
  const opened = await openExport(overallFile);
  await refuseExisting(o.dir);
  ctx.emit({ type: 'start', from: o.from, to: o.dir, direction: 'export-to-dump' });
  const survey = await surveyExport(ctx, opened);
  const refs = [...survey.counts.values()].sort((a, b) => compareUtf8(a.namespace, b.namespace) || compareUtf8(a.kind, b.kind));
  const files = assignFilePaths(refs, o.compression);
  const fileOf = new Map(refs.map((r, i) => [refKey(r.namespace, r.kind), files[i]!]));
  await mkdir(o.dir, { recursive: true });
  const lock = await lockDumpFolder(o.dir, 'convert');
  try {
    const outs = new Map<string, KindOut>();
    const open = (namespace: string, kind: string): KindOut => {
      const k = refKey(namespace, kind);
      let out = outs.get(k);
      if (out === undefined) {
        const input = new PassThrough({ objectMode: true, highWaterMark: 64 });
        const serializer = createSerializer();
        const sink = createFileSink(join(o.dir, ...fileOf.get(k)!.split('/')));
        ctx.emit({ type: 'kind-start', namespace, kind });
        const done = pipeline(input, serializer, createCompressor({ compression: o.compression }), sink, { signal: ctx.signal });
        // A kind file that fails stops the reading (its input would never drain).
        done.catch((err: Error) => router.destroy(err));
        out = { input, serializer, sink, done };
        outs.set(k, out);
      }
      return out;
    };
    // eslint-disable-next-line prefer-const
    let router: Writable;
    router = new Writable({
      objectMode: true,
      write(entity: IEntity, _enc, cb) {
        const out = open(namespaceOf(entity), kindOf(entity));
        if (out.input.write(entity)) cb();
        else out.input.once('drain', () => cb());
      },
    });
    for (const part of opened.parts) await pipeline(createExportReader(part.files), router, { end: false, signal: ctx.signal });
    for (const out of outs.values()) out.input.end();
    await Promise.all([...outs.values()].map((out) => out.done));
    const kinds: ManifestKind[] = refs.map((r) => {
      const out = outs.get(refKey(r.namespace, r.kind))!;
      if (out.serializer.entities !== r.entities) {
        throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the export changed while it was converted (${r.entities} entities, then ${out.serializer.entities})`, { file: overallFile, namespace: r.namespace, kind: r.kind });
      }
      ctx.emit({ type: 'kind-done', namespace: r.namespace, kind: r.kind, entities: r.entities });
      return { namespace: r.namespace, kind: r.kind, file: fileOf.get(refKey(r.namespace, r.kind))!, entities: r.entities, rawBytes: out.serializer.rawBytes, bytes: out.sink.bytes, sha256: out.sink.sha256, complete: true };
    });
    const now = new Date().toISOString();
    const manifest: DumpManifest = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      dspipeVersion: await dspipeVersion(),
      source: { projectId: survey.projectId, databaseId: survey.databaseId },
      readTime: null,
      snapshot: false,
      snapshotReason: `converted from the managed export ${opened.name} (${overallFile}), whose read time is not recorded in its files`,
      startedAt: new Date(started).toISOString(),
      finishedAt: now,
      complete: true,
      compression: o.compression,
      kinds,
    };
    // The manifest last: a folder without one is an unfinished dump, which restore refuses.
    await new DumpFolder(o.dir).writeManifest(manifest);
    return result('export-to-dump', o, refs, 0, started);
  } finally {
    await lock.release();
  }
}

async function dumpToExport(ctx: Ctx, o: ConvertOptions, started: number): Promise<ConvertResult> {
  const dump = await openDump(o.from);
  await refuseExisting(o.dir);
  ctx.emit({ type: 'start', from: o.from, to: o.dir, direction: 'dump-to-export' });
  const temp = join(dirname(o.dir), `.${basename(o.dir)}.dspipe-${process.pid}.tmp`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  const writer = new ExportFolderWriter(temp, basename(o.dir));
  const lossy = new Set<IEntity>();
  let lossyCount = 0;
  const counted: Array<{ namespace: string; kind: string; entities: number }> = [];
  try {
    await runKinds(dump.kinds, { concurrency: o.concurrency, signal: ctx.signal }, async (entry, signal) => {
      const { namespace, kind } = entry;
      const label = join(dump.dir, ...entry.file.split('/'));
      const onLossy = (entity: IEntity, corner: LossyCorner) => {
        const key = formatKey(entity.key);
        if (o.strict) {
          throw new DspipeError('DSPIPE_REJECTED_ENTITY', `the managed export cannot keep this value exactly: ${corner.message}`, {
            namespace, kind, key, path: corner.path,
            hint: 'leave out --strict to write it all the same (the loss is as described), or change the entity first',
          });
        }
        if (!lossy.has(entity)) {
          lossy.add(entity);
          lossyCount++;
        }
        ctx.emit({ type: 'lossy', namespace, kind, key, path: corner.path, reason: corner.reason, message: corner.message });
      };
      const parser = createParser({ file: label });
      const sink = writer.pointer(namespace, kind, { onLossy, project: dump.manifest.source.projectId });
      ctx.emit({ type: 'kind-start', namespace, kind });
      await pipeline(createFileSource(dump.dir, entry), createDecompressor({ file: label, maxBytes: entry.rawBytes }), parser, sink, { signal });
      lossy.clear();
      if (parser.entities !== entry.entities) {
        throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the file holds ${parser.entities} entities, the manifest says ${entry.entities}`, { file: label, namespace, kind, hint: 'dump again, or convert another dump' });
      }
      counted.push({ namespace, kind, entities: parser.entities });
      ctx.emit({ type: 'kind-done', namespace, kind, entities: parser.entities });
    });
    await writer.finish();
    await rename(temp, o.dir);
  } catch (err) {
    // Other kinds may still be closing their files: rm retries ENOTEMPTY.
    await rm(temp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    throw err;
  }
  return result('dump-to-export', o, counted, lossyCount, started);
}

function result(direction: ConvertDirection, o: ConvertOptions, kinds: Array<{ namespace: string; kind: string; entities: number }>, lossy: number, started: number): ConvertResult {
  return {
    direction,
    from: o.from,
    to: o.dir,
    kinds: kinds.map(({ namespace, kind, entities }) => ({ namespace, kind, entities })),
    entities: kinds.reduce((n, k) => n + k.entities, 0),
    lossy,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Converts a managed export to a dspipe dump folder, or a dspipe dump folder to a managed export. */
export async function convert(options: ConvertOptionsInput, context: ConvertContext = {}): Promise<ConvertResult> {
  const started = Date.now();
  const o = normalizeConvertOptions(options);
  return withCommandContext(context, async (ctx) => {
    const overall = await findExport(o.from);
    if (overall !== undefined && o.compression === 'zstd') await loadZstd(); // before the dump folder is made
    return overall !== undefined ? exportToDump(ctx, o, overall, started) : dumpToExport(ctx, o, started);
  });
}
