import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadKindOptions, parseKindOptions } from '../../src/options/kind-options.js';
import { isDspipeError } from '../../src/errors.js';

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

test('bad options name the file and the path of the mistake', () => {
  const bad = [
    ['{', /not valid JSON/],
    ['[]', /expected an object/],
    ['{"dumps": {}}', /dumps: unknown section/],
    ['{"dump": {"K": {"split": 1}}}', /dump\.K\.split: unknown option/],
    ['{"restore": {"K": {"batchSize": 0}}}', /restore\.K\.batchSize: must be a whole number/],
    ['{"restore": {"K": {"writers": "2"}}}', /restore\.K\.writers: must be a whole number/],
  ] as const;
  for (const [text, re] of bad) {
    assert.throws(() => parseKindOptions(text, '/x/options.json'), (err) => {
      return isDspipeError(err, 'DSPIPE_INVALID_OPTION') && err.file === '/x/options.json' && re.test(err.message);
    }, text);
  }
});

test('the shipped example _backup/options.json is valid', async () => {
  // Compiled tests run from dist/test/… or another out dir: walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  const opts = await loadKindOptions(join(dir, '_backup', 'options.json'));
  assert.equal(opts.dump.ChatMessage?.splits, 1);
});
