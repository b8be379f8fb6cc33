/**
 * index.yaml, the composite index file of App Engine and Datastore, parsed as
 * App Engine's own loader defines it (google.appengine.datastore
 * datastore_index: `IndexDefinitions` → `indexes:` of `Index` {kind (required
 * string), ancestor (bool, default no), properties (optional list of
 * `Property` {name (required), direction: asc|ascending|desc|descending,
 * default asc})}; unknown attributes are refused) — and written back the way
 * Datastore prints a recommended index.
 *
 * Files are YAML; this reads the block style every index.yaml is written in
 * (what `gcloud`, the dev server and Google's docs produce): comments, quoted
 * and plain scalars, YAML 1.1 booleans (yes/no/true/false/on/off) and `[]`.
 * Anything else — flow mappings, anchors, tabs — is refused naming its line
 * rather than guessed at.
 */
import { DspipeError } from '../errors.js';

export type IndexDirection = 'asc' | 'desc';

export interface IndexProperty {
  name: string;
  direction: IndexDirection;
}

export interface IndexDefinition {
  kind: string;
  ancestor: boolean;
  properties: IndexProperty[];
}

/** Where each index of a parsed file starts (1-based), parallel to the list. */
export interface ParsedIndexFile {
  indexes: IndexDefinition[];
  lines: number[];
}

// ---------------------------------------------------------------------------
// A small block-YAML reader: sequences, mappings and scalars, with lines.

type Node =
  | { type: 'scalar'; value: string; quoted: boolean; line: number }
  | { type: 'seq'; items: Node[]; line: number }
  | { type: 'map'; entries: { key: string; value: Node; line: number }[]; line: number }
  | { type: 'null'; line: number };

interface Line {
  n: number;
  indent: number;
  text: string;
}

function fail(file: string, line: number, message: string, hint?: string): never {
  throw new DspipeError('DSPIPE_INVALID_OPTION', message, {
    file,
    line,
    hint: hint ?? 'see https://cloud.google.com/datastore/docs/tools/indexconfig for the format',
  });
}

/** Drops a trailing `# comment` that is outside quotes. */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else quote = null;
      } else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) return text.slice(0, i);
  }
  return text;
}

function lex(text: string, file: string): Line[] {
  const out: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const n = i + 1;
    const line = raw[i]!;
    if (/^\s*(---|\.\.\.)\s*$/.test(line)) {
      if (out.length > 0 && line.trim() === '---') fail(file, n, 'more than one YAML document in the file');
      continue;
    }
    const body = stripComment(line).replace(/\s+$/, '');
    if (body.trim() === '') continue;
    const lead = /^[ \t]*/.exec(body)![0];
    if (lead.includes('\t')) fail(file, n, 'a tab in the indentation (YAML indents with spaces only)');
    if (body.startsWith('%')) fail(file, n, 'YAML directives are not supported here');
    out.push({ n, indent: lead.length, text: body.slice(lead.length) });
  }
  return out;
}

