/**
 * Durable persistence for `--data-dir`: every commit (and every id
 * allocation or reservation) is appended to a log before the client is
 * answered, and the log is fsync'd in groups (journal-file.ts), so a commit
 * acknowledged to a client survives `kill -9`; one commit is one record, so a
 * commit cut off by a crash is either whole or absent, never half-applied.
 * On start the last snapshot is loaded and the log segments after it are
 * replayed. When the log has grown past `compactBytes`, a new segment is
 * started and a snapshot of the store at that instant is written beside it
 * (read through the store's MVCC, so commits go on meanwhile), fsync'd,
 * renamed into place, and the segments it covers are deleted.
 *
 *   DIR/snapshot.dsp      latest entities of every database, ids allocated and reserved
 *   DIR/log-000007.dsp    commits after the snapshot, in order
 *
 * What is not kept across a restart: versions older than the latest (reads at
 * an earlier read_time), and open transactions. Entities are visible to other
 * readers as soon as a commit applies, a moment before its fsync: a crash in
 * that moment loses a commit nobody was told had succeeded.
 */
import { mkdir, readdir, rename, rm, truncate, open } from 'node:fs/promises';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { DspipeError } from '../errors.js';
import type { IKey } from '../model/proto.js';
import { encodePath, normalizeKey } from './keys.js';
import { serviceDefinition } from './server.js';
import type { StoredEntity } from './snapshot.js';
import type { Database, RowWrite, Store } from './store.js';
import { encodeLookupResponse } from './wire.js';
import { decodeLookupEntities, PackedEntity } from './packed.js';
import { forEachRecord, frame, GroupWriter, LOG_MAGIC, SNAPSHOT_MAGIC, type ReadRecord } from './journal-file.js';

export const SNAPSHOT_FILE = 'snapshot.dsp';
const SEGMENT = /^log-(\d{6,})\.dsp$/;
const segmentName = (seq: number) => `log-${String(seq).padStart(6, '0')}.dsp`;

/** Compact once the log holds this much (default 256 MiB). */
export const DEFAULT_COMPACT_BYTES = 256 * 1024 * 1024;
/** Entities per snapshot record. */
const SNAPSHOT_CHUNK = 1000;

export interface DurableOptions {
  compactBytes?: number;
  /** Where warnings go (a torn last record); default stderr. */
  warn?: (message: string) => void;
}

type Lookup = grpc.MethodDefinition<object, Record<string, unknown>>;
const lookupMethod = () => serviceDefinition().Lookup as unknown as Lookup;

function encodeEntities(found: StoredEntity[], deleted: IKey[]): Buffer {
  const response = {
    // A stored entity goes in whole: the encoder copies its packed property bytes (packed.ts).
    found: found.map((e) => ({ entity: e, version: e.version, createTime: e.createTime, updateTime: e.updateTime })),
    missing: deleted.map((key) => ({ entity: { key } })),
  };
  return encodeLookupResponse(response) ?? lookupMethod().responseSerialize(response);
}

/**
 * A record's entities, their properties left encoded (packed.ts): replay
 * decodes keys and times only, which is what makes a restart quick.
 */
function decodeEntities(body: Buffer, scope: { projectId: string; databaseId: string }): { found: StoredEntity[]; deleted: IKey[] } {
  if (body.length === 0) return { found: [], deleted: [] };
  const decoded = decodeLookupEntities(body);
  const rules = { allowIncomplete: false, refuseReserved: false };
  return {
    found: decoded.found.map((r) => new PackedEntity(normalizeKey(r.key, scope, rules), r.packed, r.createMicros, r.updateMicros)),
    deleted: decoded.missing.map((key) => normalizeKey(key, scope, rules)),
  };
}

function apply(store: Store, db: Database, found: StoredEntity[], deleted: IKey[], time: (e: StoredEntity | null) => number): void {
  for (const e of found) {
    const p = e.key.path!;
    store.write(db, e.key.partitionId!.namespaceId!, encodePath(p), p[p.length - 1]!.kind!, e, time(e));
  }
  for (const key of deleted) {
    const p = key.path!;
    store.write(db, key.partitionId!.namespaceId!, encodePath(p), p[p.length - 1]!.kind!, null, time(null));
  }
}

