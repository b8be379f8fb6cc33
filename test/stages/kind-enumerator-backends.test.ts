/**
 * How kinds are listed on each backend (BACKENDS.md, difference 3): named
 * namespaces and kinds need no metadata query; where the backend refuses
 * `__namespace__`/`__kind__` (Google's Firestore emulator), the default
 * namespace is read with a warning and kinds are found by a kindless scan.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { enumerateKinds } from '../../src/stages/kind-enumerator.js';
import { parseSelection } from '../../src/format/selection.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
  const { projectId } = t.connection;
  const mutations = [];
  for (const [ns, kind, parent] of [['', 'User', ''], ['', 'Order', 'User'], ['tenant-a', 'Invoice', '']] as const) {
    for (let i = 1; i <= 3; i++) {
      const path = parent ? [{ kind: parent, id: String(i) }, { kind, name: `n${i}` }] : [{ kind, id: String(i) }];
      mutations.push({ upsert: { key: { partitionId: { projectId, namespaceId: ns }, path }, properties: { i: { integerValue: String(i) } } } });
    }
  }
  await t.client.commit({ projectId, mode: 'NON_TRANSACTIONAL', mutations });
});
after(() => t.close());

async function list(spec: { namespaces?: string; kinds?: string } = {}) {
  const warnings: string[] = [];
  const refs: string[] = [];
  for await (const ref of enumerateKinds(t.client, t.connection, { selection: parseSelection(spec), onWarning: (m) => warnings.push(m) })) {
    refs.push(`${ref.namespace}/${ref.kind}`);
  }
  return { refs, warnings };
}

// Google's Firestore emulator refuses both metadata queries; production, legacy and ours answer them.
const refusesMetadata = backendName() === 'firestore';

test('named namespaces and kinds are read as named, with no listing and no warning', async () => {
  const { refs, warnings } = await list({ namespaces: 'tenant-a,(default)', kinds: 'User,Invoice,Missing' });
  // In name order, default namespace first; a named kind that holds nothing is still read (it reads as empty).
  assert.deepEqual(refs, ['/Invoice', '/Missing', '/User', 'tenant-a/Invoice', 'tenant-a/Missing', 'tenant-a/User']);
  assert.deepEqual(warnings, []);
});

test('named namespaces, kinds listed: from __kind__, or by a kindless scan where it is refused', async () => {
  const { refs, warnings } = await list({ namespaces: '(default),tenant-a' });
  assert.deepEqual(refs, ['/Order', '/User', 'tenant-a/Invoice']);
  if (refusesMetadata) {
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /does not list kinds .*--kinds/);
  } else assert.deepEqual(warnings, []);
});

test('nothing named: every namespace, or the default one with a warning that says to name them', async () => {
  const { refs, warnings } = await list({ kinds: '-Order' });
  if (refusesMetadata) {
    assert.deepEqual(refs, ['/User']);
    assert.match(warnings.join('\n'), /does not list namespaces .*only the default namespace is read.*--namespaces/);
  } else {
    assert.deepEqual(refs, ['/User', 'tenant-a/Invoice']);
    assert.deepEqual(warnings, []);
  }
});
