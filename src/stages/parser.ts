/**
 * NDJSON bytes in, entities out: splits lines on '\n' bytes (so a UTF-8
 * character cut between chunks is never mangled) and decodes each with the
 * codec; an undecodable line fails the stream naming file and line number.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { decodeEntity } from '../format/entity-codec.js';
import { DspipeError, isDspipeError } from '../errors.js';

export interface ParserOptions {
  /** Names the input in errors. */
  file?: string;
}

const NEWLINE = 0x0a;

export class Parser extends Transform {
  /** Lines seen (blank ones included: they keep line numbers true). */
  lines = 0;
  entities = 0;
  bytes = 0;
  private readonly file: string | undefined;
  private partial: Buffer[] = [];

  constructor(options: ParserOptions = {}) {
    super({ readableObjectMode: true, writableObjectMode: false, readableHighWaterMark: 256 });
    this.file = options.file;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    let start = 0;
    try {
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        let line = chunk.subarray(start, nl);
        if (this.partial.length > 0) {
          this.partial.push(line);
          line = Buffer.concat(this.partial);
          this.partial = [];
        }
        this.line(line);
        start = nl + 1;
      }
    } catch (err) {
      return callback(err as Error);
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.partial.length === 0) return callback();
    const last = Buffer.concat(this.partial);
    this.partial = [];
    try {
      this.line(last);
    } catch (err) {
      return callback(err as Error);
    }
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.partial = [];
    callback(err);
  }

  private line(bytes: Buffer): void {
    this.lines++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--; // tolerate CRLF
    if (end === 0) return;
    const where = { line: this.lines, ...(this.file !== undefined && { file: this.file }) };
    let entity;
    try {
      entity = decodeEntity(bytes.toString('utf8', 0, end), where);
    } catch (err) {
      if (isDspipeError(err)) throw err;
      throw new DspipeError('DSPIPE_INVALID_LINE', `cannot decode line: ${(err as Error).message}`, { ...where, cause: err });
    }
    this.entities++;
    this.push(entity);
  }
}

export function createParser(options: ParserOptions = {}): Parser {
  return new Parser(options);
}
