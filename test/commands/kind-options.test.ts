import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKindOptions, parseKindOptions } from '../../src/commands/kind-options.js';
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
  const file = new URL('../../../_backup/options.json', import.meta.url);
  const opts = await loadKindOptions(file.pathname);
  assert.equal(opts.dump.ChatMessage?.splits, 1);
});
