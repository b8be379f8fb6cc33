import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceDefinition } from '../../src/emulator/server.js';
import { encodeCommitResponse, encodeLookupResponse, encodeRunQueryResponse } from '../../src/emulator/wire.js';

const def = serviceDefinition();

/** Decodes with proto-loader, the way the client sees the bytes. */
function roundTrip(method: 'RunQuery' | 'Lookup' | 'Commit', bytes: Buffer): unknown {
  return def[method]!.responseDeserialize(bytes);
}

const key = (ns: string, ...path: Record<string, unknown>[]) => ({ partitionId: { projectId: 'p', databaseId: 'db', namespaceId: ns }, path });

const VALUES: Record<string, unknown> = {
  nul: { valueType: 'nullValue', nullValue: 'NULL_VALUE' },
  t: { valueType: 'booleanValue', booleanValue: true },
  f: { valueType: 'booleanValue', booleanValue: false, excludeFromIndexes: true },
  zero: { valueType: 'integerValue', integerValue: '0' },
  neg: { valueType: 'integerValue', integerValue: '-9223372036854775808' },
  max: { valueType: 'integerValue', integerValue: '9223372036854775807' },
  mid: { valueType: 'integerValue', integerValue: '9007199254740993' },
  small: { valueType: 'integerValue', integerValue: '-1', meaning: 15 },
  dbl: { valueType: 'doubleValue', doubleValue: 1.5 },
  dzero: { valueType: 'doubleValue', doubleValue: -0 },
  nan: { valueType: 'doubleValue', doubleValue: NaN },
  inf: { valueType: 'doubleValue', doubleValue: -Infinity },
  ts: { valueType: 'timestampValue', timestampValue: { seconds: '-62135596800', nanos: 1000 } },
  epoch: { valueType: 'timestampValue', timestampValue: { seconds: '0', nanos: 0 } },
  str: { valueType: 'stringValue', stringValue: 'héllo 😀 \u0000' },
  empty: { valueType: 'stringValue', stringValue: '' },
  long: { valueType: 'stringValue', stringValue: 'x'.repeat(100_000), excludeFromIndexes: true },
  blob: { valueType: 'blobValue', blobValue: Buffer.from([0, 1, 255]) },
  noblob: { valueType: 'blobValue', blobValue: Buffer.alloc(0) },
  geo: { valueType: 'geoPointValue', geoPointValue: { latitude: -33.5, longitude: 0 } },
  geo0: { valueType: 'geoPointValue', geoPointValue: { latitude: 0, longitude: 0 } },
  k: { valueType: 'keyValue', keyValue: key('other', { kind: 'A', id: '12' }, { kind: 'B', name: 'n' }) },
  arr: { valueType: 'arrayValue', arrayValue: { values: [{ valueType: 'integerValue', integerValue: '1' }, { valueType: 'stringValue', stringValue: 's', excludeFromIndexes: true }] } },
  noarr: { valueType: 'arrayValue', arrayValue: { values: [] } },
  ent: {
    valueType: 'entityValue',
    entityValue: { properties: { inner: { valueType: 'entityValue', entityValue: { key: key('', { kind: 'I' }), properties: { z: { valueType: 'booleanValue', booleanValue: true } } } } } },
  },
  noent: { valueType: 'entityValue', entityValue: { properties: {} } },
};

function entityResult(i: number) {
  return {
    entity: { key: key(i % 2 ? 'ns' : '', { kind: 'K', id: String(2 ** 52 + i) }), properties: VALUES },
    cursor: Buffer.from([i, 2, 3]),
    version: String(1_700_000_000_000_000 + i),
    createTime: { seconds: '1700000000', nanos: 5000 },
    updateTime: { seconds: '1700000001', nanos: 0 },
  };
}

describe('emulator direct response encoder', () => {
  it('encodes RunQueryResponse exactly as proto-loader decodes the standard encoding', () => {
    for (const batch of [
      {
        entityResultType: 'FULL',
        entityResults: Array.from({ length: 40 }, (_, i) => entityResult(i)),
        endCursor: Buffer.from('end'),
        moreResults: 'NOT_FINISHED',
        skippedResults: 3,
        skippedCursor: Buffer.from('skip'),
        readTime: { seconds: '1700000002', nanos: 123000 },
      },
      { entityResultType: 'KEY_ONLY', entityResults: [], endCursor: Buffer.alloc(0), moreResults: 'NO_MORE_RESULTS', skippedResults: 0 },
    ]) {
      const response = { batch, transaction: Buffer.from('tx') };
      const fast = encodeRunQueryResponse(response);
      assert.ok(fast, 'handled by the fast path');
      assert.deepEqual(roundTrip('RunQuery', fast), roundTrip('RunQuery', def.RunQuery!.responseSerialize(response)));
    }
  });

  it('encodes LookupResponse the same way, and declines shapes it does not know', () => {
    const response = {
      found: [entityResult(1), entityResult(2)],
      missing: [{ entity: { key: key('', { kind: 'M', name: 'gone' }) }, version: '42' }],
      deferred: [key('', { kind: 'D', id: '9' })],
      readTime: { seconds: '1', nanos: 2 },
    };
    const fast = encodeLookupResponse(response);
    assert.ok(fast);
    assert.deepEqual(roundTrip('Lookup', fast), roundTrip('Lookup', def.Lookup!.responseSerialize(response)));
    assert.equal(encodeRunQueryResponse({ batch: { entityResults: [] }, query: { kind: [] } }), undefined);
    assert.equal(encodeLookupResponse({ found: [{ entity: { properties: { x: { integerValue: '1' } } } }] }), undefined, 'no valueType');
  });

  it('encodes CommitResponse the same way: keys allocated, versions, times, conflicts, transform results', () => {
    const stamp = { seconds: '1700000000', nanos: 123000 };
    for (const response of [
      {
        mutationResults: [
          { conflictDetected: false, key: key('ns', { kind: 'K', id: '5629499534213120' }), version: '1700000000123000', createTime: stamp, updateTime: stamp },
          { conflictDetected: true, version: '17', createTime: { seconds: '1', nanos: 0 }, updateTime: { seconds: '2', nanos: 3 } },
          { conflictDetected: false, version: '0' },
          { conflictDetected: false, key: key('', { kind: 'A', name: 'n' }, { kind: 'B', id: '1' }), version: '9', transformResults: [VALUES.max, VALUES.ts, VALUES.arr, VALUES.nul] },
        ],
        indexUpdates: 1234,
        commitTime: stamp,
      },
      { mutationResults: [], indexUpdates: 0 },
      { mutationResults: Array.from({ length: 500 }, (_, i) => ({ conflictDetected: false, version: String(1_700_000_000_000_000 + i), createTime: stamp, updateTime: stamp })), indexUpdates: 500 * 25 },
    ]) {
      const fast = encodeCommitResponse(response);
      assert.ok(fast, 'handled by the fast path');
      assert.deepEqual(roundTrip('Commit', fast), roundTrip('Commit', def.Commit!.responseSerialize(response)));
    }
    assert.equal(encodeCommitResponse({ mutationResults: [], transaction: Buffer.from('x') }), undefined, 'a field CommitResponse does not have');
    assert.equal(encodeCommitResponse({ mutationResults: [{ version: '1', somethingNew: 1 }] }), undefined, 'a MutationResult field it does not know');
    assert.equal(encodeCommitResponse({ mutationResults: [{ transformResults: [{ integerValue: '1' }] }] }), undefined, 'a value without valueType');
  });
});
