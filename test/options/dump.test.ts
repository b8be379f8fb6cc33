import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DUMP_DEFAULTS, normalizeDumpOptions, normalizeReadTime, timestampName } from '../../src/options/dump.js';
import { isDspipeError } from '../../src/errors.js';
import { matches } from '../../src/format/selection.js';

function refuses(options: Parameters<typeof normalizeDumpOptions>[0], quoted: RegExp) {
  assert.throws(() => normalizeDumpOptions(options), (err) => {
    assert.ok(isDspipeError(err, 'DSPIPE_INVALID_OPTION'), String(err));
    assert.match(err.message, quoted);
    assert.ok(err.hint, 'carries a hint');
    return true;
  });
}

test('bad values are refused with a coded error quoting the value', () => {
  refuses({ compress: 'gzip' }, /--compress "gzip"/);
  refuses({ level: '0' }, /--level "0"/);
  refuses({ level: 'fast' }, /--level "fast"/);
  refuses({ level: 23 }, /--level 23/);
  refuses({ splits: '0' }, /--splits "0"/);
  refuses({ splits: 1.5 }, /--splits 1.5/);
  refuses({ splits: 'many' }, /--splits "many"/);
  refuses({ concurrency: '-1' }, /--concurrency "-1"/);
  refuses({ pageSize: '' }, /--page-size ""/);
  refuses({ name: '../escape' }, /--name "..\/escape"/);
  refuses({ name: '..' }, /--name ".."/);
  refuses({ name: '' }, /--name ""/);
  refuses({ root: '' }, /--root ""/);
  refuses({ out: 'file.ndjson' }, /--out "file.ndjson"/);
  refuses({ readTime: 'yesterday' }, /--read-time "yesterday"/);
  refuses({ readTime: '2999-01-01T00:00:00Z' }, /--read-time "2999-01-01T00:00:00Z" is in the future/);
  refuses({ readTime: '2026-01-01T00:00:00Z', snapshot: false }, /--no-snapshot/);
  const ago = (ms: number, whole = false) => new Date(Math.floor((Date.now() - ms) / (whole ? 60_000 : 1)) * (whole ? 60_000 : 1)).toISOString();
  refuses({ readTime: ago(2 * 3600_000 + 1234) }, /more than an hour old and not a whole minute/);
  refuses({ readTime: ago(8 * 24 * 3600_000, true) }, /more than 7 days old/);
  assert.doesNotThrow(() => normalizeDumpOptions({ readTime: ago(2 * 3600_000, true) }));
  assert.doesNotThrow(() => normalizeDumpOptions({ readTime: ago(10_000) }));
  refuses({ force: true, resume: true }, /--resume/);
  refuses({ out: '-', resume: true }, /--out -/);
  refuses({ kinds: 'A,,B' }, /--kinds/);
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
  assert.equal(o.retry.maxAttempts, 10);
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
