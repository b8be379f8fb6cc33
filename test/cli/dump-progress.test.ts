import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createProgress, formatBytes, formatDuration, formatTable } from '../../src/cli/progress.js';
import { summaryTable } from '../../src/cli/dump.js';

function fakeTty(columns = 120) {
  const writes: string[] = [];
  const stream = Object.assign(new Writable({ write: (c, _e, cb) => (writes.push(String(c)), cb()) }), { isTTY: true, columns });
  return { stream, writes };
}

test('tasks show items, bytes, rate and an ETA when the total is known', () => {
  let now = 0;
  const { stream, writes } = fakeTty();
  const p = createProgress({ stream, now: () => now });
  p.setHeader('dump x: 0/2 kinds');
  const a = p.task('User', 1000);
  const b = p.task('tenant/Log');
  now = 2000;
  a.update(500, 5 * 1024 * 1024);
  b.add(30, 2048);
  assert.deepEqual(p.lines(), [
    'dump x: 0/2 kinds',
    '  User        500/1,000 entities  5.0 MiB  250/s  ETA 0:02',
    '  tenant/Log         30 entities  2.0 KiB   15/s',
  ]);
  p.render();
  p.render();
  // The second frame first moves up over the three lines of the first and clears them.
  assert.ok(writes.some((w) => w === '\x1b[3F\x1b[0J'));
  a.done();
  assert.equal(p.completedTasks, 1);
  assert.equal(p.lines().length, 2);
  p.stop();
});

test('on a 60-column terminal the labels give way, never the ETA; tasks without bytes show none (restore, clear)', () => {
  let now = 0;
  const { stream } = fakeTty(60);
  const p = createProgress({ stream, now: () => now });
  const a = p.task(`write tenant-with-a-long-name/${'OrderLineItem'.repeat(3)}`, 100_000);
  const b = p.task('write User', 2000);
  now = 4000;
  a.update(40_000);
  b.update(1000);
  const lines = p.lines();
  assert.ok(lines.every((l) => l.length <= 59), lines.join('\n'));
  assert.match(lines[0]!, /…/);
  assert.match(lines[0]!, /40,000\/100,000 entities  10,000\/s  ETA 0:06$/);
  assert.match(lines[1]!, /1,000\/2,000 entities +250\/s  ETA 0:04$/);
  assert.ok(lines.every((l) => !/ 0 B/.test(l)), 'no bytes column when none were counted');
  // columns line up
  assert.equal(lines[0]!.indexOf(' entities'), lines[1]!.indexOf(' entities'));
  p.stop();
});

test('disabled (not a TTY, --quiet) writes nothing', () => {
  const writes: string[] = [];
  const stream = new Writable({ write: (c, _e, cb) => (writes.push(String(c)), cb()) });
  const p = createProgress({ stream });
  assert.equal(p.enabled, false);
  p.task('User', 10).add(5);
  p.log('hello');
  p.render();
  p.stop();
  assert.deepEqual(writes, []);
});

test('long lines are cut to the terminal width; many tasks are summed up', () => {
  const { stream } = fakeTty(40);
  const p = createProgress({ stream, maxLines: 2 });
  for (let i = 0; i < 5; i++) p.task(`Kind${i}${'x'.repeat(50)}`);
  const lines = p.lines();
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.length <= 39));
  assert.match(lines[2]!, /and 3 more/);
  p.stop();
});

test('formatting helpers and the summary table', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Infinity), '?');
  assert.equal(formatTable([['a', 'n'], ['xx', '1,000'], ['y', '5']]), 'a       n\nxx  1,000\ny       5\n');
  const table = summaryTable({
    name: 'n', dir: '_backup/n', readTime: '2026-11-22T09:45:00.000000Z', snapshot: true, compression: 'zstd', retries: 2, seconds: 2, target: { projectId: 'my-app', databaseId: '' },
    entities: 10, rawBytes: 2048, bytes: 100,
    kinds: [{ namespace: '', kind: 'User', file: '(default)/User.ndjson.zst', entities: 10, rawBytes: 2048, bytes: 100, sha256: '0'.repeat(64), complete: true, resumed: false, seconds: 1.5 }],
  });
  assert.match(table, /\(default\)\s+User\s+10\s+2\.0 KiB\s+100 B\s+1\.5 s/);
  assert.match(table, /10 entities of project my-app, 2\.0 KiB NDJSON → 100 B in 0:02 \(5 entities\/s\), 2 retries\n→ _backup\/n at read time 2026-11-22T09:45:00.000000Z/);
});
