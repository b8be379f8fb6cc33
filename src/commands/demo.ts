/**
 * `demo`: the main job end to end on the embedded emulator, as a user would
 * run it — seed a sample app dataset, dump it, clear the database, restore
 * the dump, and check that every entity came back equal to the original as
 * Lookup returns it (keys, every value type, meaning, excludeFromIndexes).
 */
import { startEmulator } from '../emulator/index.js';
import { createClient, resolveConnection } from '../datastore/connection.js';
import { DEMO_NAMESPACES, sampleDataset } from '../demo/dataset.js';
import { compareEntities, lookupAll, seedEntities } from '../demo/seed.js';
import { dump } from './dump.js';
import { clear } from './clear.js';
import { restore } from './restore.js';
import { normalizeDemoOptions } from '../options/demo.js';
import { withCommandContext, type CommandContext, type ResolvedContext } from './context.js';

export interface DemoOptions {
  /** Folder the demo dump is written under (default `_backup`). */
  root?: string;
  /** Dump name (default `demo-<UTC time>`). */
  name?: string;
  /** Users per namespace in the sample data (default 50). */
  users?: number | string;
}

export type DemoStep = 'emulator' | 'seed' | 'dump' | 'clear' | 'restore' | 'verify';

/** Each step as it happens, as one line of text (and lines naming what differs, after verify). */
export type DemoEvent = { type: 'step'; step: DemoStep; line: string };

/** The demo talks to its own emulator, so its context has no connection or client. */
export type DemoContext = Pick<CommandContext<DemoEvent>, 'signal' | 'retry' | 'onEvent'>;

export interface DemoResult {
  ok: boolean;
  dir: string;
  seeded: number;
  dumped: number;
  cleared: number;
  restored: number;
  compared: number;
  missing: string[];
  different: string[];
  seconds: number;
}

export async function demo(options: DemoOptions = {}, context: DemoContext = {}): Promise<DemoResult> {
  const { root, name, users } = normalizeDemoOptions(options);
  return withCommandContext(context, (ctx) => run(root, name, users, ctx));
}

async function run(root: string, name: string, users: number, ctx: ResolvedContext<DemoEvent>): Promise<DemoResult> {
  const started = performance.now();
  const log = (step: DemoStep, line: string) => ctx.emit({ type: 'step', step, line });
  const projectId = 'dspipe-demo';
  const step = async <T>(title: DemoStep, body: () => Promise<T>, describe: (value: T) => string): Promise<T> => {
    const t0 = performance.now();
    const value = await body();
    log(title, `${title.padEnd(9)} ${describe(value)} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    return value;
  };

  const emulator = await startEmulator({ port: 0 });
  const connection = resolveConnection({ emulatorHost: emulator.address, projectId }, {});
  const client = createClient(connection);
  const on = { connection, client, signal: ctx.signal, retry: ctx.retry };
  try {
    log('emulator', `emulator  started on ${emulator.address} (project ${projectId})`);
    const entities = sampleDataset({ projectId, users });
    const keys = entities.map((e) => e.key!);
    const kinds = new Set(entities.map((e) => `${e.key!.partitionId!.namespaceId}/${e.key!.path!.at(-1)!.kind}`));
    await step('seed', () => seedEntities(client, connection, entities),
      (n) => `${n} entities, ${kinds.size} kinds in ${DEMO_NAMESPACES.length} namespaces: parents/children, references, blobs, two ~900 KB values, every value type`);
    const original = await lookupAll(client, connection, keys);

    const dumped = await step('dump', () => dump({ root, name }, on),
      (s) => `${s.entities} entities in ${s.kinds.length} kind files → ${s.dir} (${(s.bytes / 1024).toFixed(0)} KiB zstd)`);
    const cleared = await step('clear', () => clear({ yes: true }, on), (r) => `${r.deleted} entities deleted`);
    const left = await lookupAll(client, connection, keys);
    if (left.size !== 0) log('clear', `clear     ${left.size} entities still there!`);
    const restored = await step('restore', () => restore({ root, name }, on),
      (r) => `${r.written} entities written, ${r.reservedIds} ids reserved, ${r.commits} commits`);
    const back = await lookupAll(client, connection, keys);
    const cmp = compareEntities(original, back);
    const ok = left.size === 0 && cmp.missing.length === 0 && cmp.different.length === 0 && restored.written === entities.length;
    log('verify', `verify    ${cmp.compared} entities looked up: ${ok ? 'all equal to the original, field by field' : `${cmp.missing.length} missing, ${cmp.different.length} different`}`);
    for (const key of [...cmp.missing.slice(0, 10)]) log('verify', `  missing   ${key}`);
    for (const key of [...cmp.different.slice(0, 10)]) log('verify', `  different ${key}`);
    return {
      ok,
      dir: dumped.dir ?? '',
      seeded: entities.length,
      dumped: dumped.entities,
      cleared: cleared.deleted,
      restored: restored.written,
      compared: cmp.compared,
      missing: cmp.missing,
      different: cmp.different,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await client.close();
    await emulator.stop();
  }
}
