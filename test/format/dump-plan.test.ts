import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJson, parsePlan, partFile, partsOfShard, plainKey, taskFile, type DumpPlan } from '../../src/format/dump-plan.js';
import { isDspipeError } from '../../src/errors.js';

function plan(estimates: number[]): DumpPlan {
  return {
    format: 'dspipe-dump-plan', formatVersion: 1, dspipeVersion: '0.1.0', name: 'n', source: { projectId: 'p', databaseId: '' },
    readTime: null, snapshot: false, compression: 'zstd', level: 3, createdAt: '2026-12-02T00:00:00.000Z', partEntities: 10, sampling: 'scatter',
    kinds: [{ namespace: '', kind: 'K', file: '(default)/K.ndjson.zst', entities: estimates.reduce((a, b) => a + b, 0), sampling: 'scatter' }],
    parts: estimates.map((estimate, id) => ({ id, namespace: '', kind: 'K', start: null, end: null, estimate })),
  };
}

test('partsOfShard: every part to one task, the same answer every time, balanced', () => {
  const p = plan([100, 100, 100, 100, 10, 10, 10, 10, 0, 0, 50]);
  for (const n of [1, 2, 3, 8, 20]) {
    const shares = Array.from({ length: n }, (_, i) => partsOfShard(p, i, n));
    assert.deepEqual(shares.flat().map((x) => x.id).sort((a, b) => a - b), p.parts.map((x) => x.id));
    assert.deepEqual(shares.map((s) => s.map((x) => x.id)), Array.from({ length: n }, (_, i) => partsOfShard(p, i, n).map((x) => x.id)));
    if (n === 4) assert.deepEqual(shares.map((s) => s.reduce((a, x) => a + x.estimate, 0)).sort(), [110, 110, 120, 150].sort());
  }
});

test('plan.json round-trips and bad plans are refused naming the file', () => {
  const p = plan([5, 5]);
  assert.deepEqual(parsePlan(formatJson(p), 'plan.json'), p);
  assert.throws(() => parsePlan('{', '/x/plan.json'), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && err.file === '/x/plan.json');
  assert.throws(() => parsePlan(formatJson({ ...p, formatVersion: 9 }), 'plan.json'), /version 9/);
  assert.throws(() => parsePlan(formatJson({ ...p, parts: [{ ...p.parts[0], kind: 'Other' }] }), 'plan.json'), /names a kind the plan does not list/);
});

test('file names of parts and tasks; keys kept plain', () => {
  assert.equal(partFile(12, 'zstd'), 'parts/00012.ndjson.zst');
  assert.equal(partFile(3, 'none'), 'parts/00003.ndjson');
  assert.equal(taskFile(2, 8), 'tasks/0002-of-0008.json');
  assert.deepEqual(plainKey({ partitionId: { projectId: 'p', namespaceId: 'ns' }, path: [{ kind: 'A', id: '7', idType: 'id' } as never, { kind: 'B', name: 'x' }] }), {
    partitionId: { projectId: 'p', databaseId: '', namespaceId: 'ns' },
    path: [{ kind: 'A', id: '7' }, { kind: 'B', name: 'x' }],
  });
});
