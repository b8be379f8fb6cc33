/**
 * dump: every selected kind of every namespace, as one consistent snapshot,
 * to `<root>/<name>/` (one file per kind, manifest.json, dump.log) or as one
 * NDJSON stream (`out: '-'`). The library API behind `dspipe dump`.
 *
 * Per kind: entityReader → serializer → compressor → fileSink, composed with
 * stream/promises.pipeline; kinds run under the kind scheduler (`concurrency`). The
 * manifest is rewritten atomically after every kind, so a killed dump can be
 * resumed: completed kinds are kept, the rest read again at the same read time.
 */
import { pipeline } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { convert, type ConvertEvent } from './convert.js';
import { lockDumpFolder } from './dump-lock.js';
import { dirname, join, resolve } from 'node:path';
import { DspipeError } from '../errors.js';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { RetryPolicy } from '../datastore/retry.js';
import type { ITimestamp } from '../model/proto.js';
import { countKind, reportedReadTime, rfc3339ToTimestamp, timestampToRfc3339, type ReadContext } from '../datastore/run-query.js';
import { DUMP_DEFAULTS, MAX_RANGES, normalizeDumpOptions, readTimeProblem, type DumpOptions, type NormalizedDumpOptions } from '../options/dump.js';
import { assignFilePaths } from '../format/file-names.js';
import { FORMAT_NAME, FORMAT_VERSION, type DumpManifest, type ManifestKind } from '../format/manifest.js';
import { loadKindOptions, type KindOptionsFile } from '../options/kind-options.js';
import { invalid, opt } from '../options/validate.js';
import { enumerateKinds, type KindRef } from '../stages/kind-enumerator.js';
import { createEntityReader, ReadAheadBudget, StreamPool } from '../stages/entity-reader.js';
import { createRawTransport } from '../datastore/raw-transport.js';
import { isLinesPage, wirePageFetcher } from '../datastore/raw-run-query.js';
import type { PageFetcher } from '../datastore/run-query.js';
import { createSerializer } from '../stages/serializer.js';
import { createCompressor } from '../stages/compressor.js';
import { loadZstd } from '../format/zstd.js';
import { createFileSink } from '../stages/file-sink.js';
import { DUMP_LOG_FILE, DumpFolder, dspipeVersion, prepareFolder, readExistingManifest } from './dump-folder.js';
import { runKinds } from './kind-scheduler.js';
import { describeRpcError, retryEvent, withCommandContext, type CommandContext, type KindEvents, type ResolvedContext, type RetryEvent, type WarningEvent } from './context.js';

/**
 * Bytes the key ranges not yet being written may hold, all kinds of a dump
 * together (each kind's current range reads a couple of pages ahead besides):
 * on the wire path ~100 pages of ~1 KB entities, enough for a kind's streams
 * ahead of its writer to keep reading (entity-reader.ts) while the memory of a
 * dump stays the same however many kinds and splits it reads at once. On the
 * object path an entity counts as OBJECT_ENTITY_BYTES (4,096 entities).
 */
export const READ_AHEAD_BYTES = 32 << 20;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export type DumpEvent =
  | { type: 'start'; name: string; dir: string | null; readTime: string | null; kinds: KindRef[]; resumed: number }
  | KindEvents<{ entities: number; rawBytes: number }, { total: number | undefined; splits: number }, { entities: number; rawBytes: number; bytes: number; seconds: number }>
  | RetryEvent
  | WarningEvent;

/** dump's own options; where to read from, signal, retry and onEvent come in the CommandContext. */
export interface DumpRunOptions extends DumpOptions {
  /** Where `out: '-'` writes (default process.stdout). */
  output?: Writable;
}

export type DumpContext = CommandContext<DumpEvent>;

export interface DumpKindSummary extends ManifestKind {
  /** Kept from an earlier run by --resume. */
  resumed: boolean;
  seconds: number;
  total?: number | undefined;
}

