/**
 * Where dspipe cannot talk to Datastore, as a child process: missing or bad
 * credentials for a production project, and an emulator host that refuses
 * connections or does not exist. One message naming the cause and what to
 * do, exit 1, no stack, quickly, and nothing written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { seedKind } from '../stages/seed.js';
import { seedTarget } from '../commands/dump-helpers.js';
import { dump } from '../../src/commands/dump.js';
import { dspipe, type CliResult } from './restore-cli-helpers.js';

let t: TestBackend;
let root: string;
let home: string;
/** No credentials anywhere: an empty HOME and gcloud config, no metadata server probe. */
let noCredentials: NodeJS.ProcessEnv;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-conn-'));
  home = await mkdtemp(join(tmpdir(), 'dspipe-cli-home-'));
  noCredentials = { HOME: home, CLOUDSDK_CONFIG: home, GOOGLE_APPLICATION_CREDENTIALS: '', METADATA_SERVER_DETECTION: 'none' };
  t = await startTestBackend();
  await seedKind(seedTarget(t), '', 'User', 5);
  await dump({ root, name: 'd', namespaces: '(default)' }, { connection: t.connection });
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** Every command that talks to Datastore, as a user would call it against `target`. */
const commands = (target: string[]): string[][] => [
  ['dump', ...target, '--root', root, '-n', 'new'],
  ['restore', ...target, '--root', root, '-n', 'd'],
  ['schema', ...target],
  ['clear', ...target, '--yes'],
  ['migrate', 'run', ...target, '--kind', 'User', '--drop', 'x'],
];

function assertOneMessage(r: CliResult, argv: string[], message: RegExp): void {
  const what = `${argv.join(' ')}\n${r.stderr}`;
  assert.equal(r.code, 1, what);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /\n {4}at |triggerUncaughtException|MetadataLookupWarning|Resolution note|ReserveIds/, what);
  assert.equal(r.stderr.match(/^dspipe: /gm)?.length, 1, `one message: ${what}`);
  assert.equal(r.stdout, '', what);
}

test('no credentials for a production project: one message with the gcloud command, no stack', async () => {
  for (const argv of commands(['--project', 'some-app'])) {
    const r = await dspipe(argv, { env: noCredentials });
    assertOneMessage(r, argv, /no Google Cloud credentials found.*\n {2}hint: run `gcloud auth application-default login`/);
  }
  assert.deepEqual(await readdir(root), ['d'], 'nothing written');
});

test('GOOGLE_APPLICATION_CREDENTIALS naming a missing file: the message names it', async () => {
  const r = await dspipe(['dump', '--project', 'some-app', '--root', root, '-n', 'new'], {
    env: { ...noCredentials, GOOGLE_APPLICATION_CREDENTIALS: join(home, 'missing-key.json') },
  });
  assertOneMessage(r, ['dump'], /cannot use the credentials GOOGLE_APPLICATION_CREDENTIALS names \(.*missing-key\.json\)/);
  assert.deepEqual(await readdir(root), ['d']);
});

test('an emulator host that refuses connections fails at once, naming it and how to start one', async () => {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  for (const argv of commands(['--emulator-host', host, '--project', 'p'])) {
    const started = Date.now();
    const r = await dspipe(argv);
    assertOneMessage(r, argv, new RegExp(`cannot reach the emulator at ${host.replace(/\./g, '\\.')}: connection refused.*\n {2}hint: start one with \`npx dspipe emulator\``));
    // A child process starts in ~0.3 s; before, gRPC's UNAVAILABLE was retried for 20-38 s.
    assert.ok(Date.now() - started < 5_000, `${argv[0]} took ${Date.now() - started} ms`);
  }
  const r = await dspipe(['schema', '--emulator-host', 'no-such-host.invalid:8081']);
  assertOneMessage(r, ['schema'], /cannot reach the emulator at no-such-host\.invalid:8081: no such host/);
  assert.deepEqual(await readdir(root), ['d'], 'nothing written');
});
