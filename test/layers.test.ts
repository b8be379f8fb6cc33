/**
 * The folders of src/ stand on each other in one direction only
 * (ARCHITECTURE.md, "Folders"). This walks every import, `import type` and
 * dynamic `import()` included, and fails on one that runs back up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/layers.test.js -> the repo's src/
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** What each folder may import besides itself and the root files below. */
const ALLOWED: Record<string, readonly string[]> = {
  model: [],
  format: ['model'],
  datastore: ['model', 'format'],
  emulator: ['model', 'format'],
  options: ['model', 'format', 'datastore'],
  stages: ['model', 'format', 'datastore', 'options'],
  migrate: ['model', 'format', 'datastore', 'options', 'stages'],
  demo: ['model', 'format', 'datastore', 'options', 'stages'],
  commands: ['model', 'format', 'datastore', 'options', 'stages', 'migrate', 'demo', 'emulator'],
  cli: ['model', 'format', 'datastore', 'options', 'stages', 'migrate', 'demo', 'emulator', 'commands'],
};
/** Root files every folder may use; they import nothing of ours. */
const BASE = new Set(['errors.ts', 'prng.ts']);
/** The public entry points: they may import anything. */
const ENTRIES = new Set(['index.ts', 'stages.ts', 'format.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
}

const top = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel);

test('no import in src/ runs back up the layers', () => {
  const wrong: string[] = [];
  const files = sources(SRC);
  assert.ok(files.length > 50, `found only ${files.length} files under ${SRC}`);
  for (const file of files) {
    const rel = relative(SRC, file);
    const from = top(rel);
    for (const target of importsOf(file)) {
      const to = top(target);
      if (to === from || ENTRIES.has(from)) continue;
      if (BASE.has(from)) {
        wrong.push(`${rel} -> ${target} (a root file imports nothing of ours)`);
        continue;
      }
      if (BASE.has(to)) continue;
      const allowed = ALLOWED[from];
      if (allowed === undefined) wrong.push(`${rel}: folder "${from}" has no place in the layers (add it to ALLOWED and ARCHITECTURE.md)`);
      else if (!allowed.includes(to)) wrong.push(`${rel} -> ${target}`);
    }
  }
  assert.deepEqual(wrong, [], `imports that run back up:\n  ${wrong.join('\n  ')}`);
});

test('the layer check sees type-only and dynamic imports', () => {
  const probe = join(SRC, 'model', 'proto.ts');
  assert.ok(importsOf(probe).length === 0, 'model/proto.ts imports nothing of ours');
  const text = "import type { A } from '../emulator/x.js';\nconst m = await import('../cli/y.js');\nexport { b } from './z.js';";
  const found = [...text.matchAll(IMPORT)].map((m) => m[1]);
  assert.deepEqual(found, ['../emulator/x.js', '../cli/y.js', './z.js']);
});