export interface DumpSummary {
  name: string;
  /** The dump folder, or null for `out: '-'`. */
  dir: string | null;
  readTime: string | null;
  /** Whether the dump is one consistent snapshot; when not, `snapshotReason` says why. */
  snapshot: boolean;
  snapshotReason?: string;
  compression: 'zstd' | 'none';
  /** The project and database read. */
  target: { projectId: string; databaseId: string };
  kinds: DumpKindSummary[];
  entities: number;
  rawBytes: number;
  bytes: number;
  retries: number;
  seconds: number;
}

class DumpRun {
  retries = 0;
  readonly readAhead = new ReadAheadBudget(READ_AHEAD_BYTES);
  /**
   * With --splits auto, the dump's RunQuery streams: concurrency × autoSplits
   * (16 by default) over the kinds being read, so a kind read alone (a dump
   * of one big kind, the last kind of a dump, every kind of `--out -`) gets
   * the streams the others would have used. Against a remote Datastore one
   * stream is bound by round trips, not by the client (issue 14: at 20 ms per
   * RPC one kind read with 4 streams kept neither the client nor the
   * emulator half busy).
   */
  readonly streams: StreamPool | undefined;
  /** Where manifest and log go; none for `out: '-'`. */
  readonly folder: DumpFolder | undefined;
  readonly client: DatastoreClient;
  readonly connection: Connection;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
  readonly emit: (event: DumpEvent) => void;

  constructor(
    readonly o: NormalizedDumpOptions,
    context: ResolvedContext<DumpEvent>,
    readonly readTime: ITimestamp | undefined,
    readonly kindOptions: KindOptionsFile,
  ) {
    this.folder = o.dir === null ? undefined : new DumpFolder(o.dir);
    ({ client: this.client, connection: this.connection, retry: this.retry, signal: this.signal } = context);
    this.emit = context.emit;
    this.streams = o.splits === 'auto' ? new StreamPool(o.concurrency * DUMP_DEFAULTS.autoSplits) : undefined;
    // The wire path (issue 14) when asked for and the client is one createClient made; else the object path.
    const raw = o.transport === 'wire' ? createRawTransport(this.client, this.connection) : undefined;
    this.fetchPage = raw && wirePageFetcher(raw, this.connection);
  }

  /** How the ranges' pages are read: RunQuery bytes straight to lines, or undefined for the object path. */
  readonly fetchPage: PageFetcher | undefined;

  get ctx(): ReadContext {
    return { readTime: this.readTime, retry: this.retry, signal: this.signal, onRetry: (err, attempt, delayMs) => this.onRetry(err, attempt, delayMs) };
  }

  onRetry(err: unknown, attempt: number, delayMs: number, ref?: KindRef): void {
    this.retries++;
    const event = retryEvent(err, attempt, delayMs, ref);
    this.log(`retry ${ref ? `${JSON.stringify(ref.namespace)}/${JSON.stringify(ref.kind)} ` : ''}after attempt ${attempt} in ${delayMs} ms: ${event.error}`);
    this.emit(event);
  }

  log(line: string): void {
    this.folder?.log(line);
  }

  /** Why this dump is not one consistent snapshot, when it is not. */
  snapshotReason: string | undefined;

  warn(message: string): void {
    this.log(`warning: ${message}`);
    this.emit({ type: 'warning', message });
  }

