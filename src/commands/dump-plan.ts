/**
 * `dspipe dump --plan -n NAME`: the first step of a dump spread over many
 * machines. Takes the read time (as a dump does), lists the kinds, and cuts
 * each kind into key ranges of about `partEntities` entities from a
 * `__scatter__` sample, written to `<dump>/plan.json` (format/dump-plan.ts).
 * The tasks then read their ranges at that read time (dump-shard.ts).
 *
 * Ranges come from `__scatter__`, as production and Google's legacy emulator
 * serve it. Google's Firestore emulator returns no scatter keys (BACKENDS.md,
 * 4): there, and where the backend cannot count a kind (legacy: no
 * RunAggregationQuery), the plan reads the kind's keys (keys-only, at the
 * read time) to count it and to cut it exactly, and says so in a warning.
 * Against production that scan never happens: counts and scatter are there.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DspipeError } from '../errors.js';
import type { IKey, ITimestamp } from '../model/proto.js';
import { countKind, scatterSplitPoints, timestampToRfc3339, type ReadContext } from '../datastore/run-query.js';
import { normalizeDumpOptions, type NormalizedDumpOptions } from '../options/dump.js';
import { assignFilePaths } from '../format/file-names.js';
import { formatJson, PARTS_DIR, PLAN_FILE, PLAN_FORMAT, PLAN_FORMAT_VERSION, plainKey, TASKS_DIR, type DumpPlan, type PlanPart } from '../format/dump-plan.js';
import { enumerateKinds, type KindRef } from '../stages/kind-enumerator.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { lockDumpFolder } from './dump-lock.js';
import { dspipeVersion, readExistingManifest, writeFileAtomic, prepareFolder, DUMP_LOG_FILE } from './dump-folder.js';
import { snapshotOf, type DumpRunOptions } from './dump.js';
import { readPlan } from './dump-shard-files.js';
import { retryEvent, withCommandContext, type CommandContext, type ResolvedContext, type RetryEvent, type WarningEvent } from './context.js';

export type PlanEvent = RetryEvent | WarningEvent;

/** At most this many ranges per kind (the scatter sample is 32 keys per range). */
export const MAX_PARTS_PER_KIND = 4096;

export interface DumpPlanSummary {
  name: string;
  dir: string;
  readTime: string | null;
  snapshot: boolean;
  kinds: number;
  parts: number;
  /** Entities counted (or estimated) at the read time. */
  entities: number;
  sampling: DumpPlan['sampling'];
  seconds: number;
}

/** Every key of a kind at the read time, keys only, in key order. */
async function* keysOf(ctx: ResolvedContext<PlanEvent>, ref: KindRef, readTime: ITimestamp | undefined): AsyncGenerator<IKey> {
  const reader = createEntityReader(ctx.client, ctx.connection, { ...ref, keysOnly: true, readTime, retry: ctx.retry });
  for await (const r of reader as AsyncIterable<{ entity?: { key?: IKey | null } | null }>) if (r.entity?.key) yield r.entity.key;
}

interface KindCut {
  entities: number | null;
  points: IKey[];
  sampling: 'scatter' | 'keys' | 'none';
}

/** How many entities and where to cut one kind. */
async function cutKind(ctx: ResolvedContext<PlanEvent>, o: NormalizedDumpOptions, ref: KindRef, readTime: ITimestamp | undefined, warn: (m: string) => void): Promise<KindCut> {
  const read: ReadContext = { readTime, retry: ctx.retry, signal: ctx.signal, onRetry: (e, a, d) => ctx.emit(retryEvent(e, a, d, ref)) };
  let entities = await countKind(ctx.client, ctx.connection, ref.namespace, ref.kind, read).catch(() => undefined);
  if (entities === undefined) {
    warn('this Datastore cannot count a kind (Google\'s legacy emulator has no RunAggregationQuery): the plan counts each kind by reading its keys; production counts them');
    entities = 0;
    for await (const _ of keysOf(ctx, ref, readTime)) entities++;
  }
  const parts = Math.min(MAX_PARTS_PER_KIND, Math.max(1, Math.ceil(entities / o.sharding.partEntities)));
  if (parts === 1) return { entities, points: [], sampling: 'none' };
  const points = await scatterSplitPoints(ctx.client, ctx.connection, ref.namespace, ref.kind, parts, read);
  if (points.length > 0) return { entities, points, sampling: 'scatter' };
  // No scatter keys (Google's Firestore emulator never returns any; a kind of a few hundred may have none
  // sampled): every step-th key of a keys-only scan cuts exact ranges. Production's large kinds always have them.
  warn(`no __scatter__ keys came back for ${JSON.stringify(ref.kind)} (Google's Firestore emulator returns none): its ranges come from reading its keys; production samples __scatter__`);
  const step = Math.ceil(entities / parts);
  const cut: IKey[] = [];
  let i = 0;
  for await (const key of keysOf(ctx, ref, readTime)) {
    if (i > 0 && i % step === 0) cut.push(key);
    i++;
  }
  return { entities, points: cut, sampling: 'keys' };
}

