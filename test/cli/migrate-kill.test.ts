/**
 * A migration killed mid-run (SIGKILL: no cleanup, no last checkpoint) resumes
 * on the next `up` from its recorded checkpoint and ends with exactly the data
 * an uninterrupted run produces.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { dspipeOnly } from '../helpers/backend.js';
import { migrateStatus, migrateUp } from '../../src/commands/migrate.js';
import { readMigrationRecords } from '../../src/migrate/record.js';
import { commit, kindLines, migrationsDir, readKind, seedUsers } from '../migrate/fixtures.js';
import { mulberry32 } from '../../src/prng.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const N = 300;
const open: TestEmulator[] = [];
after(async () => {
  for (const t of open) await t.close();
});

test('a killed migration resumes from its checkpoint and finishes with the same result as an uninterrupted one', dspipeOnly('needs dspipe emulator --latency-ms to kill the migration half way'), async () => {
  const killed = await startTestEmulator({ latencyMs: 15 });
  const clean = await startTestEmulator();
  open.push(killed, clean);
  await seedUsers(killed.client, killed.connection, N);
  await seedUsers(clean.client, clean.connection, N);
  const dir = await migrationsDir();

  const child = spawn(process.execPath, [
    MAIN, 'migrate', 'up', '--dir', dir, '--emulator-host', killed.emulator.address, '--project', killed.connection.projectId,
    '--checkpoint-every', '10', '--batch-size', '5', '--writers', '1', '--page-size', '50', '--quiet',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  // Kill it once the record shows real progress, well before the end.
  let progress = '';
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const record = (await readMigrationRecords(killed.client, killed.connection)).get('0001-birthday-to-string');
    const last = record?.checkpoint[0]?.lastKey?.path?.[0]?.name;
    if (typeof last === 'string' && last >= 'u00060') {
      progress = last;
      break;
    }
    await sleep(25);
  }
  assert.notEqual(progress, '', `the child made progress before it ended (exit ${child.exitCode}, stderr: ${stderr})`);
  child.kill('SIGKILL');
  assert.equal(await exited, null, 'killed by the signal, not finished');

  const [interrupted] = await migrateStatus({ dir }, { connection: killed.connection, client: killed.client });
  assert.equal(interrupted!.state, 'interrupted');
  assert.equal(interrupted!.record!.status, 'running');
  assert.equal(interrupted!.record!.checkpoint[0]!.done, false);
  const stillTimestamps = (await readKind(killed.client, killed.connection, 'User')).filter((e) => e.properties!.birthday?.timestampValue).length;
  assert.ok(stillTimestamps > 0, 'the kill left work to do');

  const resumed = await migrateUp({ dir }, { connection: killed.connection, client: killed.client });
  const r = resumed.migrations[0]!;
  assert.equal(r.resumed, true);
  // Reading starts at the checkpoint key (passed over): nothing before it is read again.
  const checkpointAt = Number(interrupted!.record!.checkpoint[0]!.lastKey!.path![0]!.name!.slice(1));
  assert.ok(checkpointAt >= 60, `checkpoint at u${checkpointAt}`);
  assert.equal(r.kinds[0]!.skipped, 1);
  assert.equal(r.counts.read, N - checkpointAt - 1);

  await migrateUp({ dir }, { connection: clean.connection, client: clean.client });
  assert.deepEqual(await kindLines(killed.client, killed.connection, 'User'), await kindLines(clean.client, clean.connection, 'User'));
  const [final] = await migrateStatus({ dir }, { connection: killed.connection, client: killed.client });
  assert.equal(final!.state, 'applied');
  assert.equal(final!.record!.checkpoint[0]!.done, true);
  assert.deepEqual((await migrateUp({ dir }, { connection: killed.connection, client: killed.client })).migrations, []);
});

// A script that is wrong to run twice on an entity: each run adds 1 to `runs`.
const COUNTER_SCRIPT = `
export const kinds = ['Counter', 'Tally'];
export const description = 'count the runs of the transform on each entity';
export function transform(e) { e.set('runs', e.get('runs') + 1n); return e; }
`;

/** `n` entities of `kind` named e0000… with runs = 0. */
async function seedCounters(t: TestEmulator, kind: string, n: number): Promise<void> {
  await commit(t.client, t.connection, Array.from({ length: n }, (_, i) => ({
    upsert: { key: { partitionId: { projectId: t.connection.projectId }, path: [{ kind, name: `e${String(i).padStart(4, '0')}` }] }, properties: { runs: { integerValue: '0' } } },
  })));
}

