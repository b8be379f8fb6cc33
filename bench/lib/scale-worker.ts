/**
 * One measured run of scale.bench, in a fresh process so its peak RSS is its
 * own: a dspipe dump or restore through the library API, the naive script,
 * or the raw RunQuery ceiling. Takes the job as JSON in argv[2] and prints
 * one JSON result line on stdout.
 */
import { createClient, resolveConnection } from '../../src/datastore/connection.js';
import type { IRunQueryResponse } from '../../src/model/proto.js';
import { dump } from '../../src/commands/dump.js';
import { restore } from '../../src/commands/restore.js';
import { naiveDatastore, naiveDump, naiveRestore } from './naive.js';
import { peakRssMb } from './report.js';

export type ScaleJob =
  /** concurrency / splits / writers left out: dspipe's defaults (and its default transport, wire). */
  | { type: 'dump'; address: string; project: string; root: string; name: string; concurrency?: number; splits?: number }
  | { type: 'naive-dump'; address: string; project: string; kinds: string[]; file: string }
  | { type: 'ceiling'; address: string; project: string; kinds: string[] }
  | { type: 'restore'; address: string; project: string; dir: string; concurrency?: number; writers?: number }
  | { type: 'naive-restore'; address: string; project: string; file: string };

export interface ScaleResult {
  entities: number;
  /** NDJSON (or naive JSON lines) bytes moved. */
  bytes: number;
  seconds: number;
  peakRssMb: number;
  /** RSS once modules are loaded, before the job: what the job adds is peak − base. */
  baseRssMb: number;
}

const SINGLE_ATTEMPT = { retry: null } as unknown as Record<string, never>;

/** Raw RunQuery paging over every kind at once, results dropped: the most the emulator serves. */
async function ceiling(job: Extract<ScaleJob, { type: 'ceiling' }>): Promise<{ entities: number; bytes: number }> {
  const client = createClient(resolveConnection({ emulatorHost: job.address, projectId: job.project }, {}));
  let entities = 0;
  try {
    await Promise.all(
      job.kinds.map(async (kind) => {
        let cursor: Uint8Array | undefined;
        for (;;) {
          const query: Record<string, unknown> = { kind: [{ name: kind }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] };
          if (cursor) query.startCursor = cursor;
          const [r] = (await client.runQuery({ projectId: job.project, query }, SINGLE_ATTEMPT)) as [IRunQueryResponse];
          const batch = r.batch!;
          entities += batch.entityResults!.length;
          cursor = batch.endCursor as Uint8Array;
          if (batch.moreResults !== 'NOT_FINISHED' || batch.entityResults!.length === 0) break;
        }
      }),
    );
  } finally {
    await client.close();
  }
  return { entities, bytes: 0 };
}

async function run(job: ScaleJob): Promise<{ entities: number; bytes: number }> {
  switch (job.type) {
    case 'dump': {
      const s = await dump({ root: job.root, name: job.name, concurrency: job.concurrency, splits: job.splits, force: true }, { connection: { emulatorHost: job.address, projectId: job.project } });
      return { entities: s.entities, bytes: s.rawBytes };
    }
    case 'restore': {
      const r = await restore({ in: job.dir, concurrency: job.concurrency, writers: job.writers }, { connection: { emulatorHost: job.address, projectId: job.project } });
      const bytes = r.kinds.reduce((n, k) => n + k.bytes, 0);
      return { entities: r.written, bytes };
    }
    case 'ceiling':
      return ceiling(job);
    case 'naive-dump':
    case 'naive-restore': {
      const ds = naiveDatastore(job.address, job.project);
      try {
        return job.type === 'naive-dump' ? await naiveDump(ds, job.kinds, job.file) : await naiveRestore(ds, job.file);
      } finally {
        // the high-level client keeps its gRPC channels open otherwise
        await (ds as unknown as { clients_: Map<string, { close(): Promise<void> }> }).clients_?.forEach((c) => void c.close());
      }
    }
  }
}

const job = JSON.parse(process.argv[2] ?? '') as ScaleJob;
const baseRssMb = process.memoryUsage().rss / 2 ** 20;
const start = performance.now();
const { entities, bytes } = await run(job);
const result: ScaleResult = { entities, bytes, seconds: (performance.now() - start) / 1000, peakRssMb: peakRssMb(), baseRssMb };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
