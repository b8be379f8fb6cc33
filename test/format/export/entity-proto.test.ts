import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntity, encodeEntity } from '../../../src/format/entity-codec.js';
import {
  decodeBackup,
  decodeEntityProto,
  decodeOverallMetadata,
  encodeBackup,
  encodeEntityProto,
  encodeOverallMetadata,
  exportName,
  LogWriter,
  pointerPaths,
  type LossyCorner,
} from '../../../src/format/export/index.js';
import { readFileSync } from 'node:fs';
import { isDspipeError } from '../../../src/errors.js';
import type { IEntity, IValue } from '../../../src/model/proto.js';
import { FIXTURE_NAMES, loadFixture } from './fixtures.js';

/** Puts `entity`'s properties (and those of its entity values) in `model`'s order. */
function inOrderOf(entity: IEntity, model: IEntity): void {
  const props = entity.properties ?? {};
  const order = Object.keys(model.properties ?? {});
  entity.properties = Object.fromEntries(order.map((n) => [n, props[n]!]));
  const walk = (v: IValue, m: IValue) => {
    if (v.entityValue && m.entityValue) inOrderOf(v.entityValue, m.entityValue);
    v.arrayValue?.values?.forEach((e, i) => walk(e, m.arrayValue!.values![i]!));
  };
  for (const n of order) walk(entity.properties[n]!, model.properties![n]!);
}

for (const name of FIXTURE_NAMES) {
  test(`${name}: every record decodes to what Lookup returned for its key`, () => {
    const fx = loadFixture(name);
    const lines = fx.files.flatMap((f) => f.records.map((r) => encodeEntity(decodeEntityProto(r, { file: f.path })))).sort();
    assert.equal(lines.length, fx.expected.length);
    for (let i = 0; i < lines.length; i++) assert.equal(lines[i], fx.expected[i], `entity ${i}`);
  });

  test(`${name}: dspipe's records and framing are byte-identical to Google's`, () => {
    const fx = loadFixture(name);
    for (const f of fx.files) {
      const w = new LogWriter();
      const framed: Buffer[] = [];
      f.records.forEach((rec, i) => {
        // Through the dump line and back, so the writer sees what restore and convert give it.
        const entity = decodeEntity(encodeEntity(decodeEntityProto(rec)));
        // Google's property order is commit order; the line sorts names. Put them back in the record's order.
        inOrderOf(entity, decodeEntityProto(rec));
        const mine = encodeEntityProto(entity);
        assert.ok(mine.equals(rec), `${f.path} record ${i} differs`);
        framed.push(w.frame(mine));
      });
      assert.ok(Buffer.concat(framed).equals(f.bytes), `${f.path}: framing differs`);
    }
    // The metadata files too.
    assert.ok(encodeOverallMetadata(fx.pointers).equals(readFileSync(fx.overallFile)));
  });
}

test('every-value spans blocks and has several output files', () => {
  const fx = loadFixture('every-value');
  assert.ok(fx.files.length >= 2, 'output-0 and output-1');
  assert.ok(fx.files.some((f) => f.records.some((r) => r.length > 3 * 32768)), 'a record spans blocks');
});

test('the Backup file and pointer paths as Google writes them', () => {
  const fx = loadFixture('filtered');
  const p = fx.pointers[0]!;
  assert.deepEqual(pointerPaths(p.namespace, p.kind).metadataFile, p.metadataFile);
  const meta = `${fx.folder}/${p.metadataFile}`;
  const google = readFileSync(meta);
  const { name, files } = decodeBackup(google, meta);
  assert.deepEqual(files, ['output-0']);
  // Google's start/end timestamps are not ours to know: same name and files, decoded back.
  const mine = encodeBackup({ name: name!, startMicros: 1, endMicros: 2, kind: 'Value', files });
  assert.deepEqual(decodeBackup(mine, 'x'), { name, files });
  assert.equal(pointerPaths('a/b', 'K/ind').folder, 'namespace_a%2fb/kind_K%2find');
  assert.match(exportName(new Date('2026-12-01T20:08:43.215Z')), /^2026-12-01T20:08:43_215$/);
});

