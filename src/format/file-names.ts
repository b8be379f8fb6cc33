/**
 * Safe file names for any namespace and kind. Kind names are arbitrary UTF-8
 * (up to 1,500 bytes) and namespaces may be `..`, `CON` or differ only in
 * case, so a name never becomes a path as is. The encoding is deterministic,
 * its output is plain ASCII that every common filesystem stores unchanged,
 * and distinct names never share a file — also on case-insensitive
 * filesystems (macOS, Windows). The manifest records each kind's file, so
 * readers never decode names; `decodeSafeName` exists to prove injectivity.
 *
 *   - `A-Z a-z 0-9 _ -` and inner dots stay readable; every other byte of the
 *     UTF-8 form becomes `%hh` (lowercase hex). Non-ASCII is escaped too:
 *     HFS+/APFS normalise or fold Unicode, which would merge distinct names.
 *   - Leading and trailing dots are escaped (`.`/`..`, hidden files, Windows
 *     dropping trailing dots); spaces are never literal.
 *   - A name whose part before the first dot is a Windows device name (CON,
 *     NUL, COM1, …) gets its first character escaped.
 *   - Case: `User` stays `User`. Only when two names of one dump folder differ
 *     in nothing but case (`User` and `user` in one namespace) do they get `~`
 *     and a hex mask of which readable letters are capitals (`User~1`,
 *     `user`), so they still differ after case folding. `assignFilePaths`
 *     decides that from the set of names being dumped; `encodeSafeName(name,
 *     max, true)` always marks.
 *   - Names that would exceed the 255-byte component limit keep a readable
 *     prefix and end in `~h` and 32 hex digits of the name's sha256.
 */
import { createHash } from 'node:crypto';

export type FileCompression = 'zstd' | 'none';

/** Directory of the default namespace (whose id is ''); '(' is always escaped, so no namespace encodes to it. */
export const DEFAULT_NAMESPACE_DIR = '(default)';

/** Longest file name component most filesystems accept, in bytes. */
export const MAX_COMPONENT_BYTES = 255;

const READABLE = /^[A-Za-z0-9_\-.]$/;
const DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;
const HASH_MARK = '~h';
const HASH_HEX = 32;

export function extensionFor(compression: FileCompression): string {
  return compression === 'zstd' ? '.ndjson.zst' : '.ndjson';
}

