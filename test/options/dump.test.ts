import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DUMP_DEFAULTS, normalizeDumpOptions, normalizeReadTime, timestampName } from '../../src/options/dump.js';
import { matches } from '../../src/format/selection.js';
import { refusalTests, assertRefused, type Conflict, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeDumpOptions>[0];

describe('dump options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['an unknown compression', { compress: 'gzip' as never }, '--compress', 'compress', '"gzip"'],
    ['level 0', { level: '0' }, '--level', 'level', '"0"'],
    ['a level in words', { level: 'fast' }, '--level', 'level', '"fast"'],
    ['level 23', { level: 23 }, '--level', 'level', '23'],
    ['splits 0', { splits: '0' }, '--splits', 'splits', '"0"'],
    ['fractional splits', { splits: 1.5 }, '--splits', 'splits', '1.5'],
    ['splits in words', { splits: 'many' }, '--splits', 'splits', '"many"'],
    ['splits 65', { splits: 65 }, '--splits', 'splits', '65'],
    ['negative concurrency', { concurrency: '-1' }, '--concurrency', 'concurrency', '"-1"'],
    ['an empty page size', { pageSize: '' }, '--page-size', 'pageSize', '""'],
    ['page size over 10000', { pageSize: 10_001 }, '--page-size', 'pageSize', '10001'],
    ['a name with a slash', { name: '../escape' }, '--name', 'name', '"../escape"'],
    ['the name ..', { name: '..' }, '--name', 'name', '".."'],
    ['an empty name', { name: '' }, '--name', 'name', '""'],
    ['a name with NUL', { name: 'a\0b' }, '--name', 'name', '"a\\u0000b"'],
    ['a name with trailing space', { name: 'nightly ' }, '--name', 'name', '"nightly "'],
    ['an empty root', { root: '' }, '--root', 'root', '""'],
    ['a file as --out', { out: 'file.ndjson' }, '--out', 'out', '"file.ndjson"'],
    ['a read time in words', { readTime: 'yesterday' }, '--read-time', 'readTime', '"yesterday"'],
    ['a read time in the future', { readTime: '2999-01-01T00:00:00Z' }, '--read-time', 'readTime', '"2999-01-01T00:00:00Z"'],
    ['an invalid Date', { readTime: new Date(NaN) }, '--read-time', 'readTime', '"Invalid Date"'],
    ['an empty kinds entry', { kinds: 'A,,B' }, '--kinds', 'kinds', '"A,,B"'],
    ['a namespaces list of numbers', { namespaces: [1] as unknown as string[] }, '--namespaces', 'namespaces', '[1]'],
    ['snapshot as text', { snapshot: 'no' as unknown as boolean }, '--no-snapshot', 'snapshot', '"no"'],
    ['force as text', { force: 'yes' as unknown as boolean }, '--force', 'force', '"yes"'],
    ['resume as a number', { resume: 1 as unknown as boolean }, '--resume', 'resume', '1'],
    ['an empty options file', { optionsFile: '' }, '--options', 'optionsFile', '""'],
  ];
  const conflicts: Conflict<Input>[] = [
    ['a read time without a snapshot', { readTime: '2026-01-01T00:00:00Z', snapshot: false }, ['--read-time', '--no-snapshot'], ['readTime', 'snapshot']],
    ['--resume with --force', { force: true, resume: true }, ['--resume', '--force'], ['resume', 'force']],
    ['--resume with --out -', { out: '-', resume: true }, ['--resume', '--out -'], ['resume', 'out']],
  ];
  refusalTests((input: Input) => normalizeDumpOptions(input), refusals, conflicts);

  test('read times Datastore would refuse: older than an hour and not a whole minute, or past 7 days', () => {
    const ago = (ms: number, whole = false) => new Date(Math.floor((Date.now() - ms) / (whole ? 60_000 : 1)) * (whole ? 60_000 : 1)).toISOString();
    const late = ago(2 * 3600_000 + 1234);
    assertRefused(() => normalizeDumpOptions({ readTime: late }), ['--read-time'], ['readTime'], JSON.stringify(late));
    assert.throws(() => normalizeDumpOptions({ readTime: late }), /more than an hour old and not a whole minute/);
    assert.throws(() => normalizeDumpOptions({ readTime: ago(8 * 24 * 3600_000, true) }), /more than 7 days old/);
    assert.doesNotThrow(() => normalizeDumpOptions({ readTime: ago(2 * 3600_000, true) }));
    assert.doesNotThrow(() => normalizeDumpOptions({ readTime: ago(10_000) }));
  });
});

test('defaults', () => {
  const now = new Date('2026-11-22T09:45:00.123Z');
  const o = normalizeDumpOptions({}, now);
  assert.equal(o.name, '20261122T094500Z');
  assert.equal(o.root, '_backup');
  assert.equal(o.dir, '_backup/20261122T094500Z');
  assert.equal(o.toStdout, false);
  assert.equal(o.compression, 'zstd');
  assert.equal(o.level, DUMP_DEFAULTS.level);
  assert.equal(o.splits, 'auto');
  assert.equal(o.concurrency, DUMP_DEFAULTS.concurrency);
  assert.equal(o.pageSize, undefined);
  assert.equal(o.snapshot, true);
  assert.equal(o.readTime, undefined);
  assert.equal(o.optionsFile, '_backup/options.json');
  assert.equal(timestampName(now), '20261122T094500Z');
});

test('CLI strings and library values normalise alike', () => {
  const a = normalizeDumpOptions({ name: 'x', root: 'dumps/', splits: '3', level: '19', concurrency: '2', pageSize: '100', compress: 'none', optionsFile: 'o.json' });
  const b = normalizeDumpOptions({ name: 'x', root: 'dumps/', splits: 3, level: 19, concurrency: 2, pageSize: 100, compress: 'none', optionsFile: 'o.json' });
  assert.deepEqual(a, b);
  assert.equal(a.dir, 'dumps/x');
  assert.equal(a.splits, 3);
});

test('stdout defaults to plain NDJSON; zstd on request', () => {
  assert.equal(normalizeDumpOptions({ out: '-' }).compression, 'none');
  assert.equal(normalizeDumpOptions({ out: '-' }).dir, null);
  assert.equal(normalizeDumpOptions({ out: '-', compress: 'zstd' }).compression, 'zstd');
});

test('selection and read time', () => {
  const o = normalizeDumpOptions({ kinds: 'User,-UserAudit', namespaces: '(default),tenant*', readTime: '2026-01-02T03:04:05.1234567+01:00' }, new Date('2026-01-02T02:10:00Z'));
  assert.equal(matches(o.selection.kinds, 'User'), true);
  assert.equal(matches(o.selection.kinds, 'UserAudit'), false);
  assert.equal(matches(o.selection.namespaces, ''), true);
  assert.equal(matches(o.selection.namespaces, 'tenantA'), true);
  assert.equal(o.readTime, '2026-01-02T02:04:05.123456Z');
  assert.equal(normalizeReadTime(new Date('2026-01-02T03:04:05.120Z')), '2026-01-02T03:04:05.120000Z');
  assert.equal(normalizeReadTime('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05.000000Z');
});

test('accepted at the edges of each range', () => {
  const o = normalizeDumpOptions({ name: 'nightly.2026-11-22_a', level: 22, splits: 'auto', concurrency: 64, pageSize: 10_000 });
  assert.deepEqual([o.level, o.splits, o.concurrency, o.pageSize], [22, 'auto', 64, 10_000]);
  assert.equal(normalizeDumpOptions({ splits: 64, level: 1 }).splits, 64);
});