  /**
   * Streams (splits), key ranges and page size for one kind: options.json
   * first, then flags, then the auto rule. Ranges follow the count: about
   * rangeEntities each, never fewer than the streams.
   */
  plan(ref: KindRef, total: number | undefined): { splits: number; ranges: number; maxSplits: number; pageSize: number | undefined } {
    const override = this.kindOptions.dump[ref.kind] ?? {};
    let splits: number;
    if (override.splits !== undefined) splits = override.splits;
    else if (this.o.splits !== 'auto') splits = this.o.splits;
    // Unknown size: split anyway; a small kind's scatter sample yields few split points, so it stays one range.
    else if (total === undefined) splits = DUMP_DEFAULTS.autoSplits;
    else if (total < DUMP_DEFAULTS.autoSplitMinEntities) splits = 1;
    else splits = Math.min(DUMP_DEFAULTS.autoSplits, Math.ceil(total / DUMP_DEFAULTS.autoSplitMinEntities));
    const ranges = splits <= 1 || total === undefined ? splits : Math.min(MAX_RANGES, Math.max(splits, Math.ceil(total / DUMP_DEFAULTS.rangeEntities)));
    // Splits chosen by the auto rule may grow into the dump's spare streams, one range per stream at most;
    // a number given (flag or options.json) is kept to.
    const auto = override.splits === undefined && this.streams !== undefined;
    const maxSplits = auto ? Math.max(splits, Math.min(this.streams!.size, ranges)) : splits;
    return { splits, ranges, maxSplits, pageSize: override.pageSize ?? this.o.pageSize };
  }

  /**
   * The kind's entity count for progress and auto splits. Only a hint: a count
   * that fails (a huge kind can exceed the RPC deadline) is logged, not fatal.
   */
  async count(ref: KindRef, signal: AbortSignal): Promise<number | undefined> {
    try {
      return await countKind(this.client, this.connection, ref.namespace, ref.kind, { ...this.ctx, signal, retry: { ...this.retry, maxAttempts: Math.min(3, this.retry.maxAttempts) } });
    } catch (err) {
      if (signal.aborted) throw err;
      this.log(`count of ${JSON.stringify(ref.namespace)}/${JSON.stringify(ref.kind)} failed, dumping without it: ${describeRpcError(err)}`);
      return undefined;
    }
  }

  reader(ref: KindRef, total: number | undefined, onPage: (n: number) => void) {
    const { splits, ranges, maxSplits, pageSize } = this.plan(ref, total);
    this.emit({ type: 'kind-start', namespace: ref.namespace, kind: ref.kind, total, splits });
    const more = maxSplits > splits ? ` (up to ${maxSplits} while the dump has streams to spare)` : '';
    this.log(`kind ${JSON.stringify(ref.namespace)}/${JSON.stringify(ref.kind)}: ${total ?? '?'} entities, ${splits} split(s)${more}${ranges > splits ? ` over ${ranges} key ranges` : ''}`);
    return createEntityReader(this.client, this.connection, {
      namespace: ref.namespace,
      kind: ref.kind,
      readTime: this.readTime,
      splits,
      ranges,
      pageSize,
      retry: this.retry,
      budget: this.readAhead,
      ...(maxSplits > splits && { pool: { streams: this.streams!, maxSplits } }),
      onProgress: onPage,
      onRetry: (err, attempt, delayMs) => this.onRetry(err, attempt, delayMs, ref),
      fetchPage: this.fetchPage,
    });
  }

  /** One kind to its file; returns its manifest entry. */
  async dumpKind(ref: KindRef, file: string, signal: AbortSignal): Promise<DumpKindSummary> {
    const started = Date.now();
    const total = await this.count(ref, signal);
    const serializer = createSerializer();
    const reader = this.reader(ref, total, () =>
      this.emit({ type: 'kind-progress', ...ref, entities: reader.results, rawBytes: serializer.rawBytes }),
    );
    const sink = createFileSink(join(this.o.dir!, file));
    await pipeline(reader, serializer, createCompressor({ compression: this.o.compression, level: this.o.level }), sink, { signal });
    const seconds = (Date.now() - started) / 1000;
    const entry: DumpKindSummary = {
      namespace: ref.namespace,
      kind: ref.kind,
      file,
      entities: serializer.entities,
      rawBytes: serializer.rawBytes,
      bytes: sink.bytes,
      sha256: sink.sha256,
      complete: true,
      resumed: false,
      seconds,
      total,
    };
    this.log(`done ${JSON.stringify(ref.namespace)}/${JSON.stringify(ref.kind)}: ${entry.entities} entities, ${entry.rawBytes} raw bytes, ${entry.bytes} bytes in ${file} (${seconds.toFixed(1)} s, ${reader.ranges} key range(s), at most ${reader.mostStreams} stream(s) at once)`);
    this.emit({ type: 'kind-done', ...ref, entities: entry.entities, rawBytes: entry.rawBytes, bytes: entry.bytes, seconds });
    return entry;
  }

