/**
 * No user error prints a stack trace: every command, run as a child process
 * with a set of bad inputs (unknown flags, missing or malformed values, paths
 * that do not exist or are not dumps, hosts nobody listens on, no
 * credentials), exits 1 or 2 with a `dspipe:` message and never a `    at `
 * line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/backend.js';
import { dspipe } from './restore-cli-helpers.js';

let dir: string;
let host: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dspipe-cli-nostack-'));
  await writeFile(join(dir, 'garbage.ndjson'), 'not json\n');
  await writeFile(join(dir, 'options.json'), '{"dump": ');
  host = `127.0.0.1:${await freePort()}`;
});
after(() => rm(dir, { recursive: true, force: true }));

const bad = (): string[][] => [
  // parsing
  ['--nope'], ['dumpp'], ['help', 'nope'],
  ['dump', '--kind', 'User'], ['dump', '--level'], ['dump', '--level', 'high'], ['dump', '--compress', 'lz4'], ['dump', '--splits', '-1'],
  ['dump', '--read-time', 'yesterday'], ['dump', '--emulator-host', 'localhost'], ['dump', '--emulator-host', host, '--options', join(dir, 'options.json')],
  ['dump', '--emulator-host', host], ['dump', '--project', 'p'], ['dump', '--emulator-host', host, '-n', '../x'],
  ['restore'], ['restore', '-n', 'missing', '--root', dir, '--emulator-host', host], ['restore', '--in', join(dir, 'garbage.ndjson'), '--emulator-host', host],
  ['restore', '--in', dir, '--emulator-host', host], ['restore', '--mode', 'insrt', '--in', dir], ['restore', '--namespace-map', 'a', '--in', dir],
  ['clear'], ['clear', '--yes', '--emulator-host', host], ['clear', '--yes', '--project', 'p'], ['clear', '--yes', '--writers', '0', '--emulator-host', host],
  ['cat'], ['cat', join(dir, 'missing.ndjson.zst')], ['cat', dir], ['cat', join(dir, 'garbage.ndjson'), '--nope'],
  ['convert'], ['convert', '--nope'],
  ['schema', '--from', join(dir, 'missing')], ['schema', '--fast', '--from', dir], ['schema', '--emulator-host', host], ['schema', '--project', 'p'],
  ['migrate'], ['migrate', 'upp'], ['migrate', 'status', '--dir', join(dir, 'missing'), '--emulator-host', host], ['migrate', 'up', '--emulator-host', host, '--dir', dir],
  ['migrate', 'run', '--emulator-host', host], ['migrate', 'run', '--kind', 'K', '--convert', 'b:int->string', '--emulator-host', host],
  ['migrate', 'run', '--kind', 'K', '--set', 'x=weird:1', '--emulator-host', host], ['migrate', 'run', '--kind', 'K', '--drop', 'x', '--emulator-host', host],
  ['emulator', '--port', 'x'], ['emulator', '--fail-rate', '3'],
  ['demo', '--users', 'many'], ['demo', '--emulator-host', host],
];

test('every command with bad inputs: a dspipe message, exit 1 or 2, never a stack trace', async () => {
  const env = { HOME: dir, CLOUDSDK_CONFIG: dir, GOOGLE_APPLICATION_CREDENTIALS: '', METADATA_SERVER_DETECTION: 'none' };
  for (const argv of bad()) {
    const r = await dspipe(argv, { env });
    const what = `dspipe ${argv.join(' ')}\n${r.stderr}`;
    assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${what}`);
    assert.match(r.stderr, /^dspipe: /m, what);
    assert.doesNotMatch(r.stderr, /^ {4}at /m, what);
    assert.doesNotMatch(r.stderr, /triggerUncaughtException|Unhandled|unexpected error/, what);
  }
});
