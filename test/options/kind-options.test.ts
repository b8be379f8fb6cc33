import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadKindOptions, parseKindOptions } from '../../src/options/kind-options.js';
import { isDspipeError } from '../../src/errors.js';

// Values: the entry's path in the file, the value quoted, what is wrong; the file named.
test('bad values are refused naming the entry and the file, quoting the value', () => {
  const bad = [
    ['{"restore": {"K": {"batchSize": 0}}}', 'restore.K.batchSize 0 is not a whole number from 1 to 100000 (options file)'],
    ['{"restore": {"K": {"writers": "2"}}}', 'restore.K.writers "2" is not a number (options file)'],
    ['{"restore": {"K": {"writers": 257}}}', 'restore.K.writers 257 is not a whole number from 1 to 256 (options file)'],
    ['{"dump": {"K": {"splits": 1.5}}}', 'dump.K.splits 1.5 is not a whole number from 1 to 64 (options file)'],
    ['{"dump": {"K": {"pageSize": 10001}}}', 'dump.K.pageSize 10001 is not a whole number from 1 to 10000 (options file)'],
  ] as const;
  for (const [text, message] of bad) {
    assert.throws(() => parseKindOptions(text, '/x/options.json'), (err) => {
      return isDspipeError(err, 'DSPIPE_INVALID_OPTION') && err.file === '/x/options.json' && err.message === message && err.hint !== undefined;
    }, text);
  }
});

// Shape: where in the file the mistake is.
test('a bad shape is refused naming the file and the path of the mistake', () => {
  const bad = [
    ['{', /not valid JSON/],
    ['[]', /expected an object/],
    ['{"dumps": {}}', /dumps: unknown section/],
    ['{"dump": {"K": {"split": 1}}}', /dump\.K\.split: unknown option/],
    ['{"dump": {"K": {"constructor": 1}}}', /dump\.K\.constructor: unknown option/],
  ] as const;
  for (const [text, re] of bad) {
    assert.throws(() => parseKindOptions(text, '/x/options.json'), (err) => {
      return isDspipeError(err, 'DSPIPE_INVALID_OPTION') && err.file === '/x/options.json' && re.test(err.message);
    }, text);
  }
});

test('a missing options file means no overrides', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-opts-'));
  assert.deepEqual(await loadKindOptions(join(dir, 'options.json')), { dump: {}, restore: {} });
});

test('valid options are read per section and kind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-opts-'));
  const file = join(dir, 'options.json');
  await writeFile(file, JSON.stringify({ $comment: 'x', dump: { ChatMessage: { splits: 1 } }, restore: { BbsImage: { batchSize: 1, writers: 2 } } }));
  assert.deepEqual(await loadKindOptions(file), { dump: { ChatMessage: { splits: 1 } }, restore: { BbsImage: { batchSize: 1, writers: 2 } } });
});

test('the shipped example _backup/options.json is valid', async () => {
  // Compiled tests run from dist/test/… or another out dir: walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  const opts = await loadKindOptions(join(dir, '_backup', 'options.json'));
  assert.equal(opts.dump.ChatMessage?.splits, 1);
});