  /** Every kind, in order, as one NDJSON stream. */
  async toStream(kinds: KindRef[], output: Writable): Promise<{ kinds: DumpKindSummary[]; rawBytes: number; bytes: number }> {
    const summaries: DumpKindSummary[] = [];
    const serializer = createSerializer();
    const compressor = createCompressor({ compression: this.o.compression, level: this.o.level });
    const run = this;
    async function* entities() {
      for (const ref of kinds) {
        const started = Date.now();
        const total = await run.count(ref, run.signal);
        const before = { entities: serializer.entities, rawBytes: serializer.rawBytes };
        const reader = run.reader(ref, total, () =>
          run.emit({ type: 'kind-progress', ...ref, entities: reader.results, rawBytes: serializer.rawBytes - before.rawBytes }),
        );
        let n = 0;
        for await (const result of reader) {
          n += isLinesPage(result) ? result.count : 1;
          yield result;
        }
        const seconds = (Date.now() - started) / 1000;
        // Bytes are shared by the stream; per kind we know the entities exactly and the raw bytes up to buffering.
        summaries.push({ ...ref, file: '-', entities: n, rawBytes: serializer.rawBytes - before.rawBytes, bytes: 0, sha256: EMPTY_SHA256, complete: true, resumed: false, seconds, total });
        run.emit({ type: 'kind-done', ...ref, entities: n, rawBytes: serializer.rawBytes - before.rawBytes, bytes: 0, seconds });
      }
    }
    await pipeline(Readable.from(entities()), serializer, compressor, output, { signal: this.signal });
    return { kinds: summaries, rawBytes: serializer.rawBytes, bytes: compressor.bytesOut };
  }
}

function placeholder(ref: KindRef, file: string): ManifestKind {
  return { ...ref, file, entities: 0, rawBytes: 0, bytes: 0, sha256: EMPTY_SHA256, complete: false };
}

/**
 * Dumps a database; resolves with what was written. See DumpOptions for the
 * options; the context says where from (`connection` or `client`), `signal`,
 * `retry` and `onEvent`.
 */
export async function dump(options: DumpRunOptions = {}, context: DumpContext = {}): Promise<DumpSummary> {
  const started = Date.now();
  const o = normalizeDumpOptions(options);
  if (o.sharding.mode !== 'none') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `dump() does not take ${o.sharding.mode}: call ${o.sharding.mode === 'plan' ? 'planDump' : o.sharding.mode === 'shard' ? 'dumpShard' : 'finalizeDump'}()`, { hint: 'see "Large databases" in the README' });
  }
  if (o.format === 'export') return dumpAsExport(o, options, context);
  // No zstd in this runtime is one message before anything is created (a resume takes the dump's own compression).
  if (o.compression === 'zstd' && !o.resume) await loadZstd();
  const kindOptions = await loadKindOptions(o.optionsFile);
  return withCommandContext(context, async (ctx) => {
    const connection = ctx.connection; // before the folder is touched: no project, nothing removed
    if (o.dir === null) return dumpLocked(o, options, ctx, kindOptions, undefined, started);
    // One run per folder at a time: taken before anything in it is looked at, released however the run ends.
    const created = await mkdir(o.dir, { recursive: true }).catch((err: unknown) => {
      throw new DspipeError('DSPIPE_IO', `cannot create the dump folder: ${(err as Error).message}`, { file: o.dir!, cause: err, hint: 'check that the dump root exists and is writable (--root)' });
    });
    const lock = await lockDumpFolder(o.dir, o.resume ? 'dump --resume' : 'dump');
    let done = false;
    try {
      const summary = await dumpLocked(o, options, ctx, kindOptions, await readExistingManifest(o.dir), started);
      done = true;
      return summary;
    } finally {
      await lock.release();
      // A run that failed before writing (a selection that matches nothing, no credentials)
      // leaves no empty folder behind: the ones this run created go again, if still empty.
      if (!done && created !== undefined) await removeEmptyUpTo(o.dir, created);
    }
  });
}