/** Writes `<root>/<name>/plan.json`; the folder must hold no dump yet (or `force`). */
export async function planDump(options: DumpRunOptions, context: CommandContext<PlanEvent> = {}): Promise<DumpPlanSummary> {
  const started = Date.now();
  const o = normalizeDumpOptions({ ...options, plan: true });
  const dir = o.dir!;
  return withCommandContext(context, async (ctx) => {
    const connection = ctx.connection;
    await mkdir(dir, { recursive: true }).catch((err: unknown) => {
      throw new DspipeError('DSPIPE_IO', `cannot create the dump folder: ${(err as Error).message}`, { file: dir, cause: err, hint: 'check that the dump root exists and is writable (--root)' });
    });
    const lock = await lockDumpFolder(dir, 'dump --plan');
    try {
      const existing = await readPlan(dir, { optional: true });
      const previous = await readExistingManifest(dir);
      if ((existing !== undefined || previous !== undefined) && !o.force) {
        throw new DspipeError('DSPIPE_DUMP_EXISTS', `${dir} holds a ${previous ? 'dump' : 'plan'} already`, { file: dir, hint: 'pick another -n NAME, or pass --force to plan it again (its parts are removed)' });
      }
      const warned = new Set<string>();
      const warn = (message: string) => {
        if (warned.has(message)) return;
        warned.add(message);
        ctx.emit({ type: 'warning', message });
      };
      const { readTime, snapshotReason } = await snapshotOf(o, undefined, ctx);
      if (snapshotReason !== undefined && o.snapshot) warn(snapshotReason);
      const kinds: KindRef[] = [];
      const listing = { selection: o.selection, readTime, retry: ctx.retry, onWarning: warn };
      for await (const ref of enumerateKinds(ctx.client, connection, listing)) kinds.push(ref);
      if (o.force) {
        await prepareFolder(dir, previous, { force: true, resume: false });
        await rm(join(dir, PARTS_DIR), { recursive: true, force: true });
        await rm(join(dir, TASKS_DIR), { recursive: true, force: true });
        await rm(join(dir, PLAN_FILE), { force: true });
        await rm(join(dir, DUMP_LOG_FILE), { force: true });
      }
      const files = assignFilePaths(kinds, o.compression);
      const parts: PlanPart[] = [];
      const planKinds: DumpPlan['kinds'] = [];
      const samplings = new Set<DumpPlan['sampling']>();
      for (const [i, ref] of kinds.entries()) {
        const cut = await cutKind(ctx, o, ref, readTime, warn);
        samplings.add(cut.sampling);
        planKinds.push({ ...ref, file: files[i]!, entities: cut.entities, sampling: cut.sampling });
        const bounds: Array<IKey | null> = [null, ...cut.points.map(plainKey), null];
        const n = bounds.length - 1;
        for (let j = 0; j < n; j++) {
          parts.push({ id: parts.length, ...ref, start: bounds[j]!, end: bounds[j + 1]!, estimate: Math.round((cut.entities ?? 0) / n) });
        }
      }
      const plan: DumpPlan = {
        format: PLAN_FORMAT,
        formatVersion: PLAN_FORMAT_VERSION,
        dspipeVersion: await dspipeVersion(),
        name: o.name,
        source: connection.emulatorHost === undefined
          ? { projectId: connection.projectId, databaseId: connection.databaseId }
          : { projectId: connection.projectId, databaseId: connection.databaseId, emulatorHost: connection.emulatorHost },
        readTime: readTime === undefined ? null : timestampToRfc3339(readTime),
        snapshot: readTime !== undefined,
        ...(snapshotReason !== undefined && { snapshotReason }),
        compression: o.compression,
        level: o.level,
        createdAt: new Date(started).toISOString(),
        partEntities: o.sharding.partEntities,
        sampling: samplings.has('keys') ? 'keys' : samplings.has('scatter') ? 'scatter' : 'none',
        kinds: planKinds,
        parts,
      };
      await writeFileAtomic(join(dir, PLAN_FILE), formatJson(plan));
      return {
        name: o.name,
        dir,
        readTime: plan.readTime,
        snapshot: plan.snapshot,
        kinds: kinds.length,
        parts: parts.length,
        entities: planKinds.reduce((n, k) => n + (k.entities ?? 0), 0),
        sampling: plan.sampling,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      await lock.release();
    }
  });
}
