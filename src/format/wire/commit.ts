/**
 * Commit on the wire: a CommitRequest assembled from Mutation bytes (its size
 * known exactly before it is sent), and the few fields of a CommitResponse a
 * restore reads. Field numbers are google/datastore/v1/datastore.proto's.
 */
import { DspipeError } from '../../errors.js';
import { LEN, VARINT, varintSize, WireCursor, WireFault } from './wire-cursor.js';

const NON_TRANSACTIONAL = 2;

/** Bytes one mutation adds to a CommitRequest: its tag, its length and itself. */
export function mutationFieldBytes(mutation: Uint8Array): number {
  return 1 + varintSize(mutation.length) + mutation.length;
}

function putVarint(buf: Buffer, pos: number, n: number): number {
  while (n > 0x7f) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/**
 * A NON_TRANSACTIONAL CommitRequest: mode (5), the mutations (6), project_id
 * (8) and database_id (9, left out when it is the default database), in
 * field-number order as protobufjs writes them.
 */
export function commitRequestBytes(projectId: string, databaseId: string, mutations: readonly Uint8Array[]): Buffer {
  const project = Buffer.from(projectId, 'utf8');
  const database = Buffer.from(databaseId, 'utf8');
  let size = 2;
  for (const m of mutations) size += mutationFieldBytes(m);
  if (project.length > 0) size += 1 + varintSize(project.length) + project.length;
  if (database.length > 0) size += 1 + varintSize(database.length) + database.length;
  const buf = Buffer.allocUnsafe(size);
  buf[0] = (5 << 3) | VARINT;
  buf[1] = NON_TRANSACTIONAL;
  let p = 2;
  for (const m of mutations) {
    buf[p++] = (6 << 3) | LEN;
    p = putVarint(buf, p, m.length);
    buf.set(m, p);
    p += m.length;
  }
  if (project.length > 0) {
    buf[p++] = (8 << 3) | LEN;
    p = putVarint(buf, p, project.length);
    p += project.copy(buf, p);
  }
  if (database.length > 0) {
    buf[p++] = (9 << 3) | LEN;
    p = putVarint(buf, p, database.length);
    p += database.copy(buf, p);
  }
  return buf;
}

export interface CommitOutcome {
  /** One per mutation, in order: whether its base version no longer matched (nothing was written for it). */
  conflicts: boolean[];
  indexUpdates: number;
}

/** The mutation results' conflict flags and index_updates of a CommitResponse. */
export function decodeCommitResponse(bytes: Buffer): CommitOutcome {
  const r = new WireCursor(bytes);
  const end = bytes.length;
  const conflicts: boolean[] = [];
  let indexUpdates = 0;
  try {
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 3) {
        if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'CommitResponse');
        const e = r.len(end);
        let conflict = false;
        while (r.pos < e) {
          const t = r.uint(e);
          if (t >>> 3 === 5) {
            if ((t & 7) !== VARINT) throw r.wrongType(5, t & 7, VARINT, 'MutationResult');
            conflict = r.uint(e) !== 0;
          } else r.skip(t & 7, e);
        }
        conflicts.push(conflict);
      } else if (field === 4) {
        if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'CommitResponse');
        indexUpdates = r.int32(end);
      } else r.skip(wire, end);
    }
  } catch (err) {
    if (!(err instanceof WireFault)) throw err;
    throw new DspipeError('DSPIPE_RPC_FAILED', `malformed CommitResponse from Datastore: ${err.message} at byte ${err.offset}`, {
      hint: 'retry; if it persists run with --transport object and report it',
    });
  }
  return { conflicts, indexUpdates };
}
