import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeyPaths } from '../../src/model/key-order.js';
import { encodePath } from '../../src/emulator/keys.js';
import { SortedIndex } from '../../src/emulator/sorted-index.js';
import { Store } from '../../src/emulator/store.js';
import { mulberry32 } from '../../src/prng.js';
import type { IKey, IPathElement } from '../../src/model/proto.js';

const KINDS = ['A', 'AB', 'B', 'a', 'é', '\u0000x', '\u0001', 'z\uffff', '😀', '\ue000', 'A\u0000'];
const NAMES = ['', 'a', 'a\u0000', 'b', 'é', '😀', '\uffff', '\ud7ff', 'Z', '\u0001\u0001'];

function randomKey(random: () => number): IKey {
  const depth = 1 + Math.floor(random() * 3);
  const path: IPathElement[] = [];
  for (let i = 0; i < depth; i++) {
    const kind = KINDS[Math.floor(random() * KINDS.length)]!;
    if (random() < 0.5) {
      const big = random() < 0.3;
      const id = big ? String(2n ** 62n + BigInt(Math.floor(random() * 1e9))) : String(1 + Math.floor(random() * 1000));
      path.push({ kind, id });
    } else {
      const name = NAMES[1 + Math.floor(random() * (NAMES.length - 1))]! + (random() < 0.5 ? '' : 'x');
      path.push({ kind, name });
    }
  }
  return { path };
}

describe('emulator store internals', () => {
  it('encodes key paths so that string order is Datastore key order', () => {
    const random = mulberry32(11);
    for (let i = 0; i < 4000; i++) {
      const a = randomKey(random);
      const b = random() < 0.2 ? { path: a.path!.slice(0, 1) } : randomKey(random);
      const expected = Math.sign(compareKeyPaths(a, b));
      const ea = encodePath(a.path!);
      const eb = encodePath(b.path!);
      const actual = ea < eb ? -1 : ea > eb ? 1 : 0;
      assert.equal(actual, expected, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  });

  it('keeps a sorted index under random inserts and removals, seeks and iterates in order', () => {
    const random = mulberry32(5);
    const index = new SortedIndex<{ sortKey: string }>();
    const model = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const k = String(Math.floor(random() * 8000)).padStart(5, '0');
      if (random() < 0.7) {
        assert.equal(index.insert({ sortKey: k }), !model.has(k));
        model.add(k);
      } else {
        assert.equal(index.remove(k)?.sortKey, model.has(k) ? k : undefined);
        model.delete(k);
      }
    }
    const sorted = [...model].sort();
    assert.equal(index.size, sorted.length);
    assert.deepEqual([...index.iterate()].map((x) => x.sortKey), sorted);
    const from = '04000';
    assert.deepEqual([...index.iterate(from)].map((x) => x.sortKey), sorted.filter((k) => k >= from));
    assert.deepEqual([...index.iterate(sorted[10], false)].map((x) => x.sortKey), sorted.slice(11));
    assert.equal(index.get(sorted[5]!)?.sortKey, sorted[5]);
  });

  it('resumes an iteration correctly when the index changes underneath', () => {
    const index = new SortedIndex<{ sortKey: string }>();
    for (let i = 0; i < 3000; i++) index.insert({ sortKey: String(i * 2).padStart(6, '0') });
    const seen: string[] = [];
    for (const item of index.iterate()) {
      seen.push(item.sortKey);
      if (seen.length === 100) {
        index.insert({ sortKey: '000001' }); // before the cursor: not seen
        index.insert({ sortKey: '000201' }); // ahead of the cursor: seen
        index.remove('000202');
      }
    }
    assert.ok(!seen.includes('000001'));
    assert.ok(seen.includes('000201'));
    assert.ok(!seen.includes('000202'));
    assert.equal(seen.length, 3000);
  });

  it('serves snapshots: scans in key order from a start, hides deletions, counts cheaply, reads old versions', () => {
    const store = new Store();
    const db = store.database('p', '');
    const put = (path: IPathElement[], n: number | null) => {
      const time = store.clock.tick();
      const key: IKey = { partitionId: { projectId: 'p', databaseId: '', namespaceId: '' }, path };
      const e = n === null ? null : { key, properties: { n: { integerValue: String(n) } }, version: String(time), createTime: {}, updateTime: {} };
      store.write(db, '', encodePath(path), path[path.length - 1]!.kind!, e, time);
      return time;
    };
    put([{ kind: 'K', id: '10' }], 1);
    put([{ kind: 'K', id: '9' }], 1);
    put([{ kind: 'K', name: 'a' }], 1);
    put([{ kind: 'P', id: '1' }, { kind: 'K', id: '1' }], 1);
    put([{ kind: 'P', id: '1' }], 1);
    const before = store.clock.tick();
    put([{ kind: 'K', id: '9' }], null);
    const now = store.snapshot(db, store.clock.tick());
    const ids = (kind?: string, start?: IKey) =>
      [...now.scan('', kind, start ? { key: start, inclusive: true } : undefined)].map((e) => e.key.path!.map((p) => p.id ?? p.name).join('/'));
    assert.deepEqual(ids('K'), ['10', 'a', '1/1']);
    assert.deepEqual(ids(undefined), ['10', 'a', '1', '1/1']);
    assert.deepEqual(ids('K', { path: [{ kind: 'K', name: 'a' }] }), ['a', '1/1']);
    assert.equal(now.count('', 'K'), 3);
    assert.equal(now.count('', undefined), 4);
    assert.deepEqual(now.kinds(''), ['K', 'P']);
    assert.deepEqual(now.namespaces(), ['']);
    const old = store.snapshot(db, before);
    assert.equal(old.count('', 'K'), 4);
    assert.deepEqual([...old.scan('', 'K')].map((e) => e.key.path![0]!.id ?? e.key.path![0]!.name), ['9', '10', 'a', '1']);
  });
});