test('a bad version record, a framed Backup and a raw overall file are refused', () => {
  const fx = loadFixture('filtered');
  const overall = readFileSync(fx.overallFile);
  const framedV4 = encodeOverallMetadata(fx.pointers);
  // Rewrite the version record "3" -> "4" with a valid CRC.
  const v4 = Buffer.from(new LogWriter().frame(Buffer.from('4')));
  const rest = framedV4.subarray(v4.length);
  assert.throws(() => decodeOverallMetadata(Buffer.concat([v4, rest]), 'X.overall_export_metadata'), (err) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && /version "4"/.test(err.message) && err.file === 'X.overall_export_metadata');
  assert.throws(() => decodeOverallMetadata(overall.subarray(14), 'o'), (err) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'));
  assert.throws(() => decodeBackup(new LogWriter().frame(Buffer.from([0x0a, 0x00])), 'b.export_metadata'), (err) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && err.file === 'b.export_metadata');
});

const key = (kind: string, name: string, projectId = 'p', namespaceId = '') => ({ partitionId: { projectId, databaseId: '', namespaceId }, path: [{ kind, name }] });

test('lossy corners are reported with their property path; nested arrays are refused', () => {
  const corners: LossyCorner[] = [];
  const entity = {
    key: key('K', 'a'),
    properties: {
      ordered: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b', excludeFromIndexes: true }] } },
      mixed: { arrayValue: { values: [{ stringValue: 'u', excludeFromIndexes: true }, { stringValue: 'i' }] } },
      far: { keyValue: key('F', 'x', 'other-project') },
      near: { keyValue: key('F', 'x') },
      inner: { entityValue: { properties: { far: { keyValue: key('F', 'y', 'elsewhere') } } } },
    },
  };
  const bytes = encodeEntityProto(entity, { onLossy: (c) => corners.push(c) });
  assert.deepEqual(corners.map((c) => [c.reason, c.path]), [
    ['array-order', 'mixed'],
    ['foreign-project-key', 'far'],
    ['foreign-project-key', 'inner.far'],
  ]);
  // What the export keeps: indexed first.
  const back = decodeEntityProto(bytes);
  assert.deepEqual(back.properties!.mixed!.arrayValue!.values!.map((v) => v.stringValue), ['i', 'u']);
  assert.equal(back.properties!.far!.keyValue!.partitionId!.projectId, 'other-project');
  assert.throws(
    () => encodeEntityProto({ key: key('K', 'a'), properties: { nest: { arrayValue: { values: [{ arrayValue: { values: [] } }] } } } }),
    (err) => isDspipeError(err, 'DSPIPE_REJECTED_ENTITY') && err.path === 'nest[0]',
  );
  assert.throws(() => encodeEntityProto({ key: { path: [{ kind: 'K', name: 'a' }] }, properties: {} }), /no project id/);
  assert.equal(decodeEntityProto(encodeEntityProto({ key: { path: [{ kind: 'K', name: 'a' }] }, properties: {} }, { project: 'q' })).key!.partitionId!.projectId, 'q');
});

test('s~ and e~ app prefixes are stripped, user values and zlib blobs decode, unknown meanings are refused', () => {
  const e = { key: key('K', 'a', 's~app'), properties: { ref: { keyValue: key('R', 'r', 'e~app') } } };
  const back = decodeEntityProto(encodeEntityProto(e));
  assert.equal(back.key!.partitionId!.projectId, 'app');
  assert.equal(back.properties!.ref!.keyValue!.partitionId!.projectId, 'app');
  const user = { key: key('K', 'u'), properties: { who: { meaning: 20, entityValue: { properties: { email: { stringValue: 'a@b.c' }, auth_domain: { stringValue: 'gmail.com' }, user_id: { stringValue: '42' } } } } } };
  const corners: LossyCorner[] = [];
  const u = decodeEntityProto(encodeEntityProto(user, { onLossy: (c) => corners.push(c) }));
  assert.equal(corners[0]!.reason, 'user-value');
  assert.equal(u.properties!.who!.meaning, 20);
  assert.deepEqual(Object.keys(u.properties!.who!.entityValue!.properties!), ['email', 'auth_domain', 'user_id']);
  // A geo point without GEORSS_POINT is v1 meaning 23, both ways.
  const geo = { key: key('K', 'g'), properties: { p: { geoPointValue: { latitude: 3, longitude: 4 }, meaning: 23 }, q: { geoPointValue: { latitude: 5, longitude: 6 } } } };
  const g = decodeEntityProto(encodeEntityProto(geo));
  assert.equal(g.properties!.p!.meaning, 23);
  assert.equal(g.properties!.q!.meaning, 0);
  // A record with meaning 31 (VECTOR, newer SDKs): hand-built Property {meaning 31, name "v", multiple false, value {}}.
  const base = encodeEntityProto({ key: key('K', 'v'), properties: {} });
  const bad = Buffer.concat([base, Buffer.from([0x72, 0x09, 0x08, 31, 0x1a, 0x01, 0x76, 0x20, 0x00, 0x2a, 0x00])]);
  assert.throws(() => decodeEntityProto(bad, { file: 'f', offset: 7 }), (err) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && /meaning 31/.test(err.message) && /at byte 7/.test(err.message));
  assert.throws(() => decodeEntityProto(Buffer.from([0xff, 0xff])), (err) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'));
});

test('keys with namespaces, named databases, ancestors and incomplete embedded keys round-trip', () => {
  const k = { partitionId: { projectId: 'p', databaseId: 'db-2', namespaceId: 'tenant' }, path: [{ kind: 'A', id: '9223372036854775807' }, { kind: 'B', name: 'b' }] };
  const entity = {
    key: k,
    properties: {
      ref: { keyValue: { partitionId: { projectId: 'p', databaseId: 'db-2', namespaceId: 'other' }, path: [{ kind: 'R', id: '1' }] } },
      inc: { entityValue: { key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: '' }, path: [{ kind: 'Parent', id: '5' }, { kind: 'New' }] }, properties: {} } },
      neg: { integerValue: '-1' },
    },
  };
  const back = decodeEntityProto(encodeEntityProto(entity));
  assert.equal(encodeEntity(back), encodeEntity(entity));
  assert.deepEqual(back.key!.partitionId, { projectId: 'p', databaseId: 'db-2', namespaceId: 'tenant' });
});
