/**
 * `demo`: the main job end to end on the embedded emulator, as a user would
 * run it — seed a sample app dataset, dump it, clear the database, restore
 * the dump, and check that every entity came back equal to the original as
 * Lookup returns it (keys, every value type, meaning, excludeFromIndexes).
 */
import { startEmulator } from '../emulator/index.js';
import { createClient, resolveConnection, type ConnectionOptions } from '../datastore/connection.js';
import { DEFAULT_NAMESPACE_TOKEN } from '../format/selection.js';
import { DspipeError } from '../errors.js';
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

/**
 * The demo starts its own emulator unless `connection` names one (an
 * emulator only: the demo clears what it seeded); it makes its own client.
 */
export type DemoContext = Pick<CommandContext<DemoEvent>, 'connection' | 'signal' | 'retry' | 'onEvent'>;

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
  const external = context.connection;
  if (external !== undefined && (external.emulatorHost ?? process.env.DATASTORE_EMULATOR_HOST ?? '') === '') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', 'the demo runs only against an emulator: it clears the data it seeded', {
      hint: 'leave the connection out for the embedded emulator, or name one with --emulator-host HOST:PORT',
    });
  }
  const { connection: _external, ...rest } = context;
  return withCommandContext(rest, (ctx) => run(root, name, users, ctx, external));
}

async function run(root: string, name: string, users: number, ctx: ResolvedContext<DemoEvent>, external: ConnectionOptions | undefined): Promise<DemoResult> {
  const started = performance.now();
  const log = (step: DemoStep, line: string) => ctx.emit({ type: 'step', step, line });
  const projectId = external?.projectId ?? 'dspipe-demo';
  const step = async <T>(title: DemoStep, body: () => Promise<T>, describe: (value: T) => string): Promise<T> => {
    const t0 = performance.now();
    const value = await body();
    log(title, `${title.padEnd(9)} ${describe(value)} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    return value;
  };

  const emulator = external === undefined ? await startEmulator({ port: 0 }) : undefined;
  const connection = resolveConnection({ ...external, emulatorHost: emulator?.address ?? external?.emulatorHost, projectId });
  const client = createClient(connection);
  const on = { connection, client, signal: ctx.signal, retry: ctx.retry };
  try {
    log('emulator', emulator ? `emulator  started on ${emulator.address} (project ${projectId})` : `emulator  ${connection.emulatorHost} (project ${projectId})`);
    const entities = sampleDataset({ projectId, users });
    // On an emulator of someone else's, what the demo wrote is named outright: dump and clear touch
    // nothing else and list nothing, which every backend serves (Google's Firestore emulator refuses
    // the __namespace__/__kind__ queries). Its own emulator holds only the demo: everything is listed.
    const selection = external === undefined ? {} : {
      namespaces: DEMO_NAMESPACES.map((ns) => (ns === '' ? DEFAULT_NAMESPACE_TOKEN : ns)),
      kinds: [...new Set(entities.map((e) => e.key!.path!.at(-1)!.kind!))],
    };
    const keys = entities.map((e) => e.key!);
    const kinds = new Set(entities.map((e) => `${e.key!.partitionId!.namespaceId}/${e.key!.path!.at(-1)!.kind}`));
    await step('seed', () => seedEntities(client, connection, entities),
      (n) => `${n} entities, ${kinds.size} kinds in ${DEMO_NAMESPACES.length} namespaces: parents/children, references, blobs, two ~900 KiB values, every value type`);
    const original = await lookupAll(client, connection, keys);

    const dumped = await step('dump', () => dump({ root, name, ...selection }, on),
      (s) => `${s.entities} entities in ${s.kinds.length} kind files → ${s.dir} (${(s.bytes / 1024).toFixed(0)} KiB zstd)`);
    const cleared = await step('clear', () => clear({ yes: true, ...selection }, on), (r) => `${r.deleted} entities deleted`);
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
    await emulator?.stop();
  }
}