/**
 * `format: 'export'`: a dspipe dump into a hidden temporary folder beside the
 * export (snapshot, splits, verification as usual), then `convert` of it to a
 * managed export at `<root>/<name>`; the temporary dump is removed either way.
 * Lossy values come back as warnings naming the key (refused with `strict`).
 */
async function dumpAsExport(o: NormalizedDumpOptions, options: DumpRunOptions, context: DumpContext): Promise<DumpSummary> {
  const dir = o.dir!;
  if (await stat(dir).then(() => true, () => false)) {
    if (!o.force) throw new DspipeError('DSPIPE_DUMP_EXISTS', `${dir} exists already`, { file: dir, hint: 'pick another -n NAME, or pass --force to replace it' });
  }
  const tempName = `.${o.name}.dspipe-dump-${process.pid}.tmp`;
  const temp = join(o.root, tempName);
  try {
    const summary = await dump({ ...options, format: 'dump', strict: false, name: tempName, force: true }, context);
    if (o.force) await rm(dir, { recursive: true, force: true });
    const onEvent = context.onEvent;
    await convert(
      { from: temp, out: dir, strict: o.strict },
      {
        ...(context.signal && { signal: context.signal }),
        ...(onEvent && {
          onEvent: (e: ConvertEvent) => {
            if (e.type === 'lossy') onEvent({ type: 'warning', message: `${e.key}${e.namespace ? ` in namespace ${JSON.stringify(e.namespace)}` : ''}, property ${e.path}: ${e.message}` });
          },
        }),
      },
    );
    return { ...summary, name: o.name, dir };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Removes the dump folder `dir` when it holds nothing but its log (no manifest: nothing to
 * resume), then its parents up to `top` (the first folder mkdir created), each only if empty.
 */
async function removeEmptyUpTo(dir: string, top: string): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries === undefined || entries.some((e) => e !== DUMP_LOG_FILE)) return;
  await rm(join(dir, DUMP_LOG_FILE), { force: true });
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false)) || d === resolve(top) || dirname(d) === d) return;
  }
}

/** dump's body, with the folder (if any) locked and the earlier run's manifest read. */
async function dumpLocked(
  o: NormalizedDumpOptions,
  options: DumpRunOptions,
  ctx: ResolvedContext<DumpEvent>,
  kindOptions: Awaited<ReturnType<typeof loadKindOptions>>,
  previous: DumpManifest | undefined,
  started: number,
): Promise<DumpSummary> {
  const connection = ctx.connection;
  const resuming = previous !== undefined && o.resume ? previous : undefined;
  const run = resuming ? resumeAt(o, options, resuming) : o;
  const { readTime, snapshotReason } = await snapshotOf(run, resuming, ctx);
  const dumpRun = new DumpRun(run, ctx, readTime, kindOptions);
  if (snapshotReason !== undefined && run.snapshot) dumpRun.warn(snapshotReason);
  const kinds: KindRef[] = [];
  const listing = { selection: run.selection, readTime, retry: ctx.retry, onRetry: (e: unknown, a: number, d: number) => dumpRun.onRetry(e, a, d), onWarning: (m: string) => dumpRun.warn(m) };
  for await (const ref of enumerateKinds(ctx.client, connection, listing)) kinds.push(ref);
  // Only now, with the kinds known (a selection that matches nothing fails above), is the folder's content touched.
  await dumpRun.folder?.flushLog(); // no log line may land after prepareFolder has cleared the folder
  const kept = run.dir === null ? [] : await prepareFolder(run.dir, previous, run);
  dumpRun.snapshotReason = snapshotReason;
  if (run.dir === null) {
    const readTimeText = readTime === undefined ? null : timestampToRfc3339(readTime);
    ctx.emit({ type: 'start', name: run.name, dir: null, readTime: readTimeText, kinds, resumed: 0 });
    const streamed = await dumpRun.toStream(kinds, options.output ?? process.stdout);
    return { ...summarize(run, connection, readTimeText, snapshotReason, streamed.kinds, dumpRun.retries, started), rawBytes: streamed.rawBytes, bytes: streamed.bytes };
  }
  return toFolder(dumpRun, kinds, kept, resuming, started);
}

