/**
 * The emulator's storage: per database, per namespace, a sorted index of all
 * rows (kindless scans) and one per kind, each row holding its versions
 * (MVCC) so reads at an earlier read time see the data as it was. Stored
 * entities are never mutated after they are written, so reads hand them out
 * without copying. Versions older than the retention window are dropped
 * lazily when a row is written again, and rows whose only version is an old
 * deletion are swept out at commit time.
 */
import type { IKey, ITimestamp } from '../model/proto.js';
import { compareUtf8 } from '../model/key-order.js';
import type { DatabaseSnapshot, ScanStart, StoredEntity } from './snapshot.js';
import { SortedIndex } from './sorted-index.js';
import { Clock, toTimestamp } from './clock.js';
import { encodePath } from './keys.js';
import { IdAllocator } from './ids.js';

export interface Version {
  /** Commit time in microseconds; also the entity's version number. */
  readonly time: number;
  /** The entity as of this version; null for a deletion. */
  readonly entity: StoredEntity | null;
}

/**
 * One key's versions. The newest is held in the row itself and older ones
 * only while a read may still reach them, so the common row (written once,
 * or not rewritten within the retention window) is one small object.
 */
export class Row implements Version {
  readonly sortKey: string;
  readonly kind: string;
  /** The newest version. */
  time: number;
  entity: StoredEntity | null;
  /** Older versions still readable, oldest first; undefined when there are none. */
  older: Version[] | undefined = undefined;

  constructor(sortKey: string, kind: string, time: number, entity: StoredEntity | null) {
    this.sortKey = sortKey;
    this.kind = kind;
    this.time = time;
    this.entity = entity;
  }

  latest(): Version {
    return this;
  }

  /** The entity visible at `readTime`, or null. */
  at(readTime: number): StoredEntity | null {
    if (this.time <= readTime) return this.entity;
    const v = this.older;
    if (v !== undefined) for (let i = v.length - 1; i >= 0; i--) if (v[i]!.time <= readTime) return v[i]!.entity;
    return null;
  }

  /** Version time of the entity's state at `readTime` (0 if it never existed). */
  versionAt(readTime: number): number {
    if (this.time <= readTime) return this.time;
    const v = this.older;
    if (v !== undefined) for (let i = v.length - 1; i >= 0; i--) if (v[i]!.time <= readTime) return v[i]!.time;
    return 0;
  }
}

export class KindState {
  readonly index = new SortedIndex<Row>();
  /** Live (not deleted) entities now. */
  live = 0;
  /** Time of the last commit that touched this kind. */
  lastWrite = 0;
}

export class NamespaceState {
  readonly rows = new SortedIndex<Row>();
  readonly kinds = new Map<string, KindState>();
  live = 0;
  lastWrite = 0;

  kind(kind: string): KindState {
    let k = this.kinds.get(kind);
    if (k === undefined) this.kinds.set(kind, (k = new KindState()));
    return k;
  }
}

export class Database {
  readonly projectId: string;
  readonly databaseId: string;
  readonly namespaces = new Map<string, NamespaceState>();
  readonly ids: IdAllocator;
  lastWrite = 0;

  constructor(projectId: string, databaseId: string) {
    this.projectId = projectId;
    this.databaseId = databaseId;
    this.ids = new IdAllocator();
  }

  namespace(ns: string): NamespaceState {
    let n = this.namespaces.get(ns);
    if (n === undefined) this.namespaces.set(ns, (n = new NamespaceState()));
    return n;
  }

  row(ns: string, sortKey: string): Row | undefined {
    return this.namespaces.get(ns)?.rows.get(sortKey);
  }
}

export interface StoreOptions {
  /** How long old versions stay readable (default one hour, like Datastore without PITR). */
  retentionMs?: number;
}

export const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

/** A row write as the durable log records it: the entity, or the key of a deletion. */
export interface RowWrite {
  key: IKey;
  entity: StoredEntity | null;
}

export class Store {
  readonly clock = new Clock();
  readonly retentionMicros: number;
  private readonly dbs = new Map<string, Database>();
  /** When set, every write that changes a row is pushed here (durable.ts records a commit's writes). */
  collect: RowWrite[] | undefined;
  /** Rows whose latest version is a deletion, with its time, oldest first. */
  private tombstones: { db: Database; ns: string; row: Row; time: number }[] = [];

  constructor(options: StoreOptions = {}) {
    this.retentionMicros = (options.retentionMs ?? DEFAULT_RETENTION_MS) * 1000;
  }

  database(projectId: string, databaseId: string): Database {
    const id = `${projectId}\u0000${databaseId}`;
    let db = this.dbs.get(id);
    if (db === undefined) this.dbs.set(id, (db = new Database(projectId, databaseId)));
    return db;
  }

  databases(): IterableIterator<Database> {
    return this.dbs.values();
  }

  /** Drops every database (POST /reset); the clock goes on, so versions never repeat. */
  clear(): void {
    this.dbs.clear();
    this.tombstones = [];
  }

  /** Earliest read time still served. */
  oldestReadable(): number {
    return this.clock.now() - this.retentionMicros;
  }

  snapshot(db: Database, readTime: number): DatabaseSnapshot {
    return new Snapshot(db, readTime);
  }

