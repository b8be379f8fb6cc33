/**
 * NDJSON bytes in, entities out: splits lines on '\n' bytes (so a UTF-8
 * character cut between chunks is never mangled) and decodes each with the
 * codec; an undecodable line fails the stream naming file and line number.
 * Lines are decoded straight from the chunk (no per-line Buffer slice), each
 * to its own string: decoding a whole chunk at once was slower, since one
 * non-Latin-1 character makes all of it a two-byte string, which JSON.parse
 * reads more slowly.
 *
 * A line longer than `maxLineBytes` (default MAX_LINE_BYTES, the longest line
 * a Datastore entity can need) fails the stream as soon as it is seen, so a
 * file without newlines — a decompression bomb, a link to /dev/zero — is
 * never held in memory. Errors never quote the line's bytes.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { decodeEntity, type LineLocation } from '../format/entity-codec.js';
import { DspipeError, isDspipeError } from '../errors.js';
import { MAX_LINE_BYTES } from '../model/limits.js';
import { compareKeyPaths } from '../model/key-order.js';
import { formatKey } from '../model/key-text.js';
import type { IEntity, IKey } from '../model/proto.js';
import { matches, type Selection } from '../format/selection.js';

export interface ParserOptions {
  /** Names the input in errors. */
  file?: string;
  /** Longest line accepted (default MAX_LINE_BYTES). */
  maxLineBytes?: number;
  /**
   * The namespace and kind every line's key must have, and that keys strictly
   * increase (a dump's kind file is in key order): a line moved in from
   * another file, repeated or reordered is refused. For a dump's kind files.
   */
  expect?: { namespace: string; kind: string };
  /**
   * Only lines of these namespaces and kinds (by the key as the line has it)
   * go on; the others are counted in `dropped`. For NDJSON without a manifest
   * (restore from stdin), which has no kind files to select.
   */
  selection?: Selection | undefined;
  /** Count the lines that go on per namespace and kind of their key (`kinds`): for NDJSON that mixes them. */
  countKinds?: boolean | undefined;
}

/** Lines of one namespace and kind, as `countKinds` counts them. */
export interface KindCount {
  namespace: string;
  kind: string;
  entities: number;
}

const NEWLINE = 0x0a;

