/**
 * The emulator's own throughput, so later benchmarks know whether the
 * emulator or dspipe is the bottleneck: Commit (upsert batches of 500) and
 * RunQuery (a kind scanned page by page in __key__ order, as a dump reads),
 * full entities and keys-only, through the real raw v1.DatastoreClient.
 * The emulator runs in its own process (`dspipe emulator`), as users run it.
 * In-process rows: the commit logic alone, RunQuery, and the Commits a dspipe
 * restore sends as a call runs them (decode, commit, encode), CPU per entity.
 *
 *   node .build/emucore/bench/emulator.bench.js [--quick] [--entities N]
 *
 * Prints one JSON report on stdout (bench/lib/report.ts); progress on stderr.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, resolveConnection } from '../src/datastore/connection.js';
import type { IEntity, IRunQueryResponse } from '../src/model/proto.js';
import { emitReport, isQuick, progress, type BenchRow } from './lib/report.js';
import { DatastoreService, type QueryEngine } from '../src/emulator/service.js';
import { serviceDefinition, services } from '../src/emulator/server.js';
import { encodeEntity } from '../src/format/entity-codec.js';
import { commitRequestBytes } from '../src/format/wire/commit.js';
import { lineToMutation } from '../src/format/wire/mutation.js';
import { encodeRunQueryResponse } from '../src/emulator/wire.js';
import { mulberry32 } from '../src/prng.js';

const quick = isQuick();
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, entities: { type: 'string' } }, strict: false });
const TOTAL = Number(values.entities ?? (quick ? 20_000 : 200_000));
const BATCH = 500;
const WRITERS = 4;
const PROJECT = 'bench';
const SINGLE_ATTEMPT = { retry: null } as unknown as Record<string, never>;

const rand = mulberry32(7);

/** A typical record: ~12 properties, ~600 bytes on the wire. */
function makeEntity(i: number): IEntity {
  return {
    // Unique ids in scattered order (an odd multiplier is a bijection mod 2^32).
    key: { path: [{ kind: 'Bench', id: String(1 + ((Math.abs(i) * 2654435761) % 2 ** 32)) }] },
    properties: {
      name: { stringValue: `user ${i} ${'x'.repeat(Math.floor(rand() * 40))}` },
      email: { stringValue: `user${i}@example.com` },
      age: { integerValue: String(Math.floor(rand() * 90)) },
      score: { doubleValue: rand() * 1000 },
      active: { booleanValue: rand() < 0.5 },
      created: { timestampValue: { seconds: String(1_600_000_000 + i), nanos: 123000 } },
      tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }, { stringValue: `t${i % 50}` }] } },
      address: {
        entityValue: {
          properties: { street: { stringValue: `${i} Main St` }, city: { stringValue: 'Springfield' }, zip: { stringValue: '12345' } },
        },
      },
      bio: { stringValue: 'lorem ipsum dolor sit amet '.repeat(6), excludeFromIndexes: true },
      ref: { keyValue: { path: [{ kind: 'Org', id: String(1 + Math.abs(i % 1000)) }] } },
      nothing: { nullValue: 'NULL_VALUE' },
      blob: { blobValue: Buffer.alloc(32, i % 256) },
    },
  };
}

async function startEmulatorProcess(): Promise<{ address: string; stop: () => Promise<void> }> {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  // EMULATOR_NODE_OPTIONS lets a profiler ride along, e.g. "--cpu-prof".
  const nodeArgs = (process.env.EMULATOR_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, main, 'emulator', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    out += chunk;
    const m = /DATASTORE_EMULATOR_HOST=(\S+)/.exec(out);
    if (m) {
      return {
        address: m[1]!,
        stop: async () => {
          child.kill('SIGTERM');
          await once(child, 'exit');
        },
      };
    }
  }
  throw new Error('the emulator exited before listening');
}

async function main(): Promise<void> {
  const emulator = await startEmulatorProcess();
  const client = createClient(resolveConnection({ emulatorHost: emulator.address, projectId: PROJECT }, {}));
  const rows: BenchRow[] = [];
  const batches: IEntity[][] = [];
  try {
    progress(`emulator bench: ${TOTAL} entities, commits of ${BATCH} with ${WRITERS} writers`);
    for (let i = 0; i < TOTAL; i += BATCH) {
      batches.push(Array.from({ length: Math.min(BATCH, TOTAL - i) }, (_, j) => makeEntity(i + j)));
    }
    // In-process first, while this process's heap is small; its store is dropped afterwards.
    rows.push(...(await inProcess(batches)));
    rows.push(...(await restoreCommits(batches)));
    // Warm up the connection and both code paths.
    await client.commit({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: makeEntity(-1) }] }, SINGLE_ATTEMPT);

    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          await client.commit(
            { projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: batch.map((e) => ({ upsert: e })) },
            SINGLE_ATTEMPT,
          );
        }
      }),
    );
    const commitSeconds = (performance.now() - start) / 1000;
    rows.push({ name: 'commit upsert x500', entitiesPerSec: Math.round(TOTAL / commitSeconds), seconds: commitSeconds });
    progress(`commit: ${Math.round(TOTAL / commitSeconds)} entities/s`);

    for (const keysOnly of [false, true]) {
      let read = 0;
      let pages = 0;
      let cursor: Uint8Array | undefined;
      const t0 = performance.now();
      for (;;) {
        const query: Record<string, unknown> = { kind: [{ name: 'Bench' }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] };
        if (keysOnly) query.projection = [{ property: { name: '__key__' } }];
        if (cursor) query.startCursor = cursor;
        const [r] = (await client.runQuery({ projectId: PROJECT, query }, SINGLE_ATTEMPT)) as [IRunQueryResponse];
        const batch = r.batch!;
        read += batch.entityResults!.length;
        pages++;
        cursor = batch.endCursor as Uint8Array;
        if (batch.moreResults !== 'NOT_FINISHED' && batch.moreResults !== 'MORE_RESULTS_AFTER_LIMIT') break;
        if (batch.entityResults!.length === 0) break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const name = keysOnly ? 'runQuery keys-only scan' : 'runQuery scan by __key__';
      rows.push({ name, entitiesPerSec: Math.round(read / seconds), entities: read, pages, seconds });
      progress(`${name}: ${read} entities in ${pages} pages, ${Math.round(read / seconds)} entities/s`);
    }
  } finally {
    await client.close();
    await emulator.stop();
  }
  emitReport({
    scenario: 'emulator',
    rows,
    notes: [
      `${TOTAL} entities of ~12 properties; emulator in its own process; one reader, ${WRITERS} writers`,
      'the "server" rows run the emulator in-process without transport: its own capacity, the ceiling for any client;' +
        ' "client decode" is the raw client\'s protobuf decoding of the same responses, the ceiling on the client side',
    ],
  });
}

