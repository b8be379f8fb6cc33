/**
 * wireParser: NDJSON bytes in, WriteOps out whose Mutation is already encoded
 * — the parser and the key rewriter of the object path in one pass, with no
 * entity object built. Each line's bytes go straight to Mutation bytes
 * (format/wire/line-transcoder.ts); a line that scanner is not sure of is
 * decoded from its text (format/wire/mutation.ts), which also words every
 * refusal. The lines are split, counted, checked against their dump file and
 * refused in exactly the parser's way (it is the parser, with another decode
 * step); keys move as key-rewrite.ts moves them. `selection` and `countKinds`
 * are the parser's, by the key as the line has it (before it moves).
 */
import { Parser, type ParserOptions } from './parser.js';
import type { LineLocation } from '../format/entity-codec.js';
import { lineToMutation, type MutationOp, type WireKeyRewrite, type WireMutation } from '../format/wire/mutation.js';
import { lineBytesToMutation } from '../format/wire/line-transcoder.js';
import type { WriteOp } from '../format/batching.js';
import type { IKey } from '../model/proto.js';

export interface WireParserOptions extends ParserOptions {
  op: MutationOp;
  /** Where keys move; undefined leaves them as they are. */
  rewrite?: WireKeyRewrite | undefined;
}

export class WireParser extends Parser {
  /** Lines the byte scanner was not sure of, decoded from their text instead. */
  slow = 0;

  constructor(private readonly wire: WireParserOptions) {
    super(wire);
  }

  protected override decodeBytes(bytes: Buffer, from: number, end: number, where: LineLocation): { key: IKey; item: object } | null {
    const m = lineBytesToMutation(bytes, from, end, this.wire.op, this.wire.rewrite);
    if (m === undefined) {
      this.slow++;
      return this.decode(bytes.toString('utf8', from, end), where);
    }
    return this.op(m);
  }

  protected override decode(text: string, where: LineLocation): { key: IKey; item: object } | null {
    return this.op(lineToMutation(text, this.wire.op, this.wire.rewrite, where));
  }

  private op(m: WireMutation): { key: IKey; item: object } {
    const op: WriteOp = { op: this.wire.op, key: m.key, wire: m.bytes };
    return { key: m.sourceKey, item: op };
  }
}

export function createWireParser(options: WireParserOptions): WireParser {
  return new WireParser(options);
}