/** `dspipe migrate up` in a child process, three writers and small pages, so it can be stopped half way. */
function migrateUpChild(t: TestEmulator, dir: string, flags: string[]) {
  const child = spawn(process.execPath, [
    MAIN, 'migrate', 'up', '--dir', dir, '--emulator-host', t.emulator.address, '--project', t.connection.projectId,
    ...flags, '--writers', '3', '--page-size', '40', '--quiet',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = { text: '' };
  child.stderr!.on('data', (d: Buffer) => (stderr.text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr };
}

test('migrate up killed at random points 20 times in a row, then completed, transforms every entity exactly once', dspipeOnly('needs dspipe emulator --latency-ms to kill the migration mid-commit'), async () => {
  const t = await startTestEmulator({ latencyMs: 30 });
  open.push(t);
  const perKind = 600;
  for (const kind of ['Counter', 'Tally']) await seedCounters(t, kind, perKind);
  const dir = await migrationsDir({ '0001-count-runs.mjs': COUNTER_SCRIPT }, false);
  const random = mulberry32(16);
  let interruptedRuns = 0;
  for (let i = 0; i < 20; i++) {
    const { child, exited, stderr: output } = migrateUpChild(t, dir, ['--checkpoint-every', '15', '--batch-size', '4']);
    const stderr = () => output.text;
    // Node takes ~250 ms to start; kill somewhere in the run's first second of work.
    const killAt = sleep(300 + Math.floor(random() * 700)).then(() => 'kill' as const);
    if ((await Promise.race([killAt, exited])) === 'kill') {
      child.kill('SIGKILL');
      interruptedRuns++;
    }
    const code = await exited;
    assert.ok(code === null || code === 0, `run ${i} ended with ${code}: ${stderr()}`);
  }
  assert.ok(interruptedRuns >= 15, `${interruptedRuns} of 20 runs were killed before they finished`);
  await migrateUp({ dir }, { connection: t.connection, client: t.client });
  const histogram = new Map<string, number>();
  for (const kind of ['Counter', 'Tally']) {
    for (const e of await readKind(t.client, t.connection, kind)) {
      const runs = String(e.properties!.runs!.integerValue);
      histogram.set(runs, (histogram.get(runs) ?? 0) + 1);
    }
  }
  assert.deepEqual(Object.fromEntries(histogram), { 1: 2 * perKind }, 'runs of the transform per entity');
  const record = (await readMigrationRecords(t.client, t.connection)).get('0001-count-runs')!;
  assert.equal(record.status, 'applied');
  assert.equal(record.counts.changed, 2 * perKind, 'the record counts each rewrite once');
  assert.equal(record.counts.read, 2 * perKind);
});

test('Ctrl-C stops migrate up gracefully: in-flight commits finish, the checkpoint covers them, the record says interrupted', dspipeOnly('needs dspipe emulator --latency-ms to stop the migration half way'), async () => {
  const t = await startTestEmulator({ latencyMs: 20 });
  open.push(t);
  const n = 600;
  await seedCounters(t, 'Counter', n);
  const dir = await migrationsDir({ '0001-count-runs.mjs': COUNTER_SCRIPT }, false);
  const { child, exited, stderr: output } = migrateUpChild(t, dir, ['--checkpoint-every', '20', '--batch-size', '5']);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const record = (await readMigrationRecords(t.client, t.connection)).get('0001-count-runs');
    if ((record?.counts.changed ?? 0) >= 60 || Date.now() > deadline) break;
    await sleep(20);
  }
  child.kill('SIGINT');
  assert.equal(await exited, 130, output.text);
  assert.match(output.text, /migrate up interrupted; the commits in flight finished and progress is saved/);
  const record = (await readMigrationRecords(t.client, t.connection)).get('0001-count-runs')!;
  assert.equal(record.status, 'interrupted');
  const written = (await readKind(t.client, t.connection, 'Counter')).filter((e) => String(e.properties!.runs!.integerValue) === '1').length;
  assert.ok(written > 0 && written < n, `${written} of ${n} rewritten before the stop`);
  assert.equal(record.counts.changed, written, 'the record counts exactly what was committed');
  const [status] = await migrateStatus({ dir }, { connection: t.connection, client: t.client });
  assert.equal(status!.state, 'interrupted');

  await migrateUp({ dir }, { connection: t.connection, client: t.client });
  const runs = (await readKind(t.client, t.connection, 'Counter')).map((e) => String(e.properties!.runs!.integerValue));
  assert.deepEqual([...new Set(runs)], ['1']);
  assert.equal((await readMigrationRecords(t.client, t.connection)).get('0001-count-runs')!.counts.changed, n);
});
