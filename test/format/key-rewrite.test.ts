import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import { createKeyRewrite, parseNamespaceMap } from '../../src/format/key-rewrite.js';
import { isDspipeError } from '../../src/errors.js';

const part = (p: string, d: string, n: string) => `"partitionId":{"projectId":"${p}","databaseId":"${d}","namespaceId":"${n}"}`;
const key = (p: string, d: string, n: string, path: string) => `{${part(p, d, n)},"path":${path}}`;

const LINE = `{"key":${key('src', '', 'a', '[{"kind":"Post","id":"5"}]')},"properties":{` +
  `"author":{"keyValue":${key('src', '', 'a', '[{"kind":"User","name":"u"}]')}},` +
  `"defaultNs":{"keyValue":${key('src', '', '', '[{"kind":"User","id":"1"}]')}},` +
  `"foreign":{"keyValue":${key('elsewhere', '', 'a', '[{"kind":"User","id":"2"}]')}},` +
  `"otherDb":{"keyValue":${key('src', 'db2', 'a', '[{"kind":"User","id":"3"}]')}},` +
  `"list":{"arrayValue":{"values":[{"keyValue":${key('src', '', 'a', '[{"kind":"Tag","id":"7"}]')}},{"entityValue":{"key":${key('src', '', 'b', '[{"kind":"E","id":"8"}]')},"properties":{"deep":{"keyValue":${key('src', '', 'a', '[{"kind":"D","id":"9"}]')}}}}}]}},` +
  `"embedded":{"entityValue":{"properties":{"ref":{"arrayValue":{"values":[{"keyValue":${key('src', '', 'c', '[{"kind":"C","id":"10"}]')}}]}}}}}}}`;

describe('parseNamespaceMap', () => {
  test('pairs, commas, repeats and (default)', () => {
    const map = parseNamespaceMap(['a=b', '(default)=archive,c=(default)']);
    assert.deepEqual([...map], [['a', 'b'], ['', 'archive'], ['c', '']]);
    assert.deepEqual([...parseNamespaceMap({ '(default)': 'x' })], [['', 'x']]);
    assert.equal(parseNamespaceMap(undefined).size, 0);
  });
  for (const bad of ['a', '=b', 'a=', 'a=b=c', '', 'a=b,a=c']) {
    test(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseNamespaceMap(bad), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION'));
    });
  }
});

describe('createKeyRewrite', () => {
  test('nothing to do: no function, entities untouched', () => {
    assert.equal(createKeyRewrite({ target: { projectId: 'src', databaseId: '' }, source: { projectId: 'src', databaseId: '' } }), undefined);
  });

  test('moves every key of the source database, keeps references out of it', () => {
    const rewrite = createKeyRewrite({
      source: { projectId: 'src', databaseId: '' },
      target: { projectId: 'dst', databaseId: 'db9' },
      namespaceMap: new Map([['a', 'z'], ['', 'root']]),
    })!;
    const out = JSON.parse(encodeEntity(rewrite(decodeEntity(LINE))));
    const p = (k: { partitionId: object }) => k.partitionId;
    assert.deepEqual(p(out.key), { projectId: 'dst', databaseId: 'db9', namespaceId: 'z' });
    assert.deepEqual(p(out.properties.author.keyValue), { projectId: 'dst', databaseId: 'db9', namespaceId: 'z' });
    assert.deepEqual(p(out.properties.defaultNs.keyValue), { projectId: 'dst', databaseId: 'db9', namespaceId: 'root' });
    assert.deepEqual(p(out.properties.foreign.keyValue), { projectId: 'elsewhere', databaseId: '', namespaceId: 'a' });
    assert.deepEqual(p(out.properties.otherDb.keyValue), { projectId: 'src', databaseId: 'db2', namespaceId: 'a' });
    const [tag, emb] = out.properties.list.arrayValue.values;
    assert.deepEqual(p(tag.keyValue), { projectId: 'dst', databaseId: 'db9', namespaceId: 'z' });
    assert.deepEqual(p(emb.entityValue.key), { projectId: 'dst', databaseId: 'db9', namespaceId: 'b' }, 'unmapped namespace kept');
    assert.deepEqual(p(emb.entityValue.properties.deep.keyValue), { projectId: 'dst', databaseId: 'db9', namespaceId: 'z' });
    assert.deepEqual(p(out.properties.embedded.entityValue.properties.ref.arrayValue.values[0].keyValue), { projectId: 'dst', databaseId: 'db9', namespaceId: 'c' });
    // paths never change
    assert.deepEqual(out.key.path, [{ kind: 'Post', id: '5' }]);
    assert.deepEqual(out.properties.author.keyValue.path, [{ kind: 'User', name: 'u' }]);
  });

  test('without a manifest the entity key names the source database', () => {
    const rewrite = createKeyRewrite({ target: { projectId: 'dst', databaseId: '' } })!;
    const out = JSON.parse(encodeEntity(rewrite(decodeEntity(LINE))));
    assert.equal(out.key.partitionId.projectId, 'dst');
    assert.equal(out.properties.author.keyValue.partitionId.projectId, 'dst');
    assert.equal(out.properties.foreign.keyValue.partitionId.projectId, 'elsewhere');
  });

  test('the same line re-encodes identically apart from partitions', () => {
    const rewrite = createKeyRewrite({ source: { projectId: 'src', databaseId: '' }, target: { projectId: 'src', databaseId: '' }, namespaceMap: new Map([['zz', 'y']]) })!;
    assert.equal(encodeEntity(rewrite(decodeEntity(LINE))), encodeEntity(decodeEntity(LINE)));
  });
});
