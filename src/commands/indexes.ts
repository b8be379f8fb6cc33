/**
 * `indexes`: an index.yaml against the composite indexes deployed, through
 * the Datastore Admin API (`v1.DatastoreAdminClient`):
 *
 *   indexesDiff    what is missing, what is extra, and each one's state
 *   indexesCreate  creates what is missing (never deletes); `wait` then waits
 *   indexesWait    blocks until every index of the file is READY
 *   indexesPrune   deletes the indexes the file does not list (confirmed like clear)
 *
 * The deploy order of a new query — indexes first, then the code once they
 * are READY — is `dspipe indexes create index.yaml --wait && deploy`.
 *
 * Single-property entries in the file are Datastore's built-in indexes: they
 * need no declaring (the Admin API refuses to create them), so they count as
 * ready and are never created.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DspipeError } from '../errors.js';
import { createAdminClient, type DatastoreAdminClient } from '../datastore/connection.js';
import { describeIndex, indexIdentity, parseIndexYaml, type IndexDefinition } from '../format/index-yaml.js';
import { checkPruneConfirmation, EMULATOR_POLL_MS, normalizeIndexesOptions, type IndexesOptions, type IndexesOptionsInput } from '../options/indexes.js';
import { describeRpcError, withCommandContext, type CommandContext, type ResolvedContext } from './context.js';

export type DeployedState = 'CREATING' | 'READY' | 'DELETING' | 'ERROR' | 'STATE_UNSPECIFIED';

export interface DeployedIndex {
  indexId: string;
  definition: IndexDefinition;
  state: DeployedState;
}

export interface FileIndexStatus {
  definition: IndexDefinition;
  /** MISSING: not deployed; BUILT_IN: a single-property index Datastore always has. */
  state: DeployedState | 'MISSING' | 'BUILT_IN';
  indexId?: string;
}

export interface IndexesDiff {
  target: { projectId: string };
  file: string;
  /** Every index of the file, in file order, with its deployed state. */
  indexes: FileIndexStatus[];
  /** Deployed composite indexes the file does not list. */
  extra: DeployedIndex[];
  missing: IndexDefinition[];
  /** Every index of the file is READY (or built in). */
  ready: boolean;
}

export type IndexesEvent =
  | { type: 'created'; index: IndexDefinition; indexId: string }
  | { type: 'deleted'; index: IndexDefinition; indexId: string }
  /** One look while waiting: how many of the file's indexes are READY. */
  | { type: 'waiting'; ready: number; total: number; building: FileIndexStatus[]; elapsedMs: number };

export interface IndexesContext extends CommandContext<IndexesEvent> {
  /** Use this Admin API client; it is not closed. By default one is created and closed. */
  adminClient?: DatastoreAdminClient;
}

export type IndexesCommandOptions = IndexesOptionsInput;

export interface IndexesCreateResult extends IndexesDiff {
  created: DeployedIndex[];
  waited: boolean;
  seconds: number;
}

export interface IndexesPruneResult extends IndexesDiff {
  deleted: DeployedIndex[];
}

const STATES: DeployedState[] = ['STATE_UNSPECIFIED', 'CREATING', 'READY', 'DELETING', 'ERROR'];

function stateOf(v: unknown): DeployedState {
  if (typeof v === 'number') return STATES[v] ?? 'STATE_UNSPECIFIED';
  return STATES.includes(v as DeployedState) ? (v as DeployedState) : 'STATE_UNSPECIFIED';
}

interface AdminIndexObject {
  indexId?: string | null;
  kind?: string | null;
  ancestor?: unknown;
  state?: unknown;
  properties?: { name?: string | null; direction?: unknown }[] | null;
}

function fromAdmin(i: AdminIndexObject): DeployedIndex {
  return {
    indexId: i.indexId ?? '',
    state: stateOf(i.state),
    definition: {
      kind: i.kind ?? '',
      ancestor: i.ancestor === 'ALL_ANCESTORS' || i.ancestor === 2,
      properties: (i.properties ?? []).map((p) => ({ name: p.name ?? '', direction: p.direction === 'DESCENDING' || p.direction === 2 ? 'desc' : 'asc' })),
    },
  };
}