/**
 * The emulator's capacity without transport or client: Commit logic, and
 * RunQuery (engine + response serialization) over the same entities; beside
 * it the client's cost of decoding those responses, measured the same way.
 */
async function inProcess(batches: IEntity[][]): Promise<BenchRow[]> {
  const engine = (await import('../src/emulator/query/index.js')) as QueryEngine;
  const service = new DatastoreService(async () => engine);
  const method = serviceDefinition().RunQuery!;
  const commitMethod = serviceDefinition().Commit!;
  const total = batches.reduce((n, b) => n + b.length, 0);
  // Requests as the server receives them (through the same decoder); decoding is not timed.
  let commitMs = 0;
  for (const batch of batches) {
    const request = commitMethod.requestDeserialize(
      commitMethod.requestSerialize({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: batch.map((e) => ({ upsert: e })) }),
    ) as Record<string, unknown>;
    const t = performance.now();
    service.commit(request);
    commitMs += performance.now() - t;
  }
  const commitRate = total / (commitMs / 1000);

  // Keep a sample of responses (not all: a big heap would slow every other step) for the decode row.
  const sample: Buffer[] = [];
  let sampled = 0;
  let read = 0;
  let bytes = 0;
  let cursor: Uint8Array | undefined;
  let t0 = performance.now();
  for (;;) {
    const query: Record<string, unknown> = { kind: [{ name: 'Bench' }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] };
    if (cursor) query.startCursor = cursor;
    const response = await service.runQuery({ projectId: PROJECT, databaseId: '', query });
    const encoded = encodeRunQueryResponse(response as Record<string, unknown>) ?? method.responseSerialize(response);
    bytes += encoded.length;
    const batch = response.batch!;
    if (sample.length < 30) {
      sample.push(encoded);
      sampled += batch.entityResults!.length;
    }
    read += batch.entityResults!.length;
    cursor = batch.endCursor as Uint8Array;
    if (batch.moreResults !== 'NOT_FINISHED') break;
  }
  const queryRate = read / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  for (const b of sample) method.responseDeserialize(b);
  const decodeRate = sampled / ((performance.now() - t0) / 1000);
  const bytesPerEntity = bytes / read;
  progress(`server commit ${Math.round(commitRate)}/s, server runQuery ${Math.round(queryRate)}/s, client decode ${Math.round(decodeRate)}/s`);
  return [
    { name: 'server commit logic (in-process)', entitiesPerSec: Math.round(commitRate) },
    { name: 'server runQuery + serialize (in-process)', entitiesPerSec: Math.round(queryRate), mbPerSec: (queryRate * bytesPerEntity) / 1e6 },
    { name: 'client decode of the same responses', entitiesPerSec: Math.round(decodeRate), mbPerSec: (decodeRate * bytesPerEntity) / 1e6 },
  ];
}

/**
 * The Commits a dspipe restore sends (its wire path's bytes: key values carry their
 * partition, as in any dump), through the server's own method as a call runs it:
 * decode, commit, encode the response. In-process, so the CPU is the emulator's
 * alone. Twice: into an empty store, then overwriting every entity.
 */
async function restoreCommits(batches: IEntity[][]): Promise<BenchRow[]> {
  const service = new DatastoreService(async () => (await import('../src/emulator/query/index.js')) as QueryEngine);
  const commit = services(service)[0]!.methods.get('Commit')!;
  const partitionId = { projectId: PROJECT, databaseId: '', namespaceId: '' };
  const requests = batches.map((batch) =>
    commitRequestBytes(
      PROJECT,
      '',
      batch.map((e) => {
        const ref = e.properties!.ref!.keyValue!;
        const entity = { key: { partitionId, path: e.key!.path }, properties: { ...e.properties, ref: { keyValue: { partitionId, path: ref.path } } } };
        return lineToMutation(encodeEntity(entity), 'upsert').bytes;
      }),
    ),
  );
  const total = batches.reduce((n, b) => n + b.length, 0);
  const rows: BenchRow[] = [];
  for (const pass of ['new entities', 'overwriting']) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    for (const bytes of requests) {
      const request = commit.definition.requestDeserialize(bytes);
      commit.definition.responseSerialize(await commit.handle(request as never));
    }
    const seconds = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuUsPerEntity = Number(((used.user + used.system) / total).toFixed(1));
    progress(`server Commit of a restore's requests, ${pass}: ${cpuUsPerEntity} µs CPU/entity, ${Math.round(total / seconds)}/s`);
    rows.push({ name: `server Commit of a restore's requests, ${pass} (in-process)`, entitiesPerSec: Math.round(total / seconds), cpuUsPerEntity });
  }
  return rows;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