function escapeChar(ch: string): string {
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).padStart(2, '0')}`;
  return out;
}

/** Tokens of the escaped form: each readable character alone, each escaped character as its `%hh` run. */
function escapeTokens(name: string): string[] {
  const chars = Array.from(name);
  const tokens = chars.map((ch, i) => {
    if (!READABLE.test(ch)) return escapeChar(ch);
    if (ch === '.' && (i === 0 || i === chars.length - 1)) return escapeChar(ch);
    return ch;
  });
  const stem = name.split('.')[0]!;
  if (DEVICE.test(stem) && tokens.length > 0 && tokens[0]!.length === 1) tokens[0] = escapeChar(chars[0]!);
  return tokens;
}

function caseSuffix(tokens: readonly string[]): string {
  let mask = 0n;
  let bit = 0n;
  for (const t of tokens) {
    if (!/^[A-Za-z]$/.test(t)) continue;
    if (t >= 'A' && t <= 'Z') mask |= 1n << bit;
    bit++;
  }
  return mask === 0n ? '' : `~${mask.toString(16)}`;
}

/**
 * Encodes one name as one path component of at most `maxBytes` bytes
 * (leave room for an extension). Never returns '', '.', '..' or a name
 * containing '/', '\\' or ':'. With `markCase`, names with capitals carry
 * their case mask, making the result unique even after case folding.
 */
export function encodeSafeName(name: string, maxBytes = MAX_COMPONENT_BYTES, markCase = false): string {
  if (name === '') return '%';
  const tokens = escapeTokens(name);
  const full = tokens.join('') + (markCase ? caseSuffix(tokens) : '');
  if (full.length <= maxBytes) return full;
  const digest = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, HASH_HEX);
  const budget = maxBytes - HASH_MARK.length - HASH_HEX;
  let prefix = '';
  for (const t of tokens) {
    if (prefix.length + t.length > budget) break;
    prefix += t;
  }
  // The readable prefix is only a hint for humans; the digest identifies the name,
  // so its case is folded away to keep the result case-insensitively unique.
  return `${prefix.toLowerCase().replace(/\.$/, '%2e')}${HASH_MARK}${digest}`;
}

/**
 * Decodes a component made by encodeSafeName. With `markCase` (as encoded)
 * it also decodes after a case-insensitive filesystem lowercased or
 * uppercased it. Returns undefined for hashed (long) names and for text the
 * encoder never produces.
 */
export function decodeSafeName(component: string, markCase = false): string | undefined {
  if (component === '%') return '';
  if (/~h[0-9a-f]{32}$/i.test(component)) return undefined;
  const m = /^([^~]*)(?:~([0-9a-f]+))?$/i.exec(component);
  if (!m) return undefined;
  const body = m[1]!;
  if (m[2] !== undefined && !markCase) return undefined;
  const marked = markCase;
  let mask = m[2] !== undefined ? BigInt(`0x${m[2]}`) : 0n;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; ) {
    const ch = body[i]!;
    if (ch === '%') {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/i.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    if (!READABLE.test(ch)) return undefined;
    let out = ch;
    if (marked && /[A-Za-z]/.test(ch)) {
      out = mask & 1n ? ch.toUpperCase() : ch.toLowerCase();
      mask >>= 1n;
    }
    bytes.push(out.charCodeAt(0));
    i++;
  }
  const decoded = Buffer.from(bytes).toString('utf8');
  return encodeSafeName(decoded, MAX_COMPONENT_BYTES, marked).toLowerCase() === component.toLowerCase() ? decoded : undefined;
}

/** Directory of a namespace inside the dump folder. */
export function namespaceDir(namespace: string, markCase = false): string {
  return namespace === '' ? DEFAULT_NAMESPACE_DIR : encodeSafeName(namespace, MAX_COMPONENT_BYTES, markCase);
}

/**
 * The '/'-separated path of a kind's file relative to the dump folder, as the
 * manifest records it: `<namespace dir>/<kind><extension>`.
 */
export function kindFilePath(
  namespace: string,
  kind: string,
  compression: FileCompression,
  mark: { namespace?: boolean; kind?: boolean } = {},
): string {
  const ext = extensionFor(compression);
  return `${namespaceDir(namespace, mark.namespace)}/${encodeSafeName(kind, MAX_COMPONENT_BYTES - ext.length, mark.kind)}${ext}`;
}

function caseClashes(names: Iterable<string>, encode: (name: string) => string): Set<string> {
  const byFolded = new Map<string, Set<string>>();
  for (const name of names) {
    const folded = encode(name).toLowerCase();
    byFolded.set(folded, (byFolded.get(folded) ?? new Set()).add(name));
  }
  const clashing = new Set<string>();
  for (const group of byFolded.values()) if (group.size > 1) for (const name of group) clashing.add(name);
  return clashing;
}

/**
 * File paths for a set of kinds, in the order given: plain names, with case
 * masks only on names that would otherwise share a file after case folding
 * (namespaces among namespaces, kinds within their namespace).
 */
export function assignFilePaths(refs: ReadonlyArray<{ namespace: string; kind: string }>, compression: FileCompression): string[] {
  const ext = extensionFor(compression);
  const nsClash = caseClashes(new Set(refs.map((r) => r.namespace)), (ns) => namespaceDir(ns));
  const kindsByNs = new Map<string, Set<string>>();
  for (const r of refs) kindsByNs.set(r.namespace, (kindsByNs.get(r.namespace) ?? new Set()).add(r.kind));
  const kindClash = new Map([...kindsByNs].map(([ns, kinds]) => [ns, caseClashes(kinds, (k) => encodeSafeName(k, MAX_COMPONENT_BYTES - ext.length))]));
  return refs.map((r) =>
    kindFilePath(r.namespace, r.kind, compression, { namespace: nsClash.has(r.namespace), kind: kindClash.get(r.namespace)!.has(r.kind) }),
  );
}
