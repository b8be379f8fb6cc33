/**
 * plan.json and the task manifests of a sharded dump — pure.
 *
 * `dspipe dump --plan` cuts every selected kind into key ranges ("parts") of
 * about `partEntities` entities and writes them, with the read time and the
 * kind files a single-machine dump would write, to `<dump>/plan.json`. Each
 * task of the job (`--shard I/N`) takes its parts by `partsOfShard` — the
 * same answer in every process for the same plan and N — and writes one file
 * per part plus `tasks/<I>-of-<N>.json`. `--finalize` joins the parts of each
 * kind, in key order, into the kind file a single machine would have written.
 */
import { DspipeError } from '../errors.js';
import type { IKey } from '../model/proto.js';
import type { Compression } from './manifest.js';
import { extensionFor } from './file-names.js';

export const PLAN_FILE = 'plan.json';
export const PLAN_FORMAT = 'dspipe-dump-plan';
export const PLAN_FORMAT_VERSION = 1;
export const PARTS_DIR = 'parts';
export const TASKS_DIR = 'tasks';

export interface PlanKind {
  namespace: string;
  kind: string;
  /** The kind's file in the finished dump, as a single-machine dump names it. */
  file: string;
  /** Entities at the read time, when the backend could count them. */
  entities: number | null;
  /** How its ranges were found: none needed (one part), __scatter__ keys, or its keys read one by one. */
  sampling: 'scatter' | 'keys' | 'none';
}

export interface PlanPart {
  /** 0, 1, 2, … in kind order, then key order within a kind. */
  id: number;
  namespace: string;
  kind: string;
  /** The range is [start, end) in key order; null is open. */
  start: IKey | null;
  end: IKey | null;
  /** Entities expected in it (for balancing the tasks). */
  estimate: number;
}

export interface DumpPlan {
  format: typeof PLAN_FORMAT;
  formatVersion: number;
  dspipeVersion: string;
  name: string;
  source: { projectId: string; databaseId: string; emulatorHost?: string };
  readTime: string | null;
  snapshot: boolean;
  snapshotReason?: string;
  compression: Compression;
  level: number;
  createdAt: string;
  partEntities: number;
  /** How the ranges were found: '__scatter__' sampling (production), or a keys-only scan where the backend has no scatter. */
  sampling: 'scatter' | 'keys' | 'none';
  kinds: PlanKind[];
  parts: PlanPart[];
}

/** What one task wrote for one part. */
export interface PartDone {
  id: number;
  file: string;
  entities: number;
  rawBytes: number;
  bytes: number;
  sha256: string;
}

export interface TaskManifest {
  format: 'dspipe-dump-task';
  name: string;
  index: number;
  count: number;
  /** The parts this task owns. */
  parts: number[];
  done: PartDone[];
  complete: boolean;
  startedAt: string;
  finishedAt: string | null;
}

/** `parts/00012.ndjson.zst`: a part's file, named by its id only (kind names may be anything). */
export function partFile(id: number, compression: Compression): string {
  return `${PARTS_DIR}/${String(id).padStart(5, '0')}${extensionFor(compression)}`;
}

/** `tasks/0002-of-0008.json`. */
export function taskFile(index: number, count: number): string {
  return `${TASKS_DIR}/${String(index).padStart(4, '0')}-of-${String(count).padStart(4, '0')}.json`;
}

/**
 * The parts task `index` of `count` dumps: largest first, each to the task
 * with the least so far (ties to the lower index) — balanced, and the same in
 * every process. Returned in id order.
 */
export function partsOfShard(plan: Pick<DumpPlan, 'parts'>, index: number, count: number): PlanPart[] {
  const load = new Array<number>(count).fill(0);
  const mine: PlanPart[] = [];
  const bySize = [...plan.parts].sort((a, b) => b.estimate - a.estimate || a.id - b.id);
  for (const part of bySize) {
    let best = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[best]!) best = i;
    // Empty parts still need a task (an empty kind has one): count them as one entity.
    load[best]! += Math.max(1, part.estimate);
    if (best === index) mine.push(part);
  }
  return mine.sort((a, b) => a.id - b.id);
}

