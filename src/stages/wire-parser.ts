/**
 * wireParser: NDJSON bytes in, WriteOps out whose Mutation is already encoded
 * (format/wire/mutation.ts) — the parser and the key rewriter of the object
 * path in one pass, with no entity object built. The lines are split, counted,
 * checked against their dump file and refused in exactly the parser's way
 * (it is the parser, with another decode step); keys move as key-rewrite.ts
 * moves them. `selection` and `countKinds` are the parser's, by the key as
 * the line has it (before it moves).
 */
import { Parser, type ParserOptions } from './parser.js';
import type { LineLocation } from '../format/entity-codec.js';
import { lineToMutation, type MutationOp, type WireKeyRewrite } from '../format/wire/mutation.js';
import type { WriteOp } from '../format/batching.js';
import type { IKey } from '../model/proto.js';

export interface WireParserOptions extends ParserOptions {
  op: MutationOp;
  /** Where keys move; undefined leaves them as they are. */
  rewrite?: WireKeyRewrite | undefined;
}

export class WireParser extends Parser {
  constructor(private readonly wire: WireParserOptions) {
    super(wire);
  }

  protected override decode(text: string, where: LineLocation): { key: IKey; item: object } | null {
    const m = lineToMutation(text, this.wire.op, this.wire.rewrite, where);
    const op: WriteOp = { op: this.wire.op, key: m.key, wire: m.bytes };
    return { key: m.sourceKey, item: op };
  }
}

export function createWireParser(options: WireParserOptions): WireParser {
  return new WireParser(options);
}
