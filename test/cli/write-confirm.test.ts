/**
 * restore and migrate up/run write to the database they point at: against a
 * real project, one taken from the environment alone is refused until it is
 * named on the command line; emulators need nothing. And an interrupted
 * --mode insert restore says what a rerun in that mode would do.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dspipeOnly } from '../helpers/backend.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { confirmWrite } from '../../src/cli/run.js';
import { isDspipeError } from '../../src/errors.js';
import type { IEntity } from '../../src/model/proto.js';
import { writeDumpFolder } from '../commands/restore-fixtures.js';
import { migrationsDir } from '../migrate/fixtures.js';
import { collectOutput, dspipe, MAIN } from './restore-cli-helpers.js';

const work: string[] = [];
let dumpDir: string;
const entities = (n: number): IEntity[] => Array.from({ length: n }, (_, i) => ({
  key: { partitionId: { projectId: 'src', databaseId: '', namespaceId: '' }, path: [{ kind: 'Item', id: String(i + 1) }] },
  properties: { n: { integerValue: String(i) } },
}));
before(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'dspipe-confirm-'));
  work.push(dumpDir);
  await writeDumpFolder(dumpDir, entities(3000), { projectId: 'src', databaseId: '' });
});
after(async () => {
  for (const d of work) await rm(d, { recursive: true, force: true });
});

const PROD = { GOOGLE_CLOUD_PROJECT: 'prod-app' };

test('restore to a project from the environment alone is refused before anything happens, saying how to confirm', async () => {
  const r = await dspipe(['restore', '--in', dumpDir], { env: PROD });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /restore writes to project prod-app, which comes from the environment and is not an emulator; not confirmed/);
  assert.match(r.stderr, /add --project prod-app/);
});

test('migrate up and migrate run to a project from the environment alone are refused the same way', async () => {
  const dir = await migrationsDir();
  work.push(dir);
  for (const argv of [['migrate', 'up', '--dir', dir], ['migrate', 'run', '--kind', 'User', '--drop', 'legacy']]) {
    const r = await dspipe(argv, { env: PROD });
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${argv.slice(0, 2).join(' ')} writes to project prod-app.*not confirmed`));
  }
});

test('confirmWrite: --project on the command line confirms; an emulator needs nothing', () => {
  assert.throws(() => confirmWrite('restore', {}, PROD), (e: unknown) => isDspipeError(e, 'DSPIPE_CONFIRMATION_REQUIRED'));
  assert.throws(() => confirmWrite('restore', { database: 'x' }, PROD), (e: unknown) => isDspipeError(e, 'DSPIPE_CONFIRMATION_REQUIRED') && /project prod-app database x/.test(e.message));
  confirmWrite('restore', { project: 'prod-app' }, PROD);
  confirmWrite('restore', {}, { ...PROD, DATASTORE_EMULATOR_HOST: 'localhost:8081' });
  confirmWrite('restore', { emulatorHost: 'localhost:8081' }, {});
});

test('an interrupted --mode insert restore says a rerun in insert mode would fail, and what to do instead', dspipeOnly('needs dspipe emulator --latency-ms to interrupt the restore'), async () => {
  const slow: TestEmulator = await startTestEmulator({ latencyMs: 20 });
  try {
    const child = spawn(process.execPath, [MAIN, 'restore', '--in', dumpDir, '--emulator-host', slow.emulator.address, '--project', 'ins-app', '--mode', 'insert', '--batch-size', '10', '--writers', '1', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = collectOutput(child);
    // Interrupted once it has written something (its signal handlers are in place by then): a fixed
    // wait sent SIGINT to a child still loading on a busy machine, which died of it (code null).
    const written = async () => {
      const [found] = await slow.client.runQuery({ projectId: 'ins-app', query: { kind: [{ name: 'Item' }], limit: { value: 1 } } });
      return (found.batch?.entityResults?.length ?? 0) > 0;
    };
    for (const until = Date.now() + 30_000; !(await written()) && Date.now() < until;) await sleep(50);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.doesNotMatch(r.stderr, /upserts are idempotent/);
    assert.match(r.stderr, /the same command with --mode insert would fail on those keys: finish with --mode upsert/);
  } finally {
    await slow.close();
  }
});
