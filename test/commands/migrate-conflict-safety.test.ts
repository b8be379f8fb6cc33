/**
 * migrate's conflict safety rests on base_version, which Google's Firestore
 * emulator ignores (a stale conditional write lands): migrate probes it with
 * a scratch entity and says so before it writes, rather than pretend.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { migrateRun, type MigrateEvent } from '../../src/commands/migrate.js';
import { parseRename } from '../../src/format/transforms.js';
import { honoursBaseVersion, PROBE_KIND } from '../../src/migrate/base-version-probe.js';
import { DEFAULT_RETRY } from '../../src/datastore/retry.js';

const ignoresBaseVersion = backendName() === 'firestore';
let t: TestBackend;
before(async () => {
  t = await startTestBackend();
  const { projectId } = t.connection;
  await t.client.commit({
    projectId,
    mode: 'NON_TRANSACTIONAL',
    mutations: [1, 2].map((i) => ({ upsert: { key: { partitionId: { projectId }, path: [{ kind: 'User', id: String(i) }] }, properties: { nick: { stringValue: `u${i}` } } } })),
  });
});
after(() => t.close());

async function probeEntities(): Promise<number> {
  const [response] = await t.client.runQuery({ projectId: t.connection.projectId, partitionId: { projectId: t.connection.projectId }, query: { kind: [{ name: PROBE_KIND }] } });
  return response.batch?.entityResults?.length ?? 0;
}

test('the probe tells a backend that honours base_version from one that ignores it, and leaves nothing behind', async () => {
  assert.equal(await honoursBaseVersion(t.client, t.connection, DEFAULT_RETRY), !ignoresBaseVersion);
  assert.equal(await probeEntities(), 0);
});

test('migrate warns before it writes where base_version is ignored, and only there; the data is migrated either way', async () => {
  const events: MigrateEvent[] = [];
  const report = await migrateRun({ kind: 'User', namespaces: '(default)', transforms: [parseRename('nick=name')] }, { connection: t.connection, client: t.client, onEvent: (e) => events.push(e) });
  assert.equal(report.counts.changed, 2);
  const warnings = events.flatMap((e, i) => (e.type === 'warning' ? [{ i, message: e.message }] : []));
  if (ignoresBaseVersion) {
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /ignores base_version/);
    const firstWrite = events.findIndex((e) => e.type === 'kind-start');
    assert.ok(warnings[0]!.i < firstWrite, 'said before the first kind is rewritten');
  } else assert.deepEqual(warnings, []);
  assert.equal(await probeEntities(), 0);
});