function scalar(raw: string, line: number, file: string): Node {
  const v = raw.trim();
  if (v === '' || v === '~' || v === 'null' || v === 'Null' || v === 'NULL') return { type: 'null', line };
  if (v === '[]') return { type: 'seq', items: [], line };
  if (v.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(v)) fail(file, line, `unterminated or malformed double-quoted string ${v}`);
    try {
      return { type: 'scalar', value: JSON.parse(v) as string, quoted: true, line };
    } catch {
      fail(file, line, `cannot read the double-quoted string ${v}`);
    }
  }
  if (v.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(v)) fail(file, line, `unterminated or malformed single-quoted string ${v}`);
    return { type: 'scalar', value: v.slice(1, -1).replace(/''/g, "'"), quoted: true, line };
  }
  if (/^[[{]/.test(v)) fail(file, line, `flow-style YAML (${v}) is not supported here`, 'write the list in block style, one "- " item a line');
  if (/^[&*!|>]/.test(v)) fail(file, line, `YAML anchors, aliases, tags and block scalars are not supported here (${v})`);
  return { type: 'scalar', value: v, quoted: false, line };
}

/** `key: rest` where key is plain or quoted; undefined when the text is no mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"#:\s][^:]*?)\s*:(?:\s+(.*)|$)/.exec(text);
  if (!m) return undefined;
  let key = m[1]!;
  if (key.startsWith('"')) key = JSON.parse(key) as string;
  else if (key.startsWith("'")) key = key.slice(1, -1).replace(/''/g, "'");
  return { key, rest: m[2] ?? '' };
}

class Reader {
  private i = 0;
  constructor(
    private readonly lines: Line[],
    private readonly file: string,
  ) {}

  done(): boolean {
    return this.i >= this.lines.length;
  }

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  /** A node whose lines are indented at `indent` (a sequence may sit at its parent key's indent). */
  block(indent: number, parentLine: number): Node {
    const first = this.peek();
    if (first === undefined || first.indent < indent) return { type: 'null', line: parentLine };
    if (first.text === '-' || first.text.startsWith('- ')) return this.seq(first.indent);
    return this.map(first.indent);
  }

  private seq(indent: number): Node {
    const items: Node[] = [];
    const line = this.peek()!.n;
    for (;;) {
      const l = this.peek();
      if (l === undefined || l.indent < indent) break;
      if (l.indent > indent) fail(this.file, l.n, 'unexpected indentation');
      if (!(l.text === '-' || l.text.startsWith('- '))) {
        if (splitKey(l.text)) break; // a sibling key of the mapping that holds this sequence
        fail(this.file, l.n, `expected a "- " list item, found ${JSON.stringify(l.text)}`);
      }
      const rest = l.text === '-' ? '' : l.text.slice(2).replace(/^\s+/, '');
      const restIndent = indent + (l.text.length - rest.length);
      if (rest === '') {
        this.i++;
        items.push(this.block(indent + 1, l.n));
      } else if (splitKey(rest)) {
        // "- key: value" starts a mapping whose keys line up with "key".
        this.lines[this.i] = { n: l.n, indent: restIndent, text: rest };
        items.push(this.map(restIndent));
      } else {
        this.i++;
        items.push(scalar(rest, l.n, this.file));
      }
    }
    return { type: 'seq', items, line };
  }

  private map(indent: number): Node {
    const entries: { key: string; value: Node; line: number }[] = [];
    const line = this.peek()!.n;
    for (;;) {
      const l = this.peek();
      if (l === undefined || l.indent < indent) break;
      if (l.indent > indent) fail(this.file, l.n, 'unexpected indentation');
      if (l.text === '-' || l.text.startsWith('- ')) {
        fail(this.file, l.n, 'a "- " list item where a "key: value" line was expected');
      }
      const kv = splitKey(l.text);
      if (!kv) fail(this.file, l.n, `expected "key: value", found ${JSON.stringify(l.text)}`);
      if (entries.some((e) => e.key === kv.key)) fail(this.file, l.n, `duplicate key ${JSON.stringify(kv.key)}`);
      this.i++;
      let value: Node;
      if (kv.rest.trim() === '') {
        const next = this.peek();
        // A block sequence may be indented as much as its key ("properties:\n- name: x").
        const seqAtSameIndent = next !== undefined && next.indent === indent && (next.text === '-' || next.text.startsWith('- '));
        value = seqAtSameIndent ? this.block(indent, l.n) : this.block(indent + 1, l.n);
      } else value = scalar(kv.rest, l.n, this.file);
      entries.push({ key: kv.key, value, line: l.n });
    }
    return { type: 'map', entries, line };
  }
}

// ---------------------------------------------------------------------------
// Validation, as App Engine's datastore_index does it.