  /**
   * Writes one new version of a row (entity, or null to delete) at `time`.
   * The caller has validated everything and holds the commit's single time.
   */
  write(db: Database, ns: string, sortKey: string, kind: string, entity: StoredEntity | null, time: number): void {
    const nsState = db.namespace(ns);
    const kindState = nsState.kind(kind);
    let row = nsState.rows.get(sortKey);
    let wasLive = false;
    if (row === undefined) {
      if (entity === null) return; // deleting what never existed leaves no trace
      row = new Row(sortKey, kind, time, entity);
      nsState.rows.insert(row);
      kindState.index.insert(row);
    } else {
      const before = row.entity;
      wasLive = before !== null;
      if (this.collect !== undefined && entity === null && before !== null) this.collect.push({ key: before.key, entity: null });
      this.keepOlder(row, time);
      row.time = time;
      row.entity = entity;
    }
    if (this.collect !== undefined && entity !== null) this.collect.push({ key: entity.key, entity });
    const delta = (entity !== null ? 1 : 0) - (wasLive ? 1 : 0);
    kindState.live += delta;
    nsState.live += delta;
    kindState.lastWrite = nsState.lastWrite = db.lastWrite = time;
    if (entity === null && wasLive) this.tombstones.push({ db, ns, row, time });
  }

  /**
   * Before a row takes a new version at `now`: keeps its current one among
   * the older versions while reads may reach it, and drops what no read can
   * reach any more (all but the newest version older than retention).
   */
  private keepOlder(row: Row, now: number): void {
    if (row.time === now) return; // replaced within one instant: no read sees the old state
    const horizon = now - this.retentionMicros;
    // A current version past retention is the oldest any read can still need.
    const v = row.time <= horizon || row.older === undefined ? [] : row.older;
    v.push({ time: row.time, entity: row.entity });
    let keepFrom = 0;
    for (let i = v.length - 1; i >= 0; i--) {
      if (v[i]!.time <= horizon) {
        keepFrom = i;
        break;
      }
    }
    row.older = keepFrom > 0 ? v.slice(keepFrom) : v;
  }

  /** Removes rows deleted longer ago than retention (called after commits). */
  sweep(): void {
    const horizon = this.clock.now() - this.retentionMicros;
    let i = 0;
    for (; i < this.tombstones.length && this.tombstones[i]!.time <= horizon; i++) {
      const { db, ns, row, time } = this.tombstones[i]!;
      const latest = row.latest();
      if (latest === undefined || latest.time !== time || latest.entity !== null) continue;
      const nsState = db.namespaces.get(ns);
      if (nsState === undefined) continue;
      nsState.rows.remove(row.sortKey);
      const kindState = nsState.kinds.get(row.kind);
      kindState?.index.remove(row.sortKey);
      if (kindState !== undefined && kindState.index.size === 0) nsState.kinds.delete(row.kind);
      if (nsState.rows.size === 0) db.namespaces.delete(ns);
    }
    if (i > 0) this.tombstones = this.tombstones.slice(i);
  }
}

/** A read-consistent view of one database at one read time. */
class Snapshot implements DatabaseSnapshot {
  readonly projectId: string;
  readonly databaseId: string;
  readonly readTime: ITimestamp;
  private readonly db: Database;
  private readonly time: number;

  constructor(db: Database, time: number) {
    this.db = db;
    this.time = time;
    this.projectId = db.projectId;
    this.databaseId = db.databaseId;
    this.readTime = toTimestamp(time);
  }

  /** Whether the view is the current state, so live counters apply. */
  private get current(): boolean {
    return this.time >= this.db.lastWrite;
  }

  namespaces(): string[] {
    const out: string[] = [];
    for (const [ns, state] of this.db.namespaces) {
      if (this.current ? state.live > 0 : this.anyVisible(state.rows)) out.push(ns);
    }
    return out.sort(compareUtf8);
  }

  kinds(namespace: string): string[] {
    const state = this.db.namespaces.get(namespace);
    if (state === undefined) return [];
    const out: string[] = [];
    for (const [kind, k] of state.kinds) {
      if (this.current ? k.live > 0 : this.anyVisible(k.index)) out.push(kind);
    }
    return out.sort(compareUtf8);
  }

  private anyVisible(index: SortedIndex<Row>): boolean {
    for (const row of index.iterate()) if (row.at(this.time) !== null) return true;
    return false;
  }

  private index(namespace: string, kind: string | undefined): SortedIndex<Row> | undefined {
    const state = this.db.namespaces.get(namespace);
    if (state === undefined) return undefined;
    return kind === undefined ? state.rows : state.kinds.get(kind)?.index;
  }

  *scan(namespace: string, kind: string | undefined, start?: ScanStart): Iterable<StoredEntity> {
    const index = this.index(namespace, kind);
    if (index === undefined) return;
    const from = start === undefined ? undefined : encodePath(start.key.path ?? []);
    const time = this.time;
    for (const row of index.iterate(from, start?.inclusive ?? true)) {
      const e = row.at(time);
      if (e !== null) yield e;
    }
  }

  count(namespace: string, kind: string | undefined): number {
    const state = this.db.namespaces.get(namespace);
    if (state === undefined) return 0;
    if (this.current) return kind === undefined ? state.live : (state.kinds.get(kind)?.live ?? 0);
    let n = 0;
    for (const _ of this.scan(namespace, kind)) n++;
    return n;
  }
}
