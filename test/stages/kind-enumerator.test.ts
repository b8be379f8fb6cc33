import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createKindEnumerator } from '../../src/stages/kind-enumerator.js';
import { parseSelection } from '../../src/format/selection.js';
import { serverReadTime } from '../../src/datastore/run-query.js';
import { seedKind } from './seed.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator();
  for (const [ns, kind] of [['', 'User'], ['', 'Order'], ['', 'AuditLog'], ['tenant-a', 'User'], ['tenant-b', 'Invoice'], ['..', 'a/b']]) {
    await seedKind(t, ns!, kind!, 2);
  }
});
after(() => t.close());

async function list(options: Parameters<typeof createKindEnumerator>[2] = {}) {
  const out: string[] = [];
  for await (const ref of createKindEnumerator(t.client, t.connection, options)) out.push(`${ref.namespace}/${ref.kind}`);
  return out;
}

test('every kind of every namespace, default namespace first, kinds by name, no __*__ kinds', async () => {
  // The seed's keys name Parent and Ref kinds in paths and key values, but only stored entities make a kind.
  const all = await list();
  assert.deepEqual(all, ['/AuditLog', '/Order', '/User', '../a/b', 'tenant-a/User', 'tenant-b/Invoice']);
  assert.ok(all.every((k) => !/\/__.*__$/.test(k)));
});

test('--namespaces and --kinds filters with exclusions', async () => {
  assert.deepEqual(await list({ selection: parseSelection({ namespaces: '(default)', kinds: '-AuditLog' }) }), ['/Order', '/User']);
  assert.deepEqual(await list({ selection: parseSelection({ namespaces: 'tenant-*', kinds: 'User,Invoice' }) }), ['tenant-a/User', 'tenant-b/Invoice']);
  assert.deepEqual(await list({ selection: parseSelection({ namespaces: '-(default),-tenant-*' }) }), ['../a/b']);
});

test('at a read time, later kinds and namespaces are not listed', async () => {
  const readTime = await serverReadTime(t.client, t.connection);
  await seedKind(t, 'late', 'Late', 1);
  await seedKind(t, '', 'Later', 1);
  const at = await list({ readTime });
  assert.ok(!at.includes('late/Late') && !at.includes('/Later'));
  const now = await list();
  assert.ok(now.includes('late/Late') && now.includes('/Later'));
});
