/**
 * `migrate`: rewrite entities in place when the data model changes, safely
 * while the application keeps writing.
 *
 *   kindEnumerator -> entityReader -> transformer -> batcher -> entityWriter (baseVersion)
 *
 * `migrateStatus` lists applied and pending scripts, `migrateUp` runs the
 * pending ones in order (resuming an interrupted one from its checkpoint),
 * `migrateRun` applies built-in transforms to one kind without a script.
 * Every run is recorded in the `DspipeMigration` kind (see src/migrate/record.ts).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { DspipeError } from '../errors.js';
import {
  normalizeMigrateOptions, normalizeRunOptions, normalizeUpOptions, type MigrateOptions, type NormalizedMigrateOptions, type RunTransformsOptions,
} from '../options/migrate.js';
import { matches, parseNameFilter, type NameFilter } from '../format/selection.js';
import { applyTransforms, describeTransform } from '../format/transforms.js';
import { discoverMigrations } from '../migrate/discovery.js';
import { typecheckMigrations } from '../migrate/typecheck.js';
import { loadMigration, type Migration } from '../migrate/loader.js';
import type { ScriptRef } from '../migrate/outcome.js';
import { planMigrations, selectForUp, type MigrationState } from '../migrate/plan.js';
import {
  readMigrationRecords, saveMigrationRecord, ZERO_COUNTS, type KindCheckpoint, type MigrationCounts, type MigrationRecord,
} from '../migrate/record.js';
import { rewriteKind } from '../migrate/rewrite-kind.js';
import { enumerateKinds, type KindRef } from '../stages/kind-enumerator.js';
import type { ChangeExample } from '../migrate/transformer.js';
import { formatKey } from '../model/key-text.js';
import { honoursBaseVersion } from '../migrate/base-version-probe.js';
import { CommitBudget } from '../stages/entity-writer.js';
import { startWriteRate, type RateEvent } from './write-rate.js';
import type { WriteRateLimiter, WriteRateSummary } from '../datastore/write-rate.js';
import { withCommandContext, type CommandContext, type KindEvents, type ResolvedContext, type WarningEvent } from './context.js';

export type MigrateEvent =
  | { type: 'migration-start'; name: string; description: string; kinds: KindRef[]; resumed: boolean; dryRun: boolean }
  | { type: 'backup'; name: string; dir: string; skipped: boolean }
  | KindEvents<{ name: string; counts: MigrationCounts }, { name: string; resumeAfter: string | null }, { name: string; counts: MigrationCounts; skipped: number }>
  | { type: 'migration-done'; name: string; counts: MigrationCounts; dryRun: boolean }
  | { type: 'changed-allowed'; name: string }
  | RateEvent
  | WarningEvent;

/** migrate's own options; the database (`connection` or `client`), signal, retry and onEvent come in the CommandContext. */
export type MigrateCommandOptions = MigrateOptions;

export type MigrateContext = CommandContext<MigrateEvent>;

export interface KindReport {
  namespace: string;
  kind: string;
  counts: MigrationCounts;
  /** Passed over: an earlier run had migrated them. */
  skipped: number;
  /** The kind was finished by an earlier run. */
  alreadyDone: boolean;
}

export interface MigrationReport {
  name: string;
  description: string;
  dryRun: boolean;
  /** Continued from an interrupted run's checkpoint. */
  resumed: boolean;
  kinds: KindReport[];
  /** This run's counts. */
  counts: MigrationCounts;
  /** Before/after examples (dry runs). */
  examples: ChangeExample[];
  backupDir: string | null;
  /** The write rate after this migration (null for a dry run): ramp, ceiling, rate, push-backs. */
  writeRate: WriteRateSummary | null;
}

export interface MigrationStatusEntry {
  name: string;
  state: MigrationState;
  description: string;
  file: string | null;
  checksum: string | null;
  record: MigrationRecord | null;
}

/** One command's run: its options, and its context resolved once (a created client is shared by every step). */
interface Context {
  o: NormalizedMigrateOptions;
  client: DatastoreClient;
  connection: Connection;
  retry: RetryPolicy;
  signal: AbortSignal;
  emit: (event: MigrateEvent) => void;
  /** The command's write rate, shared by its migrations and kinds (made at the first write). */
  rate(): WriteRateLimiter;
}

function withContext<T>(context: MigrateContext, o: NormalizedMigrateOptions, body: (ctx: Context) => Promise<T>): Promise<T> {
  return withCommandContext(context, (c: ResolvedContext<MigrateEvent>) =>
  {
    let rate: WriteRateLimiter | undefined;
    return body({
      o, client: c.client, connection: c.connection, retry: c.retry, signal: c.signal, emit: c.emit,
      rate: () => (rate ??= startWriteRate(o.writeRate, c.connection, c.emit)),
    });
  },
  );
}