/**
 * The read time to dump at, or why there is none. A backend that reports no
 * read time (Google's legacy emulator) also ignores the read times it is sent
 * (BACKENDS.md, 2): the dump then reads current data, kind by kind, and says
 * so; and an explicit --read-time is refused rather than silently read as now.
 */
export async function snapshotOf(run: NormalizedDumpOptions, resuming: DumpManifest | undefined, ctx: ResolvedContext<DumpEvent>): Promise<{ readTime?: ITimestamp; snapshotReason?: string }> {
  if (resuming) {
    return resuming.readTime === null
      ? { snapshotReason: resuming.snapshotReason ?? 'dumped with --no-snapshot' }
      : { readTime: rfc3339ToTimestamp(resuming.readTime) };
  }
  if (!run.snapshot) return { snapshotReason: 'dumped with --no-snapshot: current data, kind by kind' };
  const reported = await reportedReadTime(ctx.client, ctx.connection, { retry: ctx.retry, signal: ctx.signal });
  if (run.readTime !== undefined) {
    if (reported === undefined) {
      invalid(opt('--read-time'), run.readTime, 'cannot be honoured: this Datastore reports no read time and ignores the read times it is sent (as Google\'s legacy emulator does), so it would read current data', 'leave --read-time out: the dump then reads current data and records that it is not a snapshot');
    }
    return { readTime: rfc3339ToTimestamp(run.readTime) };
  }
  if (reported !== undefined) return { readTime: reported };
  return {
    snapshotReason:
      'this Datastore reports no read time (as Google\'s legacy emulator does), so the dump cannot be one consistent snapshot: ' +
      'it reads current data, kind by kind, and the manifest records snapshot: false. Stop writes to it while dumping for a consistent copy.',
  };
}

/** The options of a resumed dump: its compression and snapshot, checked against what was asked and what Datastore still serves. */
function resumeAt(o: NormalizedDumpOptions, options: DumpRunOptions, previous: DumpManifest): NormalizedDumpOptions {
  const file = o.dir ?? undefined;
  if (options.compress !== undefined && options.compress !== previous.compression) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `--compress ${JSON.stringify(options.compress)} differs from the dump being resumed (${previous.compression})`, {
      file,
      hint: 'resume with the same --compress, or start over with --force',
    });
  }
  // The rest must be read at the dump's own read time, which Datastore serves only for so long.
  const problem = previous.readTime === null ? undefined : readTimeProblem(previous.readTime);
  if (problem) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `cannot resume: the dump's read time ${previous.readTime} ${problem.what}`, {
      file,
      hint: `${problem.hint}; start the dump over with --force`,
    });
  }
  return { ...o, compression: previous.compression, snapshot: previous.readTime !== null };
}