export class DurableLog {
  private writer!: GroupWriter;
  private seq = 0;
  private compacting: Promise<void> | undefined;
  private readonly compactBytes: number;

  private constructor(
    readonly dir: string,
    private store: () => Store,
    options: DurableOptions,
  ) {
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
  }

  /** Loads what `dir` holds into the store and opens a fresh log segment. */
  static async open(dir: string, store: () => Store, options: DurableOptions = {}): Promise<DurableLog> {
    const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
    await mkdir(dir, { recursive: true });
    const log = new DurableLog(dir, store, options);
    const through = await log.loadSnapshot();
    const segments = (await readdir(dir))
      .map((f) => SEGMENT.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const live = segments.filter((s) => s > through);
    for (const [i, seq] of live.entries()) {
      const file = path.join(dir, segmentName(seq));
      // Records apply as they are read; a damaged file stops the start, so what it half-loaded is never served.
      const end = await forEachRecord(file, LOG_MAGIC, (r) => log.replay(r, file));
      if (end.kind === 'corrupt' || (end.kind === 'torn' && i < live.length - 1)) {
        throw corrupt(file, end.offset, end.kind === 'corrupt' ? end.why : 'a record is cut off, and later segments follow');
      }
      if (end.kind === 'torn') {
        warn(`dspipe emulator: ${file}: ignoring a torn last record at offset ${end.offset} (${end.size - end.offset} bytes: a write cut off by a crash; it was never acknowledged)`);
        await truncate(file, end.offset);
      }
    }
    // Segments the snapshot covers are leftovers of a compaction cut short: they hold nothing new.
    for (const seq of segments.filter((s) => s <= through)) await rm(path.join(dir, segmentName(seq)), { force: true });
    log.seq = Math.max(through, ...segments) + 1;
    log.writer = await GroupWriter.open(path.join(dir, segmentName(log.seq)), LOG_MAGIC);
    return log;
  }

  private async loadSnapshot(): Promise<number> {
    const file = path.join(this.dir, SNAPSHOT_FILE);
    const store = this.store();
    let head: ReadRecord['header'] | undefined;
    let last: ReadRecord['header'] | undefined;
    let first = -1;
    let end;
    try {
      end = await forEachRecord(file, SNAPSHOT_MAGIC, (r) => {
        last = r.header;
        if (head === undefined) {
          head = r.header;
          first = r.offset;
          if (head.snapshot === true) store.clock.advanceTo(Number(head.clock));
          return;
        }
        if (head.snapshot !== true || r.header.end === true) return;
        const db = store.database(String(r.header.p), String(r.header.d));
        if (typeof r.header.ids === 'number') db.ids.restore(r.header.ids);
        for (const id of (r.header.res as string[] | undefined) ?? []) db.ids.reserve(id);
        const { found } = decodeEntities(r.body, { projectId: db.projectId, databaseId: db.databaseId });
        apply(store, db, found, [], (e) => Number(e!.version));
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    // A snapshot is renamed into place only once complete: any damage is corruption.
    if (end.kind !== 'clean') throw corrupt(file, end.offset, end.kind === 'corrupt' ? end.why : 'the file is cut off');
    if (head?.snapshot !== true || last?.end !== true) throw corrupt(file, first >= 0 ? first : 8, 'not a complete snapshot');
    return Number(head.through);
  }

  private replay(r: ReadRecord, file: string): void {
    const store = this.store();
    const h = r.header;
    if (h.reset === true) {
      store.clear();
      return;
    }
    const db = store.database(String(h.p), String(h.d));
    if (typeof h.ids === 'number') db.ids.restore(h.ids);
    for (const id of (h.res as string[] | undefined) ?? []) db.ids.reserve(id);
    if (typeof h.t !== 'number') return;
    const time = h.t;
    let decoded;
    try {
      decoded = decodeEntities(r.body, { projectId: db.projectId, databaseId: db.databaseId });
    } catch (err) {
      throw corrupt(file, r.offset, `the record does not decode (${(err as Error).message})`);
    }
    store.clock.advanceTo(time);
    apply(store, db, decoded.found, decoded.deleted, () => time);
  }

  /**
   * Makes a mutation durable: the rows it wrote at `time`, and the database's
   * id counter and newly reserved ids. Resolves once it is on disk.
   */
  append(db: Database, writes: readonly RowWrite[], time: number | undefined, reserved: readonly string[] = []): Promise<void> {
    const found: StoredEntity[] = [];
    const deleted: IKey[] = [];
    for (const w of writes) {
      if (w.entity !== null) found.push(w.entity);
      else deleted.push(w.key);
    }
    const header: Record<string, unknown> = { p: db.projectId, d: db.databaseId, ids: db.ids.allocated };
    if (time !== undefined) header.t = time;
    if (reserved.length > 0) header.res = reserved;
    const done = this.writer.append(frame(header, writes.length > 0 ? encodeEntities(found, deleted) : undefined));
    if (this.writer.bytes > this.compactBytes && this.compacting === undefined) {
      this.compacting = this.compact().finally(() => (this.compacting = undefined));
      this.compacting.catch((err: unknown) => process.stderr.write(`dspipe emulator: compaction failed: ${(err as Error).message}\n`));
    }
    return done;
  }

  /** Everything dropped (POST /reset): recorded, so a restart does not bring it back. */
  async reset(): Promise<void> {
    await this.writer.append(frame({ reset: true }));
    await this.compact();
  }

  /**
   * Starts a new segment, then writes a snapshot of the store as of that
   * instant; once it is durable the older segments go.
   */
  async compact(): Promise<void> {
    await this.compacting;
    const store = this.store();
    const through = this.seq;
    const next = await GroupWriter.open(path.join(this.dir, segmentName(through + 1)), LOG_MAGIC);
    // Swap segments and take the snapshot's instant in one synchronous step: every commit
    // applied up to `time` is in a segment <= through, every later one in the new segment.
    const oldWriter = this.writer;
    this.writer = next;
    this.seq = through + 1;
    const time = store.clock.tick();
    await oldWriter.close();

    const temp = path.join(this.dir, `${SNAPSHOT_FILE}.tmp`);
    const handle = await open(temp, 'w');
    try {
      const chunks: Buffer[] = [SNAPSHOT_MAGIC, frame({ snapshot: true, through, clock: time })];
      let pending = 0;
      const flush = async () => {
        await handle.writev(chunks.splice(0));
        pending = 0;
      };
      for (const db of store.databases()) {
        const view = store.snapshot(db, time);
        let batch: StoredEntity[] = [];
        const reserved = [...db.ids.reservedIds()];
        const emit = async (last: boolean) => {
          if (batch.length === 0 && !last) return;
          chunks.push(frame({ p: db.projectId, d: db.databaseId, ids: db.ids.allocated, ...(last && reserved.length > 0 && { res: reserved }) }, encodeEntities(batch, [])));
          pending += batch.length;
          batch = [];
          if (pending >= SNAPSHOT_CHUNK * 8) await flush();
        };
        for (const ns of view.namespaces()) {
          for (const e of view.scan(ns, undefined)) {
            batch.push(e);
            if (batch.length >= SNAPSHOT_CHUNK) await emit(false);
          }
        }
        await emit(true);
      }
      chunks.push(frame({ end: true }));
      await flush();
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, path.join(this.dir, SNAPSHOT_FILE));
    await syncDir(this.dir);
    for (const f of await readdir(this.dir)) {
      const m = SEGMENT.exec(f);
      if (m !== null && Number(m[1]) <= through) await rm(path.join(this.dir, f), { force: true });
    }
  }

  /** Bytes in the current log segment. */
  get logBytes(): number {
    return this.writer.bytes;
  }

  async close(): Promise<void> {
    await this.compacting?.catch(() => undefined);
    await this.writer.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is then as durable as they make it.
  } finally {
    await handle.close();
  }
}

function corrupt(file: string, offset: number, why: string): DspipeError {
  return new DspipeError('DSPIPE_IO', `${file} is corrupt at offset ${offset}: ${why}; the emulator will not start on it`, {
    file,
    hint: 'move the file out of --data-dir to start without what it holds, or restore the folder from a copy',
  });
}