/** Its readable side carries entities. */
export interface Parser {
  [Symbol.asyncIterator](): AsyncIterableIterator<IEntity>;
  // the untyped signature too, so pipeline() still takes it as a NodeJS.ReadableStream
  [Symbol.asyncIterator](): AsyncIterableIterator<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class Parser extends Transform {
  /** Lines seen (blank ones included: they keep line numbers true). */
  lines = 0;
  entities = 0;
  bytes = 0;
  /** Lines of namespaces or kinds not selected (`selection`). */
  dropped = 0;
  /** Where errors point; one object updated per line (the codec copies it only to build an error). */
  private readonly where: { file?: string; line: number };
  /** Bytes of a line not yet ended by '\n'. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private readonly maxLineBytes: number;
  private readonly expect: { namespace: string; kind: string } | undefined;
  private previous: IKey | undefined;
  private readonly selection: Selection | undefined;
  /** By namespace, then kind: a line's count costs two lookups of strings the key already holds. */
  private readonly counts: Map<string, Map<string, KindCount>> | undefined;

  constructor(options: ParserOptions = {}) {
    super({ readableObjectMode: true, writableObjectMode: false, readableHighWaterMark: 64 });
    this.where = options.file !== undefined ? { file: options.file, line: 0 } : { line: 0 };
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.expect = options.expect;
    this.selection = options.selection;
    if (options.countKinds === true) this.counts = new Map();
  }

  /** With `countKinds`: the lines that went on, per namespace and kind, in the order first seen. */
  get kinds(): KindCount[] {
    return [...(this.counts?.values() ?? [])].flatMap((byKind) => [...byKind.values()]);
  }

  /** The key belongs to this file and comes after the one before it. */
  private check(key: IKey): void {
    const expect = this.expect!;
    const namespace = key.partitionId?.namespaceId ?? '';
    const kind = key.path?.at(-1)?.kind ?? '';
    const fail = (what: string) => new DspipeError('DSPIPE_CORRUPT_DUMP', `line ${this.where.line}: ${what}`, {
      ...(this.where.file !== undefined && { file: this.where.file }),
      line: this.where.line,
      key: formatKey(key),
      kind: expect.kind,
      namespace: expect.namespace,
      hint: 'the file was edited or put together by hand; dump again, or restore another dump',
    });
    if (namespace !== expect.namespace || kind !== expect.kind) {
      throw fail(`the key ${formatKey(key)} is in namespace ${JSON.stringify(namespace)} kind ${JSON.stringify(kind)}, but this file holds namespace ${JSON.stringify(expect.namespace)} kind ${JSON.stringify(expect.kind)}`);
    }
    if (this.previous !== undefined && compareKeyPaths(this.previous, key) >= 0) {
      throw fail(`the key ${formatKey(key)} does not come after the line before's (${formatKey(this.previous)}): a dump's lines are in key order, so a line is repeated or out of place`);
    }
    this.previous = key;
  }

  private tooLong(bytes: number): DspipeError {
    const line = this.lines + 1;
    return new DspipeError('DSPIPE_INVALID_LINE', `line ${line} is longer than ${this.maxLineBytes} bytes (${bytes} bytes without a newline so far), more than any Datastore entity needs`, {
      ...(this.where.file !== undefined && { file: this.where.file }),
      line,
      hint: 'this is not a dump written by dspipe (or it is damaged): check the file',
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    let start = 0;
    try {
      let nl = chunk.indexOf(NEWLINE);
      if (nl !== -1 && this.partial.length > 0) {
        if (this.partialBytes + nl > this.maxLineBytes) throw this.tooLong(this.partialBytes + nl);
        this.partial.push(chunk.subarray(0, nl));
        const head = Buffer.concat(this.partial);
        this.partial = [];
        this.partialBytes = 0;
        this.line(head, 0, head.length);
        start = nl + 1;
        nl = chunk.indexOf(NEWLINE, start);
      }
      for (; nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        if (nl - start > this.maxLineBytes) throw this.tooLong(nl - start);
        this.line(chunk, start, nl);
        start = nl + 1;
      }
      if (start < chunk.length) {
        this.partialBytes += chunk.length - start;
        if (this.partialBytes > this.maxLineBytes) throw this.tooLong(this.partialBytes);
        this.partial.push(start === 0 ? chunk : chunk.subarray(start));
      }
    } catch (err) {
      this.partial = [];
      this.partialBytes = 0;
      return callback(err as Error);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.partial.length === 0) return callback();
    const last = Buffer.concat(this.partial);
    this.partial = [];
    this.partialBytes = 0;
    try {
      this.line(last, 0, last.length);
    } catch (err) {
      return callback(err as Error);
    }
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.partial = [];
    this.partialBytes = 0;
    callback(err);
  }

  /** The line bytes[from, end), without its '\n'. */
  private line(bytes: Buffer, from: number, end: number): void {
    const where = this.where;
    where.line = ++this.lines;
    if (end > from && bytes[end - 1] === 0x0d) end--; // tolerate CRLF
    if (end === from) return;
    let decoded: { key: IKey; item: object } | null;
    try {
      decoded = this.decodeBytes(bytes, from, end, where as LineLocation);
    } catch (err) {
      if (isDspipeError(err)) throw err;
      throw new DspipeError('DSPIPE_INVALID_LINE', `cannot decode line: ${(err as Error).message}`, { ...where, cause: err });
    }
    if (decoded === null) return;
    if (this.selection !== undefined || this.counts !== undefined) {
      const key = decoded.key;
      const namespace = key.partitionId?.namespaceId ?? '';
      const kind = key.path?.at(-1)?.kind ?? '';
      if (this.selection !== undefined && !(matches(this.selection.namespaces, namespace) && matches(this.selection.kinds, kind))) {
        this.dropped++;
        return;
      }
      if (this.counts !== undefined) this.count(namespace, kind);
    }
    if (this.expect) this.check(decoded.key);
    this.entities++;
    this.push(decoded.item);
  }

  private count(namespace: string, kind: string): void {
    let byKind = this.counts!.get(namespace);
    if (byKind === undefined) this.counts!.set(namespace, (byKind = new Map()));
    const c = byKind.get(kind);
    if (c === undefined) byKind.set(kind, { namespace, kind, entities: 1 });
    else c.entities++;
  }

  /** The line bytes[from, end) -> decode() of its text; the wire path reads the bytes themselves first (stages/wire-parser.ts). */
  protected decodeBytes(bytes: Buffer, from: number, end: number, where: LineLocation): { key: IKey; item: object } | null {
    return this.decode(bytes.toString('utf8', from, end), where);
  }

  /** One line -> what the stage emits and the key it checks, selects and counts by; null drops the line. The wire path overrides it (stages/wire-parser.ts). */
  protected decode(text: string, where: LineLocation): { key: IKey; item: object } | null {
    const entity = decodeEntity(text, where);
    return { key: entity.key!, item: entity };
  }
}

export function createParser(options: ParserOptions = {}): Parser {
  return new Parser(options);
}
