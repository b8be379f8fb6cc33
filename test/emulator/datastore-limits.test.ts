/**
 * Datastore's limits on what one entity may hold, on every backend: nesting of
 * entity values (20), indexed values (production: 20,000), namespace names
 * ([0-9A-Za-z._-]{0,100}, `__*__` reserved). dspipe's emulator enforces
 * production's documented numbers in Google's words; where Google's emulators
 * differ (Firestore's caps indexed values at 5,000, legacy has no cap) the
 * test says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import type { IEntity, IValue } from '../../src/model/proto.js';
import { MAX_ENTITY_DEPTH, MAX_INDEXED_VALUES } from '../../src/model/limits.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const key = (namespaceId = '', name = 'a') => ({ partitionId: { projectId: t.connection.projectId, namespaceId }, path: [{ kind: 'K', name }] });
async function put(entity: IEntity): Promise<string> {
  try {
    await t.client.commit({ projectId: t.connection.projectId, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: entity }] });
    return 'ok';
  } catch (err) {
    return `${(err as { code?: number }).code}: ${String((err as { details?: string }).details ?? (err as Error).message)}`;
  }
}
const nested = (depth: number): IValue => {
  let v: IValue = { integerValue: '1' };
  for (let i = 0; i < depth; i++) v = { entityValue: { properties: { x: v } } };
  return v;
};
const indexed = (n: number): Record<string, IValue> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { integerValue: String(i) }]));

test('entity values nest at most 20 deep', async () => {
  assert.equal(await put({ key: key(), properties: { p: nested(MAX_ENTITY_DEPTH) } }), 'ok');
  assert.match(await put({ key: key(), properties: { p: nested(MAX_ENTITY_DEPTH + 1) } }), /^3: At most 20 nested entity values are supported\./);
});

test('indexed values per entity are capped (production 20,000; Google\'s Firestore emulator 5,000; legacy none)', async () => {
  const cap = { dspipe: MAX_INDEXED_VALUES, firestore: 5000, legacy: Infinity }[backendName()];
  const atCap = Math.min(cap, MAX_INDEXED_VALUES);
  assert.equal(await put({ key: key(), properties: indexed(atCap) }), 'ok');
  const over = { ...indexed(atCap), list: { arrayValue: { values: [{ integerValue: '1' }] } } };
  if (cap === Infinity) assert.equal(await put({ key: key(), properties: over }), 'ok', 'legacy takes any number');
  else assert.match(await put({ key: key(), properties: over }), /^3: Too many indexed properties/);
  // unindexed values never count, nor do arrays and entity values themselves
  const unindexed = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`u${i}`, { integerValue: '0', excludeFromIndexes: true }]));
  assert.equal(await put({ key: key(), properties: { ...unindexed, e: { entityValue: { properties: indexed(10) } } } }), 'ok');
});

test('namespace names: [0-9A-Za-z._-] up to 100 characters; __*__ reserved', async () => {
  for (const ok of ['CON', 'a.b', 'a-b', 'a_b', '-', '.', '..', '0', '__', '___', '__x', 'x'.repeat(100)]) {
    assert.equal(await put({ key: key(ok), properties: {} }), 'ok', JSON.stringify(ok));
  }
  for (const bad of ['a/b', 'Ünï', 'a b', 'a\n', '日本', '!', 'A:B', 'a@b', 'x'.repeat(101)]) {
    assert.equal(await put({ key: key(bad), properties: {} }), `3: Illegal string ${JSON.stringify(bad).replace('\\n', '\n')} in namespace id.`, JSON.stringify(bad));
  }
  assert.equal(await put({ key: key('__x__'), properties: {} }), '3: The namespace id "__x__" is reserved.');
});
