import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { migrationsDir, readKind, seedUsers } from '../migrate/fixtures.js';
import { transformsOf, type MigrateFlags } from '../../src/cli/migrate.js';
import { createProgram } from '../../src/cli/cli.js';
import { EntityHelper } from '../../src/format/entity-helper.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let t: TestBackend;
before(async () => {
  t = await startTestBackend();
  await seedUsers(t.client, t.connection, 30);
});
after(() => t.close());

function dspipe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, DATASTORE_EMULATOR_HOST: t.emulatorHost, DATASTORE_PROJECT_ID: t.connection.projectId } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

test('--help documents every flag with defaults and examples', async () => {
  let stdout = '';
  for (const sub of [[], ['status'], ['up'], ['run']]) {
    const r = await dspipe(['migrate', ...sub, '--help']);
    assert.equal(r.code, 0);
    stdout += r.stdout;
  }
  for (const flag of ['--dir', '--to', '--allow-changed', '--rename', '--drop', '--convert', '--set', '--kind', '--dry-run', '--examples', '--backup', '--backup-root', '--namespaces', '--writers', '--batch-size', '--max-conflict-attempts', '--checkpoint-every', '--page-size', '--json', '--quiet', '--project', '--database', '--emulator-host']) {
    assert.ok(stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.match(stdout, /default: migrations/);
  assert.match(stdout, /dspipe migrate run --project my-app --kind User --convert birthday:timestamp->string:date/);
});

test('bad usage exits 2 with a hint', async () => {
  for (const args of [['migrate'], ['migrate', 'sideways'], ['migrate', 'up', '--drop', 'x'], ['migrate', 'run', '--kind', 'User', '--convert', 'b:int->string'], ['migrate', 'up', '--writers', 'many'], ['migrate', 'up', '--nope']]) {
    const { code, stderr } = await dspipe(args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, /hint:/);
  }
});

test('transforms keep command-line order across flags', () => {
  const run = createProgram().commands.find((c) => c.name() === 'migrate')!.commands.find((c) => c.name() === 'run')!;
  run.parseOptions(['--drop', 'a', '--kind', 'K', '--rename=b=c', '--set', 'd=int:1', '--drop', 'e']);
  assert.deepEqual(transformsOf(run.opts<MigrateFlags>()).map((x) => x.type), ['drop', 'rename', 'set', 'drop']);
});

test('status, up --dry-run, up, status --json, run: text and JSON on stdout', async () => {
  const dir = await migrationsDir();
  let r = await dspipe(['migrate', 'status', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0001-birthday-to-string\s+pending/);
  r = await dspipe(['migrate', 'up', '--dir', dir, '--dry-run', '--examples', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(dry run\): read 30, would change 19, would delete 0, unchanged 11/);
  assert.match(r.stdout, /before: .*"timestampValue":"1980-01-02T00:00:00.000000Z"/);
  assert.match(r.stdout, /after: .*"stringValue":"1980-01-02"/);
  r = await dspipe(['migrate', 'up', '--dir', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).migrations[0].counts.changed, 19);
  r = await dspipe(['migrate', 'status', '--dir', dir, '--json']);
  assert.equal(JSON.parse(r.stdout).migrations[0].state, 'applied');
  r = await dspipe(['migrate', 'up', '--dir', dir]);
  assert.equal(r.stdout, 'nothing to do: every migration is applied\n');
  r = await dspipe(['migrate', 'run', '--kind', 'User', '--rename', 'bio=about', '--set', 'tier=str:free']);
  assert.equal(r.code, 0, r.stderr);
  const u = new EntityHelper((await readKind(t.client, t.connection, 'User'))[0]!);
  assert.deepEqual([u.has('bio'), u.get('tier')], [false, 'free']);
});

test('a failing migration exits 1 naming the script and the entity key', async () => {
  const dir = await migrationsDir({ '0002-fail.mjs': "export const kind = 'User'; export function transform(u) { if (u.key.path[0].name === 'u00004') throw new Error('no!'); }" });
  const r = await dspipe(['migrate', 'up', '--dir', dir, '-q']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /0002-fail\.mjs, kind "User", key User\("u00004"\): migration 0002-fail failed on User\("u00004"\): transform threw: no!/);
  assert.match(r.stderr, /hint: fix the script/);
});
