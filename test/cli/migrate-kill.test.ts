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
import { kindLines, migrationsDir, readKind, seedUsers } from '../migrate/fixtures.js';

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