const honours = new WeakMap<DatastoreClient, boolean>();
const warned = new WeakSet<Context>();

/**
 * Says so, before the first write, when the backend ignores base_version
 * (Google's Firestore emulator): the rewrites then cannot detect an app's
 * concurrent write, and a migration run beside the app can overwrite it.
 * Probed once per client, said once per command.
 */
async function checkConflictSafety(ctx: Context): Promise<void> {
  let safe = honours.get(ctx.client);
  if (safe === undefined) {
    safe = await honoursBaseVersion(ctx.client, ctx.connection, ctx.retry, ctx.signal);
    honours.set(ctx.client, safe);
  }
  if (safe || warned.has(ctx)) return;
  warned.add(ctx);
  ctx.emit({
    type: 'warning',
    message:
      'this Datastore ignores base_version (as Google\'s Firestore emulator does), so the migration cannot detect writes the app makes ' +
      'while it runs: a rewrite may overwrite them. Stop writes to the kinds being migrated while it runs.',
  });
}

const addCounts = (a: MigrationCounts, b: MigrationCounts): MigrationCounts => ({
  read: a.read + b.read,
  changed: a.changed + b.changed,
  deleted: a.deleted + b.deleted,
  unchanged: a.unchanged + b.unchanged,
  conflicts: a.conflicts + b.conflicts,
});

