/**
 * One measured run of wire.bench in a fresh process, so that its CPU time
 * (process.cpuUsage: user + system of this process alone; the emulator runs
 * in another) and its peak RSS are the client's own: a dspipe dump or
 * restore with either transport, a naive script, or one of two read
 * ceilings. Takes the job as JSON in argv[2] (with --warm: run once unmeasured
 * first), prints one JSON line.
 */
import { createClient, resolveConnection } from '../../src/datastore/connection.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';
import type { IRunQueryResponse } from '../../src/model/proto.js';
import { dump } from '../../src/commands/dump.js';
import { restore } from '../../src/commands/restore.js';
import { naiveDatastore, naiveDump, naiveRestore } from './naive.js';
import { peakRssMb } from './report.js';

export type WireJob =
  | { type: 'dump'; transport: 'wire' | 'object'; address: string; project: string; kind: string; root: string; name: string; compress?: 'zstd' | 'none' }
  | { type: 'restore'; transport: 'wire' | 'object'; address: string; project: string; dir: string }
  | { type: 'naive-dump'; address: string; project: string; kind: string; file: string }
  | { type: 'naive-restore'; address: string; project: string; file: string }
  /** RunQuery paging through the client library, each response decoded into objects and dropped. */
  | { type: 'ceiling-decode'; address: string; project: string; kind: string }
  /** RunQuery paging through the raw transport, response bytes dropped undecoded (cursor read by a scan). */
  | { type: 'ceiling-bytes'; address: string; project: string; kind: string };

export interface WireResult {
  entities: number;
  seconds: number;
  /** User + system CPU of this process during the job, µs. */
  cpuUs: number;
  peakRssMb: number;
  /** The dump's per-kind sha256 (dump jobs). */
  sha256?: string;
}

const SINGLE_ATTEMPT = { retry: null } as unknown as Record<string, never>;
const query = (kind: string, cursor?: Uint8Array) => ({
  kind: [{ name: kind }],
  order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }],
  ...(cursor && { startCursor: cursor }),
});

async function ceilingDecode(job: Extract<WireJob, { type: 'ceiling-decode' }>): Promise<number> {
  const client = createClient(resolveConnection({ emulatorHost: job.address, projectId: job.project }, {}));
  let entities = 0;
  let cursor: Uint8Array | undefined;
  for (;;) {
    const [r] = (await client.runQuery({ projectId: job.project, query: query(job.kind, cursor) }, SINGLE_ATTEMPT)) as [IRunQueryResponse];
    entities += r.batch!.entityResults!.length;
    cursor = r.batch!.endCursor as Uint8Array;
    if (r.batch!.moreResults !== 'NOT_FINISHED' || r.batch!.entityResults!.length === 0) break;
  }
  await client.close();
  return entities;
}

/** The batch's end cursor (field 4) and more_results (5), found without decoding the entities. */
function scanBatch(bytes: Buffer): { cursor: Buffer | undefined; more: number; results: number } {
  let p = 0;
  const varint = () => {
    let n = 0;
    for (let mul = 1; ; mul *= 128) {
      const b = bytes[p++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
    }
  };
  varint(); // batch tag
  const end = varint() + p;
  let cursor: Buffer | undefined;
  let more = 0;
  let results = 0;
  while (p < end) {
    const tag = varint();
    if ((tag & 7) === 2) {
      const len = varint();
      if (tag >>> 3 === 4) cursor = bytes.subarray(p, p + len);
      if (tag >>> 3 === 2) results++;
      p += len;
    } else {
      const v = varint();
      if (tag >>> 3 === 5) more = v;
    }
  }
  return { cursor, more, results };
}

async function ceilingBytes(job: Extract<WireJob, { type: 'ceiling-bytes' }>): Promise<number> {
  const connection = resolveConnection({ emulatorHost: job.address, projectId: job.project }, {});
  const client = createClient(connection);
  const transport = createRawTransport(client, connection)!;
  let entities = 0;
  let cursor: Uint8Array | undefined;
  for (;;) {
    const page = scanBatch(await transport.runQuery({ projectId: job.project, query: query(job.kind, cursor) }));
    entities += page.results;
    cursor = page.cursor;
    if (page.more !== 1 || page.results === 0) break;
  }
  await client.close();
  return entities;
}

async function run(job: WireJob): Promise<{ entities: number; sha256?: string }> {
  const connection = { connection: { emulatorHost: job.address, projectId: job.project } };
  switch (job.type) {
    case 'dump': {
      const s = await dump({ root: job.root, name: job.name, kinds: job.kind, namespaces: '(default)', transport: job.transport, force: true, ...(job.compress && { compress: job.compress }) }, connection);
      return { entities: s.entities, sha256: s.kinds.map((k) => k.sha256).join(',') };
    }
    case 'restore':
      return { entities: (await restore({ in: job.dir, transport: job.transport }, connection)).written };
    case 'ceiling-decode':
      return { entities: await ceilingDecode(job) };
    case 'ceiling-bytes':
      return { entities: await ceilingBytes(job) };
    case 'naive-dump':
    case 'naive-restore': {
      const ds = naiveDatastore(job.address, job.project);
      try {
        const r = job.type === 'naive-dump' ? await naiveDump(ds, [job.kind], job.file) : await naiveRestore(ds, job.file);
        return { entities: r.entities };
      } finally {
        (ds as unknown as { clients_: Map<string, { close(): Promise<void> }> }).clients_?.forEach((c) => void c.close());
      }
    }
  }
}

const job = JSON.parse(process.argv[2] ?? '') as WireJob;
// One unmeasured run first (the same job: dumps overwrite, restores upsert the same keys), so the
// figure is the steady cost per entity, not module loading and JIT warm-up spread over a small run.
if (process.argv.includes('--warm')) await run(job);
const cpu0 = process.cpuUsage();
const start = performance.now();
const { entities, sha256 } = await run(job);
const cpu = process.cpuUsage(cpu0);
const result: WireResult = { entities, seconds: (performance.now() - start) / 1000, cpuUs: cpu.user + cpu.system, peakRssMb: peakRssMb(), ...(sha256 && { sha256 }) };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
