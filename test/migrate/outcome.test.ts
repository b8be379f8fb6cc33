import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyScript, interpretResult, type ScriptRef } from '../../src/migrate/outcome.js';
import { EntityHelper } from '../../src/format/entity-helper.js';
import { isDspipeError } from '../../src/errors.js';
import type { IEntity } from '../../src/model/proto.js';

const original: IEntity = { key: { partitionId: { projectId: 'p', namespaceId: 'ns' }, path: [{ kind: 'User', name: 'u1' }] }, properties: { a: { stringValue: 'x' } } };
const script = (transform: ScriptRef['transform']): ScriptRef => ({ name: '0001-x', file: '/m/0001-x.ts', transform });
const failed = (re: RegExp) => (err: unknown) =>
  isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && re.test(err.message) && err.key === 'User("u1") in namespace "ns"' && err.file === '/m/0001-x.ts' && err.namespace === 'ns';

test('undefined leaves, null deletes, an equal entity is unchanged, a changed one is written', () => {
  const s = script(() => undefined);
  assert.deepEqual(interpretResult(undefined, original, s), { type: 'unchanged' });
  assert.deepEqual(interpretResult(null, original, s), { type: 'delete' });
  assert.deepEqual(interpretResult(new EntityHelper(original), original, s), { type: 'unchanged' });
  const changed = new EntityHelper(original).set('a', 'y');
  assert.deepEqual(interpretResult(changed, original, s), { type: 'write', entity: changed.toEntity() });
  const raw = { key: original.key, properties: { a: { stringValue: 'z' } } };
  assert.deepEqual(interpretResult(raw, original, s), { type: 'write', entity: raw });
});

test('a different key, a non-entity, or an invalid entity is a DSPIPE_MIGRATION_FAILED naming script and key', () => {
  const s = script(() => undefined);
  assert.throws(() => interpretResult({ key: { path: [{ kind: 'User', name: 'u2' }] }, properties: {} }, original, s), failed(/different key/));
  assert.throws(() => interpretResult('x', original, s), failed(/returned a string \(x\), not an entity/));
  assert.throws(() => interpretResult([original], original, s), failed(/an array/));
  assert.throws(() => interpretResult({ properties: {} }, original, s), failed(/not an entity/));
  assert.throws(() => interpretResult({ key: original.key, properties: { a: { stringValue: '\ud800' } } }, original, s), failed(/invalid entity/));
});

test('applyScript: throws are wrapped, async transforms awaited, the context passed, in-place raw edits detected', async () => {
  const result = { entity: original, version: '7' };
  await assert.rejects(applyScript(script(() => { throw new TypeError('nope'); }), result, 'ns', 'User'), failed(/transform threw: nope/));
  let seen: unknown;
  const out = await applyScript(script(async (e, ctx) => { seen = ctx; await new Promise((r) => setTimeout(r, 1)); return e.set('b', 1n); }), result, 'ns', 'User');
  assert.equal(out.type, 'write');
  assert.deepEqual(seen, { namespace: 'ns', kind: 'User', version: '7' });
  const copy = structuredClone(original);
  const raw = await applyScript(script((e) => { e.getRaw('a')!.stringValue = 'mutated'; return e; }), { entity: copy, version: '7' }, 'ns', 'User');
  assert.equal(raw.type, 'write');
});
