/**
 * Every command that writes to stdout, with the reader gone before it writes
 * (`dspipe schema | head -2` once head has its lines): exit 0, no EPIPE, no
 * stack. Before, schema, migrate, restore/clear --json, demo and every --help
 * crashed with an unhandled `write EPIPE`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { seedKind } from '../stages/seed.js';
import { seedTarget } from '../commands/dump-helpers.js';
import { dump } from '../../src/commands/dump.js';
import { migrationsDir } from '../migrate/fixtures.js';
import { collectOutput, MAIN } from './restore-cli-helpers.js';

let t: TestBackend;
let root: string;
let migrations: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-pipe-'));
  t = await startTestBackend();
  await seedKind(seedTarget(t), '', 'User', 20);
  await dump({ root, name: 'd', namespaces: '(default)' }, { connection: t.connection });
  migrations = await migrationsDir();
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs dspipe with its stdout closed from the start: its first write meets a broken pipe. */
async function withClosedStdout(argv: string[]) {
  const child = spawn(process.execPath, [MAIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATASTORE_EMULATOR_HOST: '' } });
  const done = collectOutput(child);
  child.stdout.destroy();
  return done;
}

test('every command ends quietly with exit 0 when the reader of stdout is gone', async () => {
  const at = ['--emulator-host', t.emulatorHost, '--project', t.connection.projectId];
  const other = await t.fresh();
  try {
    await seedKind(seedTarget(other), '', 'Tmp', 3);
    const cases: string[][] = [
      ['schema', ...at, '--namespaces', '(default)'],
      ['schema', ...at, '--namespaces', '(default)', '--json'],
      ['schema', '--from', join(root, 'd')],
      ['dump', ...at, '--namespaces', '(default)', '--out', '-'],
      ['cat', join(root, 'd')],
      ['restore', ...at, '--root', root, '-n', 'd', '--dry-run', '--json'],
      ['clear', '--emulator-host', other.emulatorHost, '--project', other.connection.projectId, '--yes', '--json'],
      ['migrate', 'status', ...at, '--dir', migrations],
      ['migrate', 'status', ...at, '--dir', migrations, '--json'],
      ['migrate', 'up', ...at, '--dir', migrations, '--dry-run'],
      ['migrate', 'run', ...at, '--kind', 'User', '--drop', 'nothing', '--dry-run', '--json'],
      ['demo', '--root', root, '--users', '1'],
      ['emulator', '--port', '0'],
      ['--help'],
      ['--version'],
      ...['dump', 'restore', 'clear', 'cat', 'schema', 'migrate', 'emulator', 'demo'].map((name) => [name, '--help']),
    ];
    for (const argv of cases) {
      const r = await withClosedStdout(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|\n {4}at |Unhandled/, argv.join(' '));
    }
  } finally {
    await other.close();
  }
});
