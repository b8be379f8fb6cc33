/**
 * `--json` as scripts read it, every command as a child process: one line on
 * stdout, an object with `command`, `project`, `database` and the results,
 * every `seconds` rounded to milliseconds; on failure the same object with
 * `error: {code, message, hint}`, the usual message on stderr and the exit
 * code unchanged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { migrationsDir, seedUsers } from '../migrate/fixtures.js';
import { dspipe, type CliResult } from './restore-cli-helpers.js';

let t: TestBackend;
let root: string;
let migrations: string;
before(async () => {
  t = await startTestBackend({ projectId: 'json-app' });
  await seedUsers(t.client, t.connection, 12);
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-json-'));
  migrations = await migrationsDir();
  await writeFile(join(root, 'index.yaml'), 'indexes:\n- kind: User\n  properties:\n  - name: a\n  - name: b\n');
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
  await rm(migrations, { recursive: true, force: true });
});

const at = (project = 'json-app') => ['--emulator-host', t.emulatorHost, '--project', project];

/** The one JSON line `r` printed (on stdout unless told), checked for the shared fields. */
function parsed(r: CliResult, command: string | null, project: string | null = 'json-app', stream: 'stdout' | 'stderr' = 'stdout'): Record<string, unknown> {
  const text = r[stream];
  const lines = text.split('\n').filter((l) => l.startsWith('{'));
  assert.equal(lines.length, 1, `one JSON line from ${command}:\n${text}`);
  assert.ok(text.endsWith('}\n') || stream === 'stderr', 'nothing after it');
  const value = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(value).slice(0, 3), ['command', 'project', 'database']);
  assert.equal(value.command, command);
  assert.equal(value.project, project);
  assert.equal(value.database, project === null ? null : '(default)');
  // every seconds rounded to ms
  JSON.stringify(value, (k, v: unknown) => {
    if ((k === 'seconds' || k.endsWith('Seconds')) && typeof v === 'number') assert.equal(Math.round(v * 1000) / 1000, v, `${k} ${v}`);
    return v;
  });
  return value;
}

