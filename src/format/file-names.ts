/**
 * Safe file names for any namespace and kind. Kind names are arbitrary UTF-8
 * (up to 1,500 bytes) and namespaces may be `..`, `CON` or differ only in
 * case, so a name never becomes a path as is. The encoding is a pure function
 * of the name (the same data always lands in the same file), its output is
 * plain lowercase-insensitive ASCII that every common filesystem stores
 * unchanged, and distinct names never share a file — also on case-insensitive
 * filesystems (macOS, Windows). The manifest records each kind's file, so
 * readers never need to decode; `decodeSafeName` exists to prove the encoding
 * is injective.
 *
 *   - `A-Z a-z 0-9 _ -` and inner dots stay readable; every other byte of the
 *     UTF-8 form becomes `%hh` (lowercase hex). Non-ASCII is escaped too:
 *     HFS+/APFS normalise or fold Unicode, which would merge distinct names.
 *   - Leading and trailing dots are escaped (`.`/`..`, hidden files, Windows
 *     dropping trailing dots); spaces are never literal.
 *   - A name whose part before the first dot is a Windows device name (CON,
 *     NUL, COM1, …) gets its first character escaped.
 *   - Names with capital letters get `~` and a hex mask of which readable
 *     letters are capitals, so `User` and `user` differ after case folding.
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
 * containing '/', '\\' or ':'.
 */
export function encodeSafeName(name: string, maxBytes = MAX_COMPONENT_BYTES): string {
  if (name === '') return '%';
  const tokens = escapeTokens(name);
  const full = tokens.join('') + caseSuffix(tokens);
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
 * Decodes a component made by encodeSafeName, also after a case-insensitive
 * filesystem lowercased or uppercased it. Returns undefined for hashed (long)
 * names and for text the encoder never produces.
 */
export function decodeSafeName(component: string): string | undefined {
  if (component === '%') return '';
  if (/~h[0-9a-f]{32}$/i.test(component)) return undefined;
  const m = /^([^~]*)(?:~([0-9a-f]+))?$/i.exec(component);
  if (!m) return undefined;
  const body = m[1]!;
  let mask = m[2] === undefined ? 0n : BigInt(`0x${m[2]}`);
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
    if (/[A-Za-z]/.test(ch)) {
      out = mask & 1n ? ch.toUpperCase() : ch.toLowerCase();
      mask >>= 1n;
    }
    bytes.push(out.charCodeAt(0));
    i++;
  }
  const decoded = Buffer.from(bytes).toString('utf8');
  return encodeSafeName(decoded).toLowerCase() === component.toLowerCase() ? decoded : undefined;
}

/** Directory of a namespace inside the dump folder. */
export function namespaceDir(namespace: string): string {
  return namespace === '' ? DEFAULT_NAMESPACE_DIR : encodeSafeName(namespace);
}

/**
 * The '/'-separated path of a kind's file relative to the dump folder, as the
 * manifest records it: `<namespace dir>/<kind><extension>`.
 */
export function kindFilePath(namespace: string, kind: string, compression: FileCompression): string {
  const ext = extensionFor(compression);
  return `${namespaceDir(namespace)}/${encodeSafeName(kind, MAX_COMPONENT_BYTES - ext.length)}${ext}`;
}