function toAdmin(d: IndexDefinition) {
  return {
    kind: d.kind,
    ancestor: d.ancestor ? ('ALL_ANCESTORS' as const) : ('NONE' as const),
    properties: d.properties.map((p) => ({ name: p.name, direction: p.direction === 'desc' ? ('DESCENDING' as const) : ('ASCENDING' as const) })),
  };
}

/** Single-property indexes without ancestors are built in (and `__key__ desc` alone is not). */
function builtIn(d: IndexDefinition): boolean {
  return !d.ancestor && d.properties.length <= 1 && !(d.properties[0]?.name === '__key__' && d.properties[0].direction === 'desc');
}

async function readIndexFile(file: string): Promise<IndexDefinition[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DspipeError(code === 'ENOENT' ? 'DSPIPE_NOT_FOUND' : 'DSPIPE_IO', code === 'ENOENT' ? 'no such index file' : `cannot read the index file: ${(err as Error).message}`, {
      file,
      hint: 'name your index.yaml, e.g. dspipe indexes diff index.yaml',
      cause: err,
    });
  }
  const seen = new Set<string>();
  return parseIndexYaml(text, file).filter((d) => {
    const id = indexIdentity(d);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

interface Session {
  ctx: ResolvedContext<IndexesEvent>;
  admin: DatastoreAdminClient;
  projectId: string;
  options: IndexesOptions;
  wanted: IndexDefinition[];
}

async function withAdmin<T>(input: IndexesCommandOptions, context: IndexesContext, body: (s: Session) => Promise<T>): Promise<T> {
  const options = normalizeIndexesOptions(input);
  const wanted = await readIndexFile(options.file);
  return withCommandContext(context, async (ctx) => {
    const connection = ctx.connection;
    if (connection.databaseId !== '') {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `the Datastore Admin API manages the indexes of the (default) database; --database ${JSON.stringify(connection.databaseId)} is not supported`, {
        hint: 'leave out --database (named databases keep their indexes in the Firestore Admin API: gcloud firestore indexes composite)',
      });
    }
    const admin = context.adminClient ?? createAdminClient(connection);
    try {
      return await body({ ctx, admin, projectId: connection.projectId, options, wanted });
    } catch (err) {
      if (err instanceof DspipeError || (err as Error)?.name === 'AbortError' || ctx.signal.aborted) throw err;
      throw new DspipeError('DSPIPE_RPC_FAILED', `the Datastore Admin API failed: ${describeRpcError(err)}`, { cause: err });
    } finally {
      if (context.adminClient === undefined) await admin.close();
    }
  });
}

async function deployed(s: Session): Promise<DeployedIndex[]> {
  const [list] = await s.admin.listIndexes({ projectId: s.projectId });
  return (list as AdminIndexObject[]).map(fromAdmin);
}

function compare(s: Session, live: DeployedIndex[]): IndexesDiff {
  const byId = new Map(live.map((d) => [indexIdentity(d.definition), d]));
  const wantedIds = new Set(s.wanted.map(indexIdentity));
  const indexes: FileIndexStatus[] = s.wanted.map((definition) => {
    if (builtIn(definition)) return { definition, state: 'BUILT_IN' };
    const d = byId.get(indexIdentity(definition));
    return d ? { definition, state: d.state, indexId: d.indexId } : { definition, state: 'MISSING' };
  });
  return {
    target: { projectId: s.projectId },
    file: s.options.file,
    indexes,
    extra: live.filter((d) => !wantedIds.has(indexIdentity(d.definition))),
    missing: indexes.filter((i) => i.state === 'MISSING').map((i) => i.definition),
    ready: indexes.every((i) => i.state === 'READY' || i.state === 'BUILT_IN'),
  };
}

/** The deployed composite indexes against the file: missing, extra, and each one's state. */
export async function indexesDiff(options: IndexesCommandOptions, context: IndexesContext = {}): Promise<IndexesDiff> {
  return withAdmin(options, context, async (s) => compare(s, await deployed(s)));
}

/**
 * Polls until every index of the file is READY. Fails naming the index that
 * went to ERROR, one that is not deployed, or the ones still building at the
 * timeout.
 */
async function waitReady(s: Session): Promise<IndexesDiff> {
  const started = performance.now();
  const pollMs = s.options.pollMs ?? (s.ctx.connection.emulatorHost !== undefined ? EMULATOR_POLL_MS : 5000);
  for (;;) {
    const diff = compare(s, await deployed(s));
    const failed = diff.indexes.find((i) => i.state === 'ERROR');
    if (failed) {
      throw new DspipeError('DSPIPE_RPC_FAILED', `index ${describeIndex(failed.definition)} (${failed.indexId}) is in ERROR: its build failed`, {
        kind: failed.definition.kind,
        file: s.options.file,
        hint: 'fix the data that broke it (often an exploding index over array properties), then delete the index and create it again',
      });
    }
    const missing = diff.indexes.find((i) => i.state === 'MISSING' || i.state === 'DELETING');
    if (missing) {
      throw new DspipeError('DSPIPE_NOT_FOUND', `index ${describeIndex(missing.definition)} is ${missing.state === 'MISSING' ? 'not deployed' : 'being deleted'}, so it will never be READY`, {
        kind: missing.definition.kind,
        file: s.options.file,
        hint: 'create it first: dspipe indexes create index.yaml --wait',
      });
    }
    const building = diff.indexes.filter((i) => i.state !== 'READY' && i.state !== 'BUILT_IN');
    const elapsedMs = performance.now() - started;
    s.ctx.emit({ type: 'waiting', ready: diff.indexes.length - building.length, total: diff.indexes.length, building, elapsedMs });
    if (building.length === 0) return diff;
    if (elapsedMs + pollMs > s.options.timeoutMs) {
      throw new DspipeError('DSPIPE_RPC_FAILED', `timed out after ${Math.round(elapsedMs / 1000)} s with ${building.length} index${building.length === 1 ? '' : 'es'} not READY: ${building.map((i) => `${describeIndex(i.definition)} ${i.state}`).join('; ')}`, {
        file: s.options.file,
        hint: 'large kinds take long to index: wait longer with --timeout SECONDS, or run dspipe indexes wait index.yaml again',
      });
    }
    await sleep(pollMs, undefined, { signal: s.ctx.signal });
  }
}

/** Creates the file's indexes that are not deployed (never deletes); with `wait`, waits for READY. */
export async function indexesCreate(options: IndexesCommandOptions, context: IndexesContext = {}): Promise<IndexesCreateResult> {
  const started = performance.now();
  return withAdmin(options, context, async (s) => {
    const before = compare(s, await deployed(s));
    const created: DeployedIndex[] = [];
    for (const definition of before.missing) {
      let indexId = '';
      try {
        const [operation] = await s.admin.createIndex({ projectId: s.projectId, index: toAdmin(definition) });
        indexId = (operation.metadata as { indexId?: string } | null)?.indexId ?? '';
      } catch (err) {
        // Created meanwhile (another deploy): that is what we wanted.
        if ((err as { code?: number }).code !== 6) {
          throw new DspipeError('DSPIPE_RPC_FAILED', `creating index ${describeIndex(definition)} failed: ${describeRpcError(err)}`, { kind: definition.kind, file: s.options.file, cause: err });
        }
      }
      created.push({ indexId, definition, state: 'CREATING' });
      s.ctx.emit({ type: 'created', index: definition, indexId });
    }
    const after = s.options.wait ? await waitReady(s) : compare(s, await deployed(s));
    return { ...after, created, waited: s.options.wait, seconds: (performance.now() - started) / 1000 };
  });
}

/** Blocks until every index of the file is READY; fails on ERROR, a missing index or the timeout. */
export async function indexesWait(options: IndexesCommandOptions, context: IndexesContext = {}): Promise<IndexesDiff> {
  return withAdmin(options, context, waitReady);
}

/** Deletes the deployed composite indexes the file does not list; confirmed like clear. */
export async function indexesPrune(options: IndexesCommandOptions, context: IndexesContext = {}): Promise<IndexesPruneResult> {
  return withAdmin(options, context, async (s) => {
    // Confirmed before anything is asked of Datastore, like clear.
    checkPruneConfirmation(s.options, s.ctx.connection);
    const before = compare(s, await deployed(s));
    const doomed = before.extra.filter((d) => d.state === 'READY' || d.state === 'ERROR');
    const deleted: DeployedIndex[] = [];
    for (const d of doomed) {
      const [operation] = await s.admin.deleteIndex({ projectId: s.projectId, indexId: d.indexId });
      await operation.promise();
      deleted.push(d);
      s.ctx.emit({ type: 'deleted', index: d.definition, indexId: d.indexId });
    }
    return { ...compare(s, await deployed(s)), deleted };
  });
}