test('every command: one JSON line with command, project, database and its results', async () => {
  const dumped = await dspipe(['dump', ...at(), '--root', root, '-n', 'd', '--json']);
  assert.equal(dumped.code, 0, dumped.stderr);
  const d = parsed(dumped, 'dump');
  assert.equal(d.entities, 12);
  assert.equal(typeof d.seconds, 'number');
  assert.ok(!('target' in d), 'project and database are top-level');

  const toStdout = await dspipe(['dump', ...at(), '--out', '-', '--json']);
  assert.equal(toStdout.code, 0, toStdout.stderr);
  assert.equal(parsed(toStdout, 'dump', 'json-app', 'stderr').entities, 12, 'with --out - the summary goes to stderr');

  const restored = await dspipe(['restore', '-n', 'd', '--root', root, ...at('json-copy'), '--json']);
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(typeof parsed(restored, 'restore', 'json-copy').seconds, 'number');

  const schema = await dspipe(['schema', ...at(), '--json']);
  assert.equal(schema.code, 0, schema.stderr);
  assert.ok(Array.isArray(parsed(schema, 'schema').kinds));
  const offline = await dspipe(['schema', '--from', join(root, 'd'), '--json']);
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(parsed(offline, 'schema').source, 'dump', 'a dump names the project it was taken from');

  const status = await dspipe(['migrate', 'status', '--dir', migrations, ...at(), '--json']);
  assert.equal(status.code, 0, status.stderr);
  const s = parsed(status, 'migrate status');
  assert.ok(Array.isArray(s.migrations) && s.migrations.length > 0, 'status is an object holding the list');

  const up = await dspipe(['migrate', 'up', '--dir', migrations, ...at(), '--dry-run', '--json']);
  assert.equal(up.code, 0, up.stderr);
  assert.ok(Array.isArray(parsed(up, 'migrate up').migrations));

  const ran = await dspipe(['migrate', 'run', '--kind', 'User', '--drop', 'nothing', ...at(), '--dry-run', '--json']);
  assert.equal(ran.code, 0, ran.stderr);
  assert.ok(parsed(ran, 'migrate run').counts);

  const diff = await dspipe(['indexes', 'diff', join(root, 'index.yaml'), ...at(), '--json']);
  if (backendName() === 'dspipe') {
    assert.equal(diff.code, 1, diff.stderr); // not deployed: exit 1, as without --json
    assert.equal(parsed(diff, 'indexes diff').ready, false);
  } else {
    // Google's emulators serve no Datastore Admin API: the failure is the same one
    // object, with error {code, message, hint}, and a non-zero exit.
    assert.notEqual(diff.code, 0, diff.stderr);
    const error = parsed(diff, 'indexes diff').error as { code?: unknown; message?: unknown } | undefined;
    assert.ok(error && typeof error.code === 'string' && typeof error.message === 'string', diff.stdout);
  }

  const cleared = await dspipe(['clear', '--yes', ...at('json-copy'), '--json']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.equal(parsed(cleared, 'clear', 'json-copy').deleted, 12);
});

test('failures: the same object with error {code, message, hint}, the message on stderr, the exit code unchanged', async () => {
  const cases: [string[], string, number, string, string | null][] = [
    [['dump', ...at(), '--root', root, '-n', 'd', '--json'], 'dump', 1, 'DSPIPE_DUMP_EXISTS', 'json-app'],
    [['dump', ...at(), '--kinds', 'Usr', '--root', root, '-n', 'nope', '--json'], 'dump', 1, 'DSPIPE_NOT_FOUND', 'json-app'],
    [['restore', '-n', 'missing', '--root', root, ...at(), '--json'], 'restore', 1, 'DSPIPE_NOT_FOUND', 'json-app'],
    [['restore', '-n', 'd', '--root', root, ...at(), '--mode', 'insrt', '--json'], 'restore', 2, 'DSPIPE_INVALID_OPTION', 'json-app'],
    [['clear', ...at(), '--json'], 'clear', 2, 'DSPIPE_CONFIRMATION_REQUIRED', 'json-app'],
    [['schema', '--from', join(root, 'missing'), '--json'], 'schema', 1, 'DSPIPE_NOT_FOUND', null],
    [['migrate', 'status', '--dir', join(root, 'missing'), ...at(), '--json'], 'migrate status', 1, 'DSPIPE_NOT_FOUND', 'json-app'],
  ];
  for (const [argv, command, code, errorCode, project] of cases) {
    const r = await dspipe(argv);
    const what = `dspipe ${argv.join(' ')}\n${r.stdout}${r.stderr}`;
    assert.equal(r.code, code, what);
    const plain = await dspipe(argv.filter((a) => a !== '--json'));
    assert.equal(plain.code, code, `same exit code without --json: ${what}`);
    assert.match(r.stderr, /^dspipe: /m, what);
    const value = parsed(r, command, project);
    const error = value.error as { code: string; message: string; hint: string | null };
    assert.deepEqual(Object.keys(value), ['command', 'project', 'database', 'error'], what);
    assert.equal(error.code, errorCode, what);
    assert.equal(typeof error.message, 'string');
    assert.ok(!error.message.includes('hint:'), 'the hint is its own field');
    assert.ok(error.hint === null || typeof error.hint === 'string');
  }
});

test('a command line commander refuses, with --json: the same error object (exit 2) on the stream that command prints JSON to; without --json the text and its "did you mean"', async () => {
  // [argv, command, project, message, stream the JSON goes to, what the plain text says]
  const cases: [string[], string | null, string | null, RegExp, 'stdout' | 'stderr', RegExp][] = [
    [['dump', ...at(), '--root', root, '-n', 'typo', '--kind', 'User', '--json'], 'dump', 'json-app', /^unknown option '--kind'/, 'stdout', /did you mean --kinds\?/],
    [['clear', '--json', ...at(), '--yes', '--namspaces', 'x'], 'clear', 'json-app', /^unknown option '--namspaces'/, 'stdout', /did you mean --namespaces\?/],
    [['dumpp', '--json'], null, null, /^unknown command 'dumpp'/, 'stdout', /did you mean dump\?/],
    [['schema', ...at(), '--json', '--kinds'], 'schema', 'json-app', /argument missing/, 'stdout', /argument missing/],
    [['dump', ...at(), '--root', root, '--json', 'nightly'], 'dump', 'json-app', /^unexpected argument "nightly"/, 'stdout', /unexpected argument "nightly"/],
    [['migrate', 'upp', '--json'], 'migrate', null, /^unknown command 'upp'/, 'stdout', /did you mean up\?/],
    [['migrate', 'run', ...at(), '--json', '--kind'], 'migrate run', 'json-app', /argument missing/, 'stdout', /argument missing/],
    [['restore', '--root', root, '-n', 'd', ...at(), '--dry-rn', '--json'], 'restore', 'json-app', /^unknown option '--dry-rn'/, 'stdout', /did you mean --dry-run\?/],
    [['dump', ...at(), '--out', '-', '--json', '--kind', 'User'], 'dump', 'json-app', /^unknown option '--kind'/, 'stderr', /did you mean --kinds\?/],
  ];
  const before = await readdir(root);
  for (const [argv, command, project, message, stream, plainText] of cases) {
    const r = await dspipe(argv);
    const what = `dspipe ${argv.join(' ')}\n${r.stdout}${r.stderr}`;
    assert.equal(r.code, 2, what);
    assert.doesNotMatch(r.stderr, /\n {4}at /, what);
    assert.match(r.stderr, /^dspipe: /m, `the message on stderr too: ${what}`);
    if (stream === 'stderr') assert.equal(r.stdout, '', `nothing on stdout, which carries dump --out -'s data: ${what}`);
    const value = parsed(r, command, project, stream);
    assert.deepEqual(Object.keys(value), ['command', 'project', 'database', 'error'], what);
    const error = value.error as { code: unknown; message: unknown; hint: unknown };
    assert.equal(error.code, 'DSPIPE_INVALID_OPTION', what);
    assert.match(String(error.message), message, what);
    assert.match(String(error.hint), /^see dspipe /, what);

    const plain = await dspipe(argv.filter((a) => a !== '--json'));
    const plainWhat = `without --json: ${argv.join(' ')}\n${plain.stdout}${plain.stderr}`;
    assert.equal(plain.code, 2, plainWhat);
    assert.equal(plain.stdout, '', plainWhat);
    assert.doesNotMatch(plain.stderr, /^\{/m, plainWhat);
    assert.doesNotMatch(plain.stderr, /\n {4}at /, plainWhat);
    assert.match(plain.stderr, new RegExp(`^dspipe: .*${plainText.source}`, 'm'), plainWhat);
  }
  assert.deepEqual(await readdir(root), before, 'nothing written');
});