function exactFilter(names: readonly string[]): NameFilter {
  return { include: names.map((n) => new RegExp(`^${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'su')), exclude: [], names: [...names], entries: [...names] };
}

/** The namespaces and kinds a migration touches that hold data now. */
async function touchedKinds(ctx: Context, kinds: readonly string[], scriptNamespaces: NameFilter, recorded: boolean): Promise<KindRef[]> {
  const refs: KindRef[] = [];
  // A script that names its namespaces outright needs no listing (which Google's Firestore emulator refuses).
  const namespaces = ctx.o.namespaces.include.length === 0 && ctx.o.namespaces.exclude.length === 0 && scriptNamespaces.names ? scriptNamespaces : ctx.o.namespaces;
  const selection = { namespaces, kinds: exactFilter(kinds) };
  const listing = {
    selection,
    retry: ctx.retry,
    onWarning: (message: string) => ctx.emit({ type: 'warning', message }),
    // migrate up takes no --namespaces (its record says "applied everywhere"): the script names them.
    ...(recorded && { nameNamespaces: "in the migration script, e.g. export const namespaces = '(default),tenant-a'" }),
    // A recorded migration of a kind that holds nothing (yet) is simply done; `run --kind Usr` is a typo.
    unmatched: recorded ? ('ignore' as const) : ('error' as const),
  };
  for await (const ref of enumerateKinds(ctx.client, ctx.connection, listing)) {
    if (matches(scriptNamespaces, ref.namespace)) refs.push(ref);
  }
  return refs;
}

async function backupKinds(ctx: Context, dumpName: string, refs: readonly KindRef[]): Promise<string> {
  const { dump } = await import('./dump.js');
  const namespaces = [...new Set(refs.map((r) => (r.namespace === '' ? '(default)' : r.namespace)))];
  const kinds = [...new Set(refs.map((r) => r.kind))];
  const summary = await dump({ root: ctx.o.backupRoot, name: dumpName, kinds, namespaces }, { connection: ctx.connection, client: ctx.client, signal: ctx.signal, retry: ctx.retry });
  return summary.dir ?? join(ctx.o.backupRoot, dumpName);
}

interface RunSpec {
  script: ScriptRef;
  description: string;
  kinds: string[];
  scriptNamespaces: NameFilter;
  /** Record progress in DspipeMigration under script.name. */
  record: boolean;
  checksum: string;
  previous: MigrationRecord | undefined;
}

async function runMigration(ctx: Context, spec: RunSpec): Promise<MigrationReport> {
  const { script } = spec;
  const dryRun = ctx.o.dryRun;
  const refs = spec.kinds.length === 0 ? [] : await touchedKinds(ctx, spec.kinds, spec.scriptNamespaces, spec.record && !ctx.o.dryRun);
  const resuming = spec.record && !dryRun && spec.previous !== undefined && spec.previous.status !== 'applied';
  ctx.emit({ type: 'migration-start', name: script.name, description: spec.description, kinds: refs, resumed: resuming, dryRun });

  if (!dryRun && refs.length > 0) await checkConflictSafety(ctx);

  let backupDir: string | null = null;
  if (ctx.o.backup && !dryRun) {
    // Ad-hoc runs are not recorded, so each gets its own backup folder.
    const dumpName = spec.record ? `pre-${script.name}` : `pre-${script.name}-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
    const dir = join(ctx.o.backupRoot, dumpName);
    if (resuming) {
      // The first run's backup holds the state before anything was rewritten; keep it.
      ctx.emit({ type: 'backup', name: script.name, dir, skipped: true });
      backupDir = dir;
    } else if (refs.length > 0) {
      backupDir = await backupKinds(ctx, dumpName, refs);
      ctx.emit({ type: 'backup', name: script.name, dir: backupDir, skipped: false });
    }
  }

  const previousCounts = resuming ? spec.previous!.counts : ZERO_COUNTS;
  const record: MigrationRecord = {
    name: script.name,
    checksum: spec.checksum,
    description: spec.description,
    kinds: spec.kinds,
    status: 'running',
    startedAt: resuming ? spec.previous!.startedAt : new Date().toISOString(),
    finishedAt: null,
    counts: previousCounts,
    // A window saved by the killed run's last save has a null `after`: that save's version, the record's as read.
    checkpoint: resuming
      ? spec.previous!.checkpoint.map((c) => ({ ...c, ...(c.windows && { windows: c.windows.map((w) => ({ upTo: w.upTo, after: w.after ?? spec.previous!.version ?? null })) }) }))
      : [],
    error: null,
    runId: randomBytes(8).toString('hex'),
  };
  if (spec.previous?.version !== undefined) record.version = spec.previous.version;
  const save = async () => {
    if (spec.record && !dryRun) record.version = await saveMigrationRecord(ctx.client, ctx.connection, record, ctx.retry);
  };
  await save();

  const report: MigrationReport = {
    name: script.name, description: spec.description, dryRun, resumed: resuming, kinds: [], counts: { ...ZERO_COUNTS }, examples: [], backupDir, writeRate: null,
  };
  let finished: MigrationCounts = { ...ZERO_COUNTS };
  // One request-size budget for every kind: the first size refusal teaches them all (BACKENDS.md, 6).
  const budget = new CommitBudget();
  for (const ref of refs) {
    let entry: KindCheckpoint | undefined = record.checkpoint.find((c) => c.namespace === ref.namespace && c.kind === ref.kind);
    if (entry?.done) {
      report.kinds.push({ ...ref, counts: { ...ZERO_COUNTS }, skipped: 0, alreadyDone: true });
      continue;
    }
    if (entry === undefined) {
      entry = { namespace: ref.namespace, kind: ref.kind, done: false, lastKey: null };
      record.checkpoint.push(entry);
    }
    const cp = entry;
    if (ctx.signal.aborted) {
      record.status = 'interrupted';
      await save().catch(() => {});
      ctx.signal.throwIfAborted();
    }
    ctx.emit({ type: 'kind-start', name: script.name, ...ref, resumeAfter: cp.lastKey ? formatKey(cp.lastKey) : null });
    let result;
    try {
      result = await rewriteKind(ctx.client, ctx.connection, {
        ...ref,
        script,
        resumeAfter: dryRun ? null : cp.lastKey,
        ...(!dryRun && cp.windows && { windows: cp.windows }),
        dryRun,
        writers: ctx.o.writers,
        budget,
        ...(!dryRun && { rate: ctx.rate() }),
        batchSize: ctx.o.batchSize,
        maxConflictAttempts: ctx.o.maxConflictAttempts,
        checkpointEvery: ctx.o.checkpointEvery,
        examples: dryRun ? Math.max(0, ctx.o.examples - report.examples.length) : 0,
        retry: ctx.retry,
        signal: ctx.signal,
        ...(ctx.o.pageSize !== undefined && { pageSize: ctx.o.pageSize }),
        onCheckpoint: async (lastKey, counts, windows) => {
          cp.lastKey = lastKey;
          cp.windows = windows;
          record.counts = addCounts(addCounts(previousCounts, finished), counts);
          await save();
          return record.version;
        },
        onProgress: (counts) => ctx.emit({ type: 'kind-progress', name: script.name, ...ref, counts }),
      });
    } catch (err) {
      if (ctx.signal.aborted) {
        // Stopped on request: the commits in flight finished and the checkpoint covers them.
        record.status = 'interrupted';
        record.error = null;
      } else {
        record.status = 'failed';
        record.error = err instanceof DspipeError ? err.describe() : String((err as Error)?.message ?? err);
      }
      await save().catch(() => {});
      throw err;
    }
    finished = addCounts(finished, result.counts);
    cp.done = true;
    delete cp.windows;
    record.counts = addCounts(previousCounts, finished);
    await save();
    report.kinds.push({ ...ref, counts: result.counts, skipped: result.skipped, alreadyDone: false });
    report.examples.push(...result.examples);
    ctx.emit({ type: 'kind-done', name: script.name, ...ref, counts: result.counts, skipped: result.skipped });
  }
  report.counts = finished;
  if (!dryRun) report.writeRate = ctx.rate().summary();
  record.status = 'applied';
  record.finishedAt = new Date().toISOString();
  await save();
  ctx.emit({ type: 'migration-done', name: script.name, counts: finished, dryRun });
  return report;
}

function scriptRef(m: Migration): ScriptRef {
  return { name: m.name, file: m.file, transform: m.transform };
}

/** Applied, pending, interrupted and changed migrations, in order. */
export async function migrateStatus(options: MigrateCommandOptions = {}, context: MigrateContext = {}): Promise<MigrationStatusEntry[]> {
  const o = normalizeMigrateOptions(options);
  const files = await discoverMigrations(o.dir);
  return withContext(context, o, async (ctx) => {
    const records = await readMigrationRecords(ctx.client, ctx.connection, ctx.retry);
    const entries: MigrationStatusEntry[] = [];
    for (const p of planMigrations(files, records)) {
      let description = p.record?.description ?? '';
      if (p.record === undefined && p.file) {
        // Pending scripts are loaded for their description: a script that cannot load shows up now, not mid-deploy.
        description = await loadMigration(p.name, p.file.file, p.file.checksum).then(
          (m) => m.description,
          (err: Error) => `(does not load: ${err.message})`,
        );
      }
      entries.push({ name: p.name, state: p.state, description, file: p.file?.file ?? null, checksum: p.file?.checksum ?? null, record: p.record ?? null });
    }
    return entries;
  });
}

export interface UpResult {
  /** What ran (or, dry, would run), in order. */
  migrations: MigrationReport[];
  /** Applied migrations whose script changed, let through by allowChanged. */
  changedAllowed: string[];
}

/** Runs the pending migrations in order (up to `to`), resuming an interrupted one. */
export async function migrateUp(options: MigrateCommandOptions = {}, context: MigrateContext = {}): Promise<UpResult> {
  const o = normalizeUpOptions(options);
  const files = await discoverMigrations(o.dir);
  return withContext(context, o, async (ctx) => {
    const records = await readMigrationRecords(ctx.client, ctx.connection, ctx.retry);
    const { run, changed } = selectForUp(planMigrations(files, records), { to: o.to, allowChanged: o.allowChanged, dir: o.dir });
    for (const c of changed) ctx.emit({ type: 'changed-allowed', name: c.name });
    if (o.typecheck) typecheckMigrations(run.map((p) => p.file!.file), o.dir);
    // Load every script first: a broken one stops us before anything is written.
    const loaded: Migration[] = [];
    for (const p of run) loaded.push(await loadMigration(p.name, p.file!.file, p.file!.checksum));
    const migrations: MigrationReport[] = [];
    for (const [i, m] of loaded.entries()) {
      const p = run[i]!;
      migrations.push(
        await runMigration(ctx, {
          script: scriptRef(m),
          description: m.description,
          kinds: m.kinds,
          scriptNamespaces: parseNameFilter(m.namespaces, `namespaces (in ${m.file})`, true),
          record: true,
          checksum: p.file!.checksum,
          previous: p.record,
        }),
      );
    }
    return { migrations, changedAllowed: changed.map((c) => c.name) };
  });
}

/**
 * Applies built-in transforms to one kind without a script. Not recorded in
 * DspipeMigration: every built-in is idempotent, so after an interruption
 * run the same command again — entities already done are left untouched.
 */
export async function migrateRun(options: RunTransformsOptions, context: MigrateContext = {}): Promise<MigrationReport> {
  const o = normalizeRunOptions(options);
  const transforms = o.transforms;
  const name = `run-${o.kind}`;
  return withContext(context, o, (ctx) =>
    runMigration(ctx, {
      script: {
        name,
        file: `dspipe migrate run --kind ${o.kind} (${transforms.map(describeTransform).join(', ')})`,
        transform: (entity) => applyTransforms(entity, transforms),
      },
      description: transforms.map(describeTransform).join('; '),
      kinds: [o.kind],
      scriptNamespaces: { include: [], exclude: [] },
      record: false,
      checksum: '',
      previous: undefined,
    }),
  );
}
