/**
 * `dspipe indexes diff|create|wait|prune` and `dspipe emulator
 * --require-indexes` as child processes, end to end on dspipe's emulator.
 *
 * Google's emulators do not serve the Datastore Admin API and build every
 * index automatically, so these run on dspipe's emulator only; what they
 * check of production's answers (states, ALREADY_EXISTS, the
 * FAILED_PRECONDITION text) is documented in test/emulator/admin-indexes and
 * index-rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PropertyFilter } from '@google-cloud/datastore';
import { dspipeOnly } from '../helpers/backend.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { createAdminClient, createDatastore, resolveConnection } from '../../src/datastore/connection.js';
import { dspipe, MAIN } from './restore-cli-helpers.js';

const ONLY = dspipeOnly("Google's emulators do not serve the Datastore Admin API (and build every index automatically)");

function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dspipe-indexes-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `dspipe emulator ...` in the background; resolves once it prints its address. */
async function startCliEmulator(args: string[]) {
  const child = spawn(process.execPath, [MAIN, 'emulator', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  // The export lines come on stdout, then the "listening" line on stderr: wait for both.
  while (!/DATASTORE_EMULATOR_HOST=(\S+)\n/.test(out) || !/listening on/.test(err)) {
    if (child.exitCode !== null) return { child, address: '', err: () => err, exited, stop: async () => {} };
    await new Promise((r) => setTimeout(r, 20));
  }
  const address = /DATASTORE_EMULATOR_HOST=(\S+)/.exec(out)![1]!;
  return {
    child,
    address,
    err: () => err,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

test("the seed's deploy order: a new User query fails under --require-indexes naming the index, create --wait adds it, the query then runs", ONLY, async () => {
  const { dir, done } = tempDir();
  const file = join(dir, 'index.yaml');
  // What is deployed before the change: one older index.
  writeFileSync(file, 'indexes:\n\n- kind: User\n  properties:\n  - name: name\n  - name: email\n');
  const emulator = await startCliEmulator(['--require-indexes', file, '--index-build-ms', '400']);
  const projectId = 'seed-story';
  const ds = createDatastore(resolveConnection({ emulatorHost: emulator.address, projectId }, {}));
  try {
    assert.ok(emulator.address, emulator.err());
    assert.match(emulator.err(), /requiring composite indexes: 1 from/);
    await ds.save([
      { key: ds.key(['User', 'a']), data: { name: 'Aiko', birthday: new Date('1990-05-01T00:00:00Z') } },
      { key: ds.key(['User', 'b']), data: { name: 'Bunta', birthday: new Date('2004-01-01T00:00:00Z') } },
      { key: ds.key(['User', 'c']), data: { name: 'Chiyo', birthday: new Date('1985-11-30T00:00:00Z') } },
      { key: ds.key(['User', 'z']), data: { name: 'Zen', birthday: new Date('1970-01-01T00:00:00Z') } },
    ]);
    // The new query of the note: User.all().filter(birthday < x).filter(name < y), now sorted too.
    const query = () =>
      ds
        .createQuery('User')
        .filter(new PropertyFilter('birthday', '<', new Date('2000-01-01T00:00:00Z')))
        .filter(new PropertyFilter('name', '<', 'Y'))
        .order('birthday', { descending: true });
    let recommended = '';
    await assert.rejects(ds.runQuery(query()), (err: { code?: number; details?: string }) => {
      assert.equal(err.code, 9, String(err.details));
      const m = /^no matching index found\. recommended index is:\n([\s\S]*)$/.exec(err.details ?? '');
      assert.ok(m, err.details);
      recommended = m[1]!;
      return true;
    });
    assert.equal(recommended, '- kind: User\n  properties:\n  - name: birthday\n    direction: desc\n  - name: name\n');

    // The developer adds the recommended index to index.yaml; diff shows it missing.
    appendFileSync(file, `\n${recommended}`);
    const at = ['--emulator-host', emulator.address, '--project', projectId];
    const before = await dspipe(['indexes', 'diff', file, ...at, '--json']);
    assert.equal(before.code, 1, before.stderr);
    const diff = JSON.parse(before.stdout) as { missing: unknown[]; indexes: { state: string }[] };
    assert.deepEqual(diff.indexes.map((i) => i.state), ['READY', 'MISSING']);

    // CI: dspipe indexes create index.yaml --wait && deploy
    const created = await dspipe(['indexes', 'create', file, '--wait', ...at]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /created {3}User \(birthday desc, name\)/);
    assert.match(created.stderr, /waiting {3}1\/2 READY; building: User \(birthday desc, name\) CREATING/, 'progress while it builds');
    assert.match(created.stderr, /2 of 2 indexes of .* READY/);

    const [users] = await ds.runQuery(query());
    assert.deepEqual(users.map((u) => u.name), ['Aiko', 'Chiyo']);
    const after = await dspipe(['indexes', 'diff', file, ...at]);
    assert.equal(after.code, 0, after.stderr);
  } finally {
    for (const c of ((ds as unknown as { clients_?: Map<string, { close(): Promise<void> }> }).clients_ ?? new Map()).values()) await c.close();
    await emulator.stop();
    done();
  }
});

test('create never deletes, and says nothing needs doing when everything is there; prune needs --yes', ONLY, async () => {
  const { dir, done } = tempDir();
  const file = join(dir, 'index.yaml');
  writeFileSync(file, 'indexes:\n- kind: Task\n  properties:\n  - name: done\n  - name: priority\n    direction: desc\n- kind: Task\n  properties:\n  - name: owner\n');
  const t = await startTestEmulator({ indexes: { buildMs: 50 } });
  const admin = createAdminClient(t.connection);
  try {
    const projectId = t.connection.projectId;
    const [op] = await admin.createIndex({ projectId, index: { kind: 'Old', ancestor: 'NONE', properties: [{ name: 'a', direction: 'ASCENDING' }, { name: 'b', direction: 'ASCENDING' }] } });
    await op.promise();
    const at = ['--emulator-host', t.emulator.address, '--project', projectId];
    const created = await dspipe(['indexes', 'create', file, ...at, '--wait', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const result = JSON.parse(created.stdout) as { created: unknown[]; extra: { definition: { kind: string } }[]; indexes: { state: string }[] };
    assert.equal(result.created.length, 1, 'the single-property entry is built in: not created');
    assert.deepEqual(result.indexes.map((i) => i.state), ['READY', 'BUILT_IN']);
    assert.deepEqual(result.extra.map((e) => e.definition.kind), ['Old'], 'create leaves other indexes alone');
    const again = await dspipe(['indexes', 'create', file, ...at, '--json']);
    assert.equal((JSON.parse(again.stdout) as { created: unknown[] }).created.length, 0);

    const refused = await dspipe(['indexes', 'prune', file, ...at]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /not confirmed/);
    assert.match(refused.stderr, /--yes/);
    const pruned = await dspipe(['indexes', 'prune', file, ...at, '--yes']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stderr, /deleted {3}Old \(a, b\)/);
    const [left] = await admin.listIndexes({ projectId });
    assert.deepEqual(left.map((i: { kind?: string | null }) => i.kind), ['Task']);
  } finally {
    await admin.close();
    await t.close();
    done();
  }
});

test('prune against a real project needs the project named on the command line, before any request', ONLY, async () => {
  const { dir, done } = tempDir();
  try {
    const file = join(dir, 'index.yaml');
    writeFileSync(file, 'indexes: []\n');
    const r = await dspipe(['indexes', 'prune', file, '--yes'], { env: { GOOGLE_CLOUD_PROJECT: 'some-prod-app' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /named explicitly/);
    assert.match(r.stderr, /--project some-prod-app/);
  } finally {
    done();
  }
});

test('wait fails naming the index that went to ERROR, and on a timeout naming what still builds', ONLY, async () => {
  const { dir, done } = tempDir();
  const t = await startTestEmulator({ indexes: { buildMs: 100 } });
  try {
    const list = (n: number) => ({ arrayValue: { values: Array.from({ length: n }, (_, i) => ({ integerValue: String(i) })) } });
    await t.client.commit({
      projectId: t.connection.projectId,
      mode: 'NON_TRANSACTIONAL',
      mutations: [{ upsert: { key: { path: [{ kind: 'Tagged', name: 'big' }] }, properties: { a: list(150), b: list(150) } } }],
    });
    const file = join(dir, 'index.yaml');
    writeFileSync(file, 'indexes:\n- kind: Tagged\n  properties:\n  - name: a\n  - name: b\n');
    const at = ['--emulator-host', t.emulator.address, '--project', t.connection.projectId];
    const missing = await dspipe(['indexes', 'wait', file, ...at]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Tagged \(a, b\) is not deployed/);
    const r = await dspipe(['indexes', 'create', file, '--wait', ...at]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /index Tagged \(a, b\) \(CICAg\w+\) is in ERROR/);
    const w = await dspipe(['indexes', 'wait', file, ...at]);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /is in ERROR/);
  } finally {
    await t.close();
  }
  const slow = await startTestEmulator({ indexes: { buildMs: 60_000 } });
  try {
    const file = join(dir, 'index.yaml');
    writeFileSync(file, 'indexes:\n- kind: Slow\n  properties:\n  - name: a\n  - name: b\n');
    const at = ['--emulator-host', slow.emulator.address, '--project', slow.connection.projectId];
    const r = await dspipe(['indexes', 'create', file, '--wait', '--timeout', '0.5', ...at]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out after \d+ s with 1 index not READY: Slow \(a, b\) CREATING/);
    assert.match(r.stderr, /--timeout/);
  } finally {
    await slow.close();
    done();
  }
});

test('a bad index.yaml is refused naming the file and line, by indexes and by emulator --require-indexes', ONLY, async () => {
  const { dir, done } = tempDir();
  try {
    const file = join(dir, 'index.yaml');
    writeFileSync(file, 'indexes:\n- kind: User\n  properties:\n  - name: name\n    direction: upward\n');
    const r = await dspipe(['indexes', 'diff', file, '--emulator-host', 'localhost:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: direction must be asc or desc, found "upward"`));
    const e = await startCliEmulator(['--require-indexes', file]);
    const [code] = await e.exited;
    assert.equal(code, 2);
    assert.match(e.err(), /index\.yaml:5: direction must be asc or desc/);
    const none = await dspipe(['indexes', 'diff', join(dir, 'nope.yaml'), '--emulator-host', 'localhost:1']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /nope\.yaml: no such index file/);
    const usage = await dspipe(['indexes', 'apply', file]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command 'apply'/);
    assert.match(usage.stderr, /dspipe indexes --help/);
  } finally {
    done();
  }
});

test('--help documents the subcommands, the flags and the CI recipe', ONLY, async () => {
  const r = await dspipe(['indexes', '--help']);
  assert.equal(r.code, 0);
  for (const word of ['diff', 'create', 'wait', 'prune']) assert.ok(r.stdout.includes(word), word);
  assert.match(r.stdout, /dspipe indexes create index\.yaml --wait && deploy/);
  const create = await dspipe(['indexes', 'create', '--help']);
  for (const flag of ['--wait', '--timeout', '--poll-ms', '--json', '--quiet', '--project', '--emulator-host']) assert.ok(create.stdout.includes(flag), flag);
  const prune = await dspipe(['indexes', 'prune', '--help']);
  assert.ok(prune.stdout.includes('--yes'));
  const e = await dspipe(['emulator', '--help']);
  for (const flag of ['--require-indexes', '--write-indexes', '--index-build-ms']) assert.ok(e.stdout.includes(flag), flag);
});
