/**
 * The command line itself, as a child process: the exclusion syntax the help
 * shows (`--kinds '-AuditLog,-Session*'`, a value that starts with a dash),
 * and flag or command typos answered with "did you mean" and exit 2, nothing
 * written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { seedKind } from '../stages/seed.js';
import { seedTarget, readManifest } from '../commands/dump-helpers.js';
import { readAll } from '../commands/restore-fixtures.js';
import { dspipe } from './restore-cli-helpers.js';

let t: TestBackend;
let root: string;
const KINDS = ['AuditLog', 'Session', 'SessionEvent', 'User'];
const at = () => ['--emulator-host', t.emulatorHost, '--project', t.connection.projectId];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-usage-'));
  t = await startTestBackend();
  for (const kind of KINDS) await seedKind(seedTarget(t), '', kind, 3);
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const kindsIn = async (client: TestBackend) => [...new Set((await readAll(client.client, client.connection, [''])).map((e) => e.key!.path!.at(-1)!.kind!))].sort();

test("dump --kinds '-AuditLog,-Session*' (a separate value starting with a dash) excludes those kinds", async () => {
  const r = await dspipe(['dump', ...at(), '--root', root, '-n', 'excl', '--namespaces', '(default)', '--kinds', '-AuditLog,-Session*', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const manifest = await readManifest(join(root, 'excl'));
  assert.deepEqual(manifest.kinds.map((k) => k.kind), ['User']);
  // repeated flags add up; the = form keeps working
  const both = await dspipe(['dump', ...at(), '--root', root, '-n', 'excl2', '--namespaces', '(default)', '--kinds', '-AuditLog', '--kinds=-Session*', '--quiet']);
  assert.equal(both.code, 0, both.stderr);
  assert.deepEqual((await readManifest(join(root, 'excl2'))).kinds.map((k) => k.kind), ['User']);
});

test("clear --kinds '-AuditLog,-Session*' deletes every other kind and keeps those", async () => {
  const other = await t.fresh();
  try {
    for (const kind of KINDS) await seedKind(seedTarget(other), '', kind, 2);
    const r = await dspipe(['clear', '--emulator-host', other.emulatorHost, '--project', other.connection.projectId, '--yes', '--namespaces', '(default)', '--kinds', '-AuditLog,-Session*', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await kindsIn(other), ['AuditLog', 'Session', 'SessionEvent']);
  } finally {
    await other.close();
  }
});

/** Runs a mistaken command line; it must exit 2 with the message, a hint, no stack, and write nothing. */
async function refused(argv: string[], message: RegExp): Promise<void> {
  const before = await readdir(root);
  const r = await dspipe(argv);
  assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message, argv.join(' '));
  assert.match(r.stderr, /\n {2}hint: see dspipe/, argv.join(' '));
  assert.doesNotMatch(r.stderr, /\n {4}at |positional|parseArgs|TypeError/, argv.join(' '));
  assert.equal(r.stdout, '', argv.join(' '));
  assert.deepEqual(await readdir(root), before, `${argv.join(' ')} wrote nothing`);
}

test('a flag mistake names the flag and suggests the right one; nothing is written', async () => {
  await refused(['dump', ...at(), '--root', root, '-n', 'typo', '--kind', 'User'], /^dspipe: unknown option '--kind' \(did you mean --kinds\?\)$/m);
  await refused(['clear', ...at(), '--yes', '--namspaces', 'x'], /unknown option '--namspaces' \(did you mean --namespaces\?\)/);
  await refused(['restore', '--root', root, '-n', 'excl', ...at(), '--dry-rn'], /unknown option '--dry-rn' \(did you mean --dry-run\?\)/);
  await refused(['schema', ...at(), '--kinds'], /option '--kinds LIST' argument missing|argument missing/);
  await refused(['dump', ...at(), '--root', root, 'nightly'], /unexpected argument "nightly"/);
  await refused(['migrate', 'up', ...at(), '--kind', 'User'], /unknown option '--kind'/);
});

test('an unknown command suggests the closest; a missing one lists them', async () => {
  await refused(['dumpp'], /^dspipe: unknown command 'dumpp' \(did you mean dump\?\)$/m);
  await refused(['migrate', 'upp'], /^dspipe: unknown command 'upp' \(did you mean up\?\)$/m);
  const none = await dspipe([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no command given: dump, restore, clear, cat, convert, schema, migrate, indexes, emulator, demo/);
  const sub = await dspipe(['migrate']);
  assert.equal(sub.code, 2);
  assert.match(sub.stderr, /migrate needs a command: status, up, run, new\n {2}hint: see dspipe migrate --help/);
});

test('help is generated for every command, also as dspipe help COMMAND', async () => {
  const top = await dspipe(['--help']);
  assert.equal(top.code, 0);
  for (const name of ['dump', 'restore', 'clear', 'cat', 'convert', 'schema', 'migrate', 'emulator', 'demo']) {
    assert.match(top.stdout, new RegExp(`^ {2}${name}\\b`, 'm'), name);
    const viaHelp = await dspipe(['help', name]);
    const viaFlag = await dspipe([name, '--help']);
    assert.equal(viaHelp.code, 0, name);
    assert.equal(viaHelp.stdout, viaFlag.stdout, name);
    assert.match(viaFlag.stdout, new RegExp(`^Usage: dspipe ${name} `, 'm'), name);
    assert.match(viaFlag.stdout, /-h, --help/, name);
  }
  const version = await dspipe(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