/** Every kind to its file under the kind scheduler, the manifest rewritten after each. */
async function toFolder(run: DumpRun, kinds: KindRef[], kept: ManifestKind[], resuming: DumpManifest | undefined, started: number): Promise<DumpSummary> {
  const { o, connection } = run;
  const folder = run.folder!;
  await mkdir(folder.dir, { recursive: true });
  const readTimeText = run.readTime === undefined ? null : timestampToRfc3339(run.readTime);
  const keptById = new Map(kept.map((k) => [JSON.stringify([k.namespace, k.kind]), k]));
  const files = assignFilePaths(kinds, o.compression);
  // A kept kind must still own the file this run assigns it (a changed selection can change case marks).
  const entries = kinds.map((ref, i) => {
    const k = keptById.get(JSON.stringify([ref.namespace, ref.kind]));
    return k !== undefined && k.file === files[i] ? k : placeholder(ref, files[i]!);
  });
  const manifest: DumpManifest = {
    format: FORMAT_NAME,
    formatVersion: FORMAT_VERSION,
    dspipeVersion: await dspipeVersion(),
    source: connection.emulatorHost === undefined
      ? { projectId: connection.projectId, databaseId: connection.databaseId }
      : { projectId: connection.projectId, databaseId: connection.databaseId, emulatorHost: connection.emulatorHost },
    readTime: readTimeText,
    snapshot: run.readTime !== undefined,
    ...(run.snapshotReason !== undefined && { snapshotReason: run.snapshotReason }),
    startedAt: resuming ? resuming.startedAt : new Date(started).toISOString(),
    finishedAt: null,
    complete: false,
    compression: o.compression,
    kinds: entries,
  };
  const resumed = entries.filter((e) => e.complete).length;
  run.log(`${resuming ? 'resume' : 'start'} dump ${o.name} of ${connection.projectId}/${connection.databaseId || '(default)'} at read time ${readTimeText ?? 'none (--no-snapshot)'}: ${kinds.length} kinds${resumed ? `, ${resumed} already complete` : ''}`);
  await folder.writeManifest(manifest);
  run.emit({ type: 'start', name: o.name, dir: folder.dir, readTime: readTimeText, kinds, resumed });

  const summaries = entries.map((e): DumpKindSummary | undefined => (e.complete ? { ...e, resumed: true, seconds: 0 } : undefined));
  const todo = entries.flatMap((e, i) => (e.complete ? [] : [i]));
  const describe = (i: number) => `${JSON.stringify(kinds[i]!.namespace)}/${JSON.stringify(kinds[i]!.kind)}`;
  try {
    await runKinds(todo, { concurrency: o.concurrency, signal: run.signal, onFailure: (err, i) => run.log(`failed ${describe(i)}: ${describeRpcError(err)}`) }, async (i, signal) => {
      const done = await run.dumpKind(kinds[i]!, entries[i]!.file, signal);
      summaries[i] = done;
      const { resumed: _r, seconds: _s, total: _t, ...kindEntry } = done;
      entries[i] = kindEntry;
      await folder.writeManifest(manifest);
    });
  } catch (err) {
    await folder.writeManifest(manifest).catch(() => {});
    run.log('stopped; run again with --resume to finish');
    await folder.flushLog();
    throw err;
  }
  manifest.finishedAt = new Date().toISOString();
  manifest.complete = true;
  await folder.writeManifest(manifest);
  const summary = summarize(o, run.connection, readTimeText, run.snapshotReason, summaries.map((k) => k!), run.retries, started);
  run.log(`finished: ${summary.entities} entities, ${summary.rawBytes} raw bytes, ${summary.bytes} bytes, ${summary.retries} retries, ${summary.seconds.toFixed(1)} s`);
  await folder.flushLog();
  return summary;
}

function summarize(o: NormalizedDumpOptions, connection: Connection, readTime: string | null, snapshotReason: string | undefined, kinds: DumpKindSummary[], retries: number, started: number): DumpSummary {
  return {
    name: o.name,
    dir: o.dir,
    readTime,
    snapshot: readTime !== null,
    ...(snapshotReason !== undefined && { snapshotReason }),
    compression: o.compression,
    target: { projectId: connection.projectId, databaseId: connection.databaseId },
    kinds,
    entities: kinds.reduce((n, k) => n + k.entities, 0),
    rawBytes: kinds.reduce((n, k) => n + k.rawBytes, 0),
    bytes: kinds.reduce((n, k) => n + k.bytes, 0),
    retries,
    seconds: (Date.now() - started) / 1000,
  };
}