function fail(file: string, what: string): never {
  throw new DspipeError('DSPIPE_CORRUPT_DUMP', `${what}`, { file, hint: 'make the plan again: dspipe dump --plan -n NAME --force' });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

export function parsePlan(text: string, file: string): DumpPlan {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(file, `the plan is not valid JSON (${(err as Error).message})`);
  }
  if (!isRecord(data) || data.format !== PLAN_FORMAT) return fail(file, 'is not a dspipe dump plan');
  if (data.formatVersion !== PLAN_FORMAT_VERSION) fail(file, `has plan format version ${JSON.stringify(data.formatVersion)}; this dspipe reads version ${PLAN_FORMAT_VERSION}`);
  if (!isRecord(data.source) || typeof data.source.projectId !== 'string' || typeof data.source.databaseId !== 'string') fail(file, 'the plan has no valid source');
  if (data.readTime !== null && typeof data.readTime !== 'string') fail(file, 'the plan has an invalid read time');
  if (data.compression !== 'zstd' && data.compression !== 'none') fail(file, `the plan has unknown compression ${JSON.stringify(data.compression)}`);
  if (!Array.isArray(data.kinds) || !Array.isArray(data.parts)) return fail(file, 'the plan has no kinds or parts');
  const kinds = new Set<string>();
  data.kinds.forEach((k: unknown, i: number) => {
    if (!isRecord(k) || typeof k.namespace !== 'string' || typeof k.kind !== 'string' || typeof k.file !== 'string') fail(file, `kinds[${i}] of the plan is not a kind`);
    kinds.add(JSON.stringify([k.namespace, k.kind]));
  });
  data.parts.forEach((p: unknown, i: number) => {
    if (!isRecord(p) || p.id !== i || typeof p.namespace !== 'string' || typeof p.kind !== 'string' || !count(p.estimate)) fail(file, `parts[${i}] of the plan is not a part`);
    if (!kinds.has(JSON.stringify([p.namespace, p.kind]))) fail(file, `parts[${i}] of the plan names a kind the plan does not list`);
    if ((p.start !== null && !isRecord(p.start)) || (p.end !== null && !isRecord(p.end))) fail(file, `parts[${i}] of the plan has invalid bounds`);
  });
  return data as unknown as DumpPlan;
}

export function parseTaskManifest(text: string, file: string): TaskManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(file, `the task manifest is not valid JSON (${(err as Error).message})`);
  }
  if (!isRecord(data) || data.format !== 'dspipe-dump-task' || !Array.isArray(data.done) || !Array.isArray(data.parts)) return fail(file, 'is not a dspipe task manifest');
  data.done.forEach((d: unknown, i: number) => {
    if (!isRecord(d) || !count(d.id) || typeof d.file !== 'string' || !count(d.entities) || !count(d.rawBytes) || !count(d.bytes) || typeof d.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d.sha256)) {
      fail(file, `done[${i}] of the task manifest is not a finished part`);
    }
  });
  return data as unknown as TaskManifest;
}

/** Deterministic text, as the manifest's. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A key as plan.json keeps it: partition and path, ids as strings, nothing else of the client's objects. */
export function plainKey(key: IKey): IKey {
  const p = key.partitionId ?? {};
  return {
    partitionId: { projectId: p.projectId ?? '', databaseId: p.databaseId ?? '', namespaceId: p.namespaceId ?? '' },
    path: (key.path ?? []).map((e) => (e.id !== undefined && e.id !== null && String(e.id) !== '0' ? { kind: e.kind ?? '', id: String(e.id) } : { kind: e.kind ?? '', name: e.name ?? '' })),
  };
}