const TRUE = new Set(['yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSE = new Set(['no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);

function describeNode(node: Node): string {
  return node.type === 'scalar' ? JSON.stringify(node.value) : node.type === 'seq' ? 'a list' : node.type === 'map' ? 'a mapping' : 'nothing';
}

function text(node: Node, what: string, file: string): string {
  if (node.type !== 'scalar' || node.value === '') fail(file, node.line, `${what} must be a non-empty string, found ${describeNode(node)}`);
  return node.value;
}

function readProperty(node: Node, kind: string, file: string): IndexProperty {
  if (node.type !== 'map') fail(file, node.line, `each property of index ${kind} must be a mapping with "name" (and "direction"), found ${describeNode(node)}`);
  let name: string | undefined;
  let direction: IndexDirection = 'asc';
  for (const e of node.entries) {
    if (e.key === 'name') name = text(e.value, 'a property name', file);
    else if (e.key === 'direction') {
      const v = e.value.type === 'scalar' ? e.value.value : '';
      if (v === 'asc' || v === 'ascending') direction = 'asc';
      else if (v === 'desc' || v === 'descending') direction = 'desc';
      else fail(file, e.line, `direction must be asc or desc, found ${describeNode(e.value)}`);
    } else if (e.key === 'mode') {
      fail(file, e.line, `"mode" (geospatial indexes) is not supported by Datastore's composite indexes`);
    } else fail(file, e.line, `unexpected attribute ${JSON.stringify(e.key)} in a property of index ${kind}`, 'a property has only "name" and "direction"');
  }
  if (name === undefined) fail(file, node.line, `a property of index ${kind} has no "name"`);
  return { name, direction };
}

function readIndex(node: Node, file: string): IndexDefinition {
  if (node.type !== 'map') fail(file, node.line, `each index must be a mapping with "kind" and "properties", found ${describeNode(node)}`);
  let kind: string | undefined;
  let ancestor = false;
  let propsNode: Node | undefined;
  for (const e of node.entries) {
    if (e.key === 'kind') kind = text(e.value, 'kind', file);
    else if (e.key === 'ancestor') {
      const v = e.value.type === 'scalar' && !e.value.quoted ? e.value.value : undefined;
      if (v !== undefined && TRUE.has(v)) ancestor = true;
      else if (v !== undefined && FALSE.has(v)) ancestor = false;
      else fail(file, e.line, `ancestor must be yes or no, found ${describeNode(e.value)}`);
    } else if (e.key === 'properties') propsNode = e.value;
    else fail(file, e.line, `unexpected attribute ${JSON.stringify(e.key)} in an index`, 'an index has only "kind", "ancestor" and "properties"');
  }
  if (kind === undefined) fail(file, node.line, 'an index has no "kind"');
  const properties: IndexProperty[] = [];
  if (propsNode !== undefined && propsNode.type !== 'null') {
    if (propsNode.type !== 'seq') fail(file, propsNode.line, `properties of index ${kind} must be a list, found ${describeNode(propsNode)}`);
    for (const p of propsNode.items) {
      const prop = readProperty(p, kind, file);
      if (properties.some((q) => q.name === prop.name)) fail(file, p.line, `property ${JSON.stringify(prop.name)} appears twice in index ${kind}`);
      properties.push(prop);
    }
  }
  return { kind, ancestor, properties };
}

/** Parses an index.yaml; `file` names it in errors (with the line). */
export function parseIndexFile(content: string, file = 'index.yaml'): ParsedIndexFile {
  const lines = lex(content, file);
  if (lines.length === 0) return { indexes: [], lines: [] };
  const reader = new Reader(lines, file);
  const root = reader.block(0, 1);
  if (!reader.done()) fail(file, reader.peek()!.n, 'unexpected text after the document');
  if (root.type === 'null') return { indexes: [], lines: [] };
  if (root.type !== 'map') fail(file, root.line, `expected "indexes:" at the top, found ${describeNode(root)}`);
  const indexes: IndexDefinition[] = [];
  const starts: number[] = [];
  for (const e of root.entries) {
    if (e.key !== 'indexes') fail(file, e.line, `unexpected top-level key ${JSON.stringify(e.key)}`, 'index.yaml has one top-level key, "indexes:"');
    if (e.value.type === 'null') continue;
    if (e.value.type !== 'seq') fail(file, e.value.line, `"indexes" must be a list of indexes, found ${describeNode(e.value)}`);
    for (const item of e.value.items) {
      indexes.push(readIndex(item, file));
      starts.push(item.line);
    }
  }
  return { indexes, lines: starts };
}

export function parseIndexYaml(content: string, file = 'index.yaml'): IndexDefinition[] {
  return parseIndexFile(content, file).indexes;
}

// ---------------------------------------------------------------------------
// Identity and printing.

/** One string per distinct index: kind, ancestor and the ordered properties. */
export function indexIdentity(index: IndexDefinition): string {
  return JSON.stringify([index.kind, index.ancestor, index.properties.map((p) => [p.name, p.direction])]);
}

export function sameIndex(a: IndexDefinition, b: IndexDefinition): boolean {
  return indexIdentity(a) === indexIdentity(b);
}

function yamlString(s: string): string {
  // Plain when YAML would read it back unchanged, else double-quoted.
  if (/^[A-Za-z_][A-Za-z0-9_.\-]*$/.test(s) && !TRUE.has(s) && !FALSE.has(s) && s !== 'null' && s !== '~') return s;
  return JSON.stringify(s);
}

/**
 * One index as Datastore prints it after "recommended index is:": `ancestor:
 * yes` only when set, `direction: desc` only when descending.
 */
export function formatIndexSnippet(index: IndexDefinition): string {
  let out = `- kind: ${yamlString(index.kind)}\n`;
  if (index.ancestor) out += '  ancestor: yes\n';
  out += '  properties:\n';
  for (const p of index.properties) {
    out += `  - name: ${yamlString(p.name)}\n`;
    if (p.direction === 'desc') out += '    direction: desc\n';
  }
  return out;
}

/** A whole index.yaml, optionally under a comment header. */
export function formatIndexYaml(indexes: readonly IndexDefinition[], header?: string): string {
  const head = header === undefined ? '' : header.split('\n').map((l) => (l === '' ? '#' : `# ${l}`)).join('\n') + '\n\n';
  if (indexes.length === 0) return `${head}indexes: []\n`;
  return `${head}indexes:\n\n${indexes.map(formatIndexSnippet).join('\n')}`;
}

/** A short one-line form for tables and messages: `User (name, birthday desc)`, `+ancestor`. */
export function describeIndex(index: IndexDefinition): string {
  const props = index.properties.map((p) => (p.direction === 'desc' ? `${p.name} desc` : p.name)).join(', ');
  return `${index.kind}${index.ancestor ? ' ancestor' : ''} (${props})`;
}
