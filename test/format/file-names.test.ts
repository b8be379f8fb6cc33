import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignFilePaths, decodeSafeName, DEFAULT_NAMESPACE_DIR, encodeSafeName, kindFilePath, MAX_COMPONENT_BYTES, namespaceDir,
} from '../../src/format/file-names.js';

const HOSTILE = [
  'User', 'user', 'USER', 'ChatMessage', '../x', '..', '.', '.hidden', 'a/b', 'a\\b', 'C:', 'CON', 'con', 'Con',
  'NUL.txt', 'nul', 'com1', 'LPT9.ndjson', 'COM10', 'trailing.', 'trailing ', ' leading', 'dots...', 'a.b', 'a~1',
  'a~h', '%41', '%', '~', 'Ünïcødé', 'Ünïcødé'.normalize('NFD'), '日本語', '😀 emoji', 'tab\there', 'nul\0byte',
  'x'.repeat(300), 'X'.repeat(300), 'y'.repeat(244), 'é'.repeat(600), 'a'.repeat(1500), '(default)', '*?<>|"',
];

function assertSafeComponent(c: string, name: string) {
  assert.ok(c.length > 0 && c.length <= MAX_COMPONENT_BYTES, `${JSON.stringify(name)} -> length ${c.length}`);
  assert.equal(Buffer.byteLength(c), c.length, `${JSON.stringify(name)} -> ASCII only`);
  assert.match(c, /^[A-Za-z0-9_\-.%~()]+$/, `${JSON.stringify(name)} -> ${c}`);
  assert.ok(c !== '.' && c !== '..' && !c.startsWith('.') && !c.endsWith('.'), `${JSON.stringify(name)} -> ${c}`);
  assert.doesNotMatch(c.split('.')[0]!, /^(con|prn|aux|nul|com\d|lpt\d)$/i, `${JSON.stringify(name)} -> device name ${c}`);
}

test('hostile names become one safe ASCII component', () => {
  for (const name of HOSTILE) {
    assertSafeComponent(encodeSafeName(name), name);
    assertSafeComponent(encodeSafeName(name, MAX_COMPONENT_BYTES, true), name);
  }
});

test('kind file paths stay inside the namespace folder and under 255 bytes per component', () => {
  for (const ns of ['', '..', 'a/b', 'CON', 'tenant']) {
    for (const kind of HOSTILE) {
      const p = kindFilePath(ns, kind, 'zstd');
      const parts = p.split('/');
      assert.equal(parts.length, 2, p);
      assert.equal(parts[0], namespaceDir(ns));
      assert.ok(parts[1]!.endsWith('.ndjson.zst'));
      for (const part of parts) assertSafeComponent(part, kind);
    }
  }
  assert.equal(namespaceDir(''), DEFAULT_NAMESPACE_DIR);
  assert.equal(kindFilePath('', 'user', 'none'), '(default)/user.ndjson');
});

function caseVariants(): string[] {
  const names = [...HOSTILE];
  for (let i = 0; i < 2000; i++) names.push(`k${i.toString(36)}`, `K${i.toString(36)}`, `Kind${i}`.toUpperCase(), `Kind${i}`);
  return [...new Set(names)];
}

test('marked names never share a file, even after case folding', () => {
  const seen = new Map<string, string>();
  for (const name of caseVariants()) {
    const folded = encodeSafeName(name, MAX_COMPONENT_BYTES, true).toLowerCase();
    const other = seen.get(folded);
    assert.equal(other, undefined, `${JSON.stringify(name)} and ${JSON.stringify(other)} share ${folded}`);
    seen.set(folded, name);
  }
  assert.notEqual(encodeSafeName('Ünïcødé'), encodeSafeName('Ünïcødé'.normalize('NFD')));
  assert.ok(!seen.has(DEFAULT_NAMESPACE_DIR.toLowerCase()), 'no namespace encodes to the default namespace folder');
});

test('assigned paths: plain names, case masks only where names clash after folding', () => {
  const names = caseVariants();
  const refs = ['', 'Tenant', 'tenant', '..', 'CON'].flatMap((namespace) => names.map((kind) => ({ namespace, kind })));
  const paths = assignFilePaths(refs, 'zstd');
  const folded = new Map<string, string>();
  paths.forEach((p, i) => {
    const other = folded.get(p.toLowerCase());
    assert.equal(other, undefined, `${JSON.stringify(refs[i])} and ${other} share ${p}`);
    folded.set(p.toLowerCase(), JSON.stringify(refs[i]));
    for (const part of p.split('/')) assertSafeComponent(part, refs[i]!.kind);
  });
  assert.deepEqual(assignFilePaths([{ namespace: '', kind: 'User' }, { namespace: 'Tenant', kind: 'User' }], 'zstd'), [
    '(default)/User.ndjson.zst',
    'Tenant/User.ndjson.zst',
  ]);
  assert.deepEqual(assignFilePaths([{ namespace: '', kind: 'User' }, { namespace: '', kind: 'user' }, { namespace: 'a', kind: 'User' }], 'none'), [
    '(default)/User~1.ndjson',
    '(default)/user.ndjson',
    'a/User.ndjson',
  ]);
});

test('deterministic, readable for plain names, and decodable after case folding', () => {
  assert.equal(encodeSafeName('order_line-2'), 'order_line-2');
  assert.equal(encodeSafeName('ChatMessage'), 'ChatMessage');
  assert.equal(encodeSafeName('ChatMessage', MAX_COMPONENT_BYTES, true), 'ChatMessage~11');
  assert.equal(encodeSafeName('../x'), '%2e.%2fx');
  assert.equal(encodeSafeName('CON'), '%43ON');
  assert.equal(encodeSafeName('CON', MAX_COMPONENT_BYTES, true), '%43ON~3');
  assert.equal(encodeSafeName('nul.txt'), '%6eul.txt');
  for (const name of HOSTILE) {
    assert.equal(decodeSafeName(encodeSafeName(name)), encodeSafeName(name).includes('~h') ? undefined : name);
    const c = encodeSafeName(name, MAX_COMPONENT_BYTES, true);
    assert.equal(encodeSafeName(name, MAX_COMPONENT_BYTES, true), c);
    if (c.includes('~h')) {
      assert.equal(decodeSafeName(c, true), undefined);
      continue;
    }
    assert.equal(decodeSafeName(c, true), name, c);
    assert.equal(decodeSafeName(c.toLowerCase(), true), name, c.toLowerCase());
    assert.equal(decodeSafeName(c.toUpperCase(), true), name, c.toUpperCase());
  }
  assert.equal(decodeSafeName('a/b'), undefined);
  assert.equal(decodeSafeName('%zz'), undefined);
});

test('long names keep a readable prefix and a digest', () => {
  const long = 'Very'.repeat(100);
  const c = encodeSafeName(long, MAX_COMPONENT_BYTES, true);
  assert.ok(c.startsWith('veryvery'));
  assert.match(c, /~h[0-9a-f]{32}$/);
  assert.notEqual(encodeSafeName(`${long}A`), encodeSafeName(`${long}a`));
  const p = kindFilePath('', long, 'zstd');
  assert.ok(p.split('/')[1]!.length <= MAX_COMPONENT_BYTES);
});
