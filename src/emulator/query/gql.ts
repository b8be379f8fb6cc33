/**
 * GQL (the v1 API grammar, not the NDB one) compiled to the structured
 * Query / AggregationQuery the engine runs, so both paths share one set of
 * semantics. Covers SELECT * / __key__ / properties / DISTINCT / DISTINCT ON,
 * FROM, WHERE with AND, OR, parentheses, = != < <= > >= IN, NOT IN, CONTAINS,
 * IS NULL, HAS ANCESTOR, HAS DESCENDANT (and value-first comparisons),
 * ORDER BY, LIMIT (count, cursor, FIRST(cursor, count)), OFFSET
 * (count, cursor, cursor + count), literals (strings, numbers, booleans,
 * NULL, KEY, ARRAY, BLOB, DATETIME) when allow_literals is set, named and
 * positional binding sites, and aggregations (SELECT COUNT(*) ... and
 * AGGREGATE ... OVER (query)).
 */
import type { IAggregationQuery, IFilter, IGqlQuery, IKey, IPathElement, IQuery, IValue } from '../../model/proto.js';
import { invalid } from './errors.js';
import type { Partition } from './filters.js';

type Tok =
  | { t: 'name'; v: string; quoted: boolean; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'num'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'bind'; v: string; at: number }
  | { t: 'end'; at: number };

const OPS = ['<=', '>=', '!=', '=', '<', '>', '(', ')', ',', '*', '+', '.'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw invalid(`GQL syntax error at position ${i}: ${msg}`);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated string literal');
        const d = src[i]!;
        if (d === '\\') {
          const e = src[i + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0', '\\': '\\', "'": "'", '"': '"', '`': '`' };
          if (e === undefined || map[e] === undefined) fail('bad escape in string literal');
          s += map[e!];
          i += 2;
        } else if (d === c) {
          if (src[i + 1] === c) {
            s += c;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          s += d;
          i++;
        }
      }
      out.push({ t: 'str', v: s, at });
      continue;
    }
    if (c === '`') {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated quoted name');
        if (src[i] === '`') {
          if (src[i + 1] === '`') {
            s += '`';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (src[i] === '\\' && i + 1 < src.length) {
          s += src[i + 1];
          i += 2;
          continue;
        }
        s += src[i++];
      }
      out.push({ t: 'name', v: s, quoted: true, at });
      continue;
    }
    if (c === '@') {
      const m = /^@([A-Za-z_$][A-Za-z_$0-9]*|[0-9]+)/.exec(src.slice(i));
      if (!m) fail('bad binding site');
      out.push({ t: 'bind', v: m![1]!, at });
      i += m![0].length;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|^\.[0-9]+([eE][+-]?[0-9]+)?/.exec(src.slice(i));
    if (num && !(c === '.' && out.length > 0 && out[out.length - 1]!.t === 'name')) {
      out.push({ t: 'num', v: num[0], at });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_$][A-Za-z_$0-9]*/.exec(src.slice(i));
    if (name) {
      out.push({ t: 'name', v: name[0], quoted: false, at });
      i += name[0].length;
      continue;
    }
    if (c === '-' && /[0-9.]/.test(src[i + 1] ?? '')) {
      const m = /^-([0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)/.exec(src.slice(i));
      out.push({ t: 'num', v: m![0], at });
      i += m![0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) fail(`unexpected character ${JSON.stringify(c)}`);
    out.push({ t: 'op', v: op!, at });
    i += op!.length;
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

type Bound = { value: IValue } | { cursor: Buffer };

interface AggregationLike {
  operator: 'count' | 'sum' | 'avg';
  count?: { upTo?: { value: string } };
  sum?: { property: { name: string } };
  avg?: { property: { name: string } };
  alias?: string;
}

export type ParsedGql = { type: 'query'; query: IQuery } | { type: 'aggregation'; aggregationQuery: IAggregationQuery };

class Parser {
  private pos = 0;
  private readonly usedPositional = new Set<number>();

  constructor(
    private readonly toks: Tok[],
    private readonly gql: IGqlQuery,
    private readonly partition: Partition,
  ) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }

  private fail(msg: string, tok: Tok = this.peek()): never {
    throw invalid(`GQL syntax error at position ${tok.at}: ${msg}`);
  }

  private isKw(word: string, offset = 0): boolean {
    const t = this.toks[this.pos + offset]!;
    return t.t === 'name' && !t.quoted && t.v.toUpperCase() === word;
  }

  private acceptKw(word: string): boolean {
    if (!this.isKw(word)) return false;
    this.pos++;
    return true;
  }

  private expectKw(word: string): void {
    if (!this.acceptKw(word)) this.fail(`expected ${word}`);
  }

  private acceptOp(op: string): boolean {
    const t = this.peek();
    if (t.t === 'op' && t.v === op) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail(`expected "${op}"`);
  }

  private name(what: string): string {
    const t = this.peek();
    if (t.t !== 'name') this.fail(`expected ${what}`);
    this.pos++;
    return (t as { v: string }).v;
  }

  private propertyName(): string {
    let n = this.name('a property name');
    while (this.peek().t === 'op' && (this.peek() as { v: string }).v === '.') {
      this.pos++;
      n += `.${this.name('a property name')}`;
    }
    return n;
  }

  private literalsAllowed(tok: Tok): void {
    if (!this.gql.allowLiterals) this.fail('literals are not allowed unless allow_literals is set; use a binding site', tok);
  }

  private binding(tok: Tok & { t: 'bind' }): Bound {
    let param;
    if (/^[0-9]+$/.test(tok.v)) {
      const n = Number(tok.v);
      param = this.gql.positionalBindings?.[n - 1];
      if (n < 1 || !param) this.fail(`no positional binding for @${tok.v}`, tok);
      this.usedPositional.add(n);
    } else {
      if (/^__.*__$/.test(tok.v)) this.fail(`binding name @${tok.v} is reserved`, tok);
      param = (this.gql.namedBindings as Record<string, unknown> | null | undefined)?.[tok.v];
      if (!param) this.fail(`no named binding for @${tok.v}`, tok);
    }
    const p = param as { parameterType?: string; value?: IValue | null; cursor?: Buffer | null };
    const which = p.parameterType ?? (p.cursor && p.cursor.length > 0 ? 'cursor' : 'value');
    if (which === 'cursor') return { cursor: Buffer.from(p.cursor ?? []) };
    if (!p.value) this.fail(`binding @${tok.v} has no value`, tok);
    return { value: p.value! };
  }

  checkBindings(): void {
    const n = this.gql.positionalBindings?.length ?? 0;
    for (let i = 1; i <= n; i++) if (!this.usedPositional.has(i)) throw invalid(`GQL positional binding @${i} is not used by the query.`);
  }

  private value(): IValue {
    const t = this.peek();
    if (t.t === 'bind') {
      this.pos++;
      const b = this.binding(t);
      if ('cursor' in b) this.fail('a cursor cannot be used as a value', t);
      return (b as { value: IValue }).value;
    }
    if (t.t === 'str') {
      this.literalsAllowed(t);
      this.pos++;
      return { stringValue: t.v, valueType: 'stringValue' } as IValue;
    }
    if (t.t === 'num') {
      this.literalsAllowed(t);
      this.pos++;
      if (/^-?[0-9]+$/.test(t.v)) {
        const big = BigInt(t.v);
        if (big > (1n << 63n) - 1n || big < -(1n << 63n)) this.fail('integer literal out of range', t);
        return { integerValue: big.toString(), valueType: 'integerValue' } as IValue;
      }
      return { doubleValue: Number(t.v), valueType: 'doubleValue' } as IValue;
    }
    if (t.t === 'name' && !t.quoted) {
      const kw = t.v.toUpperCase();
      if (kw === 'TRUE' || kw === 'FALSE') {
        this.literalsAllowed(t);
        this.pos++;
        return { booleanValue: kw === 'TRUE', valueType: 'booleanValue' } as IValue;
      }
      if (kw === 'NULL') {
        this.literalsAllowed(t);
        this.pos++;
        return { nullValue: 'NULL_VALUE', valueType: 'nullValue' } as IValue;
      }
      if (kw === 'KEY' || kw === 'ARRAY' || kw === 'BLOB' || kw === 'DATETIME') {
        this.literalsAllowed(t);
        this.pos++;
        this.expectOp('(');
        const v = kw === 'KEY' ? this.keyLiteral() : kw === 'ARRAY' ? this.arrayLiteral() : kw === 'BLOB' ? this.blobLiteral() : this.datetimeLiteral();
        this.expectOp(')');
        return v;
      }
    }
    return this.fail('expected a value');
  }

  private stringArg(): string {
    const t = this.peek();
    if (t.t !== 'str') this.fail('expected a string literal');
    this.pos++;
    return (t as { v: string }).v;
  }

  private keyLiteral(): IValue {
    let projectId = this.partition.projectId;
    let namespaceId = this.partition.namespaceId;
    let databaseId = this.partition.databaseId;
    for (;;) {
      if (this.isKw('PROJECT') && this.toks[this.pos + 1]?.t === 'op') {
        this.pos++;
        this.expectOp('(');
        projectId = this.stringArg();
        this.expectOp(')');
        this.expectOp(',');
      } else if (this.isKw('NAMESPACE') && this.toks[this.pos + 1]?.t === 'op') {
        this.pos++;
        this.expectOp('(');
        namespaceId = this.stringArg();
        this.expectOp(')');
        this.expectOp(',');
      } else if (this.isKw('DATABASE') && this.toks[this.pos + 1]?.t === 'op') {
        this.pos++;
        this.expectOp('(');
        databaseId = this.stringArg();
        this.expectOp(')');
        this.expectOp(',');
      } else break;
    }
    const path: IPathElement[] = [];
    do {
      const kt = this.peek();
      const kind = kt.t === 'name' ? kt.v : kt.t === 'str' ? kt.v : this.fail('expected a kind in KEY(...)');
      this.pos++;
      this.expectOp(',');
      const it = this.peek();
      if (it.t === 'num' && /^[0-9]+$/.test(it.v)) path.push({ kind, id: it.v, idType: 'id' } as IPathElement);
      else if (it.t === 'str') path.push({ kind, name: it.v, idType: 'name' } as IPathElement);
      else this.fail('expected an id or a name in KEY(...)');
      this.pos++;
    } while (this.acceptOp(','));
    const keyValue: IKey = { partitionId: { projectId, databaseId, namespaceId }, path };
    return { keyValue, valueType: 'keyValue' } as IValue;
  }

  private arrayLiteral(): IValue {
    const values: IValue[] = [this.value()];
    while (this.acceptOp(',')) values.push(this.value());
    return { arrayValue: { values }, valueType: 'arrayValue' } as IValue;
  }

  private blobLiteral(): IValue {
    const s = this.stringArg();
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) this.fail('BLOB needs base64 text');
    return { blobValue: Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64'), valueType: 'blobValue' } as IValue;
  }

  private datetimeLiteral(): IValue {
    const tok = this.peek();
    const s = this.stringArg();
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(s);
    const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
    if (!m || Number.isNaN(ms)) this.fail('DATETIME needs an RFC 3339 timestamp like 2013-09-29T09:30:20.00002-08:00', tok);
    const frac = (m![2] ?? '.').slice(1).padEnd(9, '0');
    const seconds = Math.floor(ms / 1000);
    return { timestampValue: { seconds: String(seconds), nanos: Number(frac) }, valueType: 'timestampValue' } as IValue;
  }

  private resultPosition(): { n?: number; cursor?: Buffer } {
    const t = this.peek();
    if (t.t === 'num' && /^[0-9]+$/.test(t.v)) {
      this.pos++;
      return { n: Number(t.v) };
    }
    if (t.t === 'bind') {
      this.pos++;
      const b = this.binding(t);
      if ('cursor' in b) return { cursor: b.cursor };
      const v = b.value;
      if (v.integerValue === undefined || v.integerValue === null) this.fail('a LIMIT or OFFSET binding must be an integer or a cursor', t);
      return { n: Number(v.integerValue) };
    }
    return this.fail('expected an integer or a binding site');
  }

  private condition(): IFilter {
    if (this.acceptOp('(')) {
      const f = this.disjunction();
      this.expectOp(')');
      return f;
    }
    const pf = (name: string, op: string, value: IValue): IFilter =>
      ({ filterType: 'propertyFilter', propertyFilter: { property: { name }, op, value } }) as IFilter;
    const start = this.peek();
    // Value-first forms: <value> op <property>, <key> HAS DESCENDANT __key__.
    let valueFirst = start.t !== 'name';
    if (start.t === 'name' && !start.quoted) {
      const w = start.v.toUpperCase();
      valueFirst = ['TRUE', 'FALSE', 'NULL'].includes(w) || (['KEY', 'ARRAY', 'BLOB', 'DATETIME'].includes(w) && this.isOpAt(1, '('));
    }
    if (valueFirst) {
      const value = this.value();
      if (this.acceptKw('HAS')) {
        this.expectKw('DESCENDANT');
        const prop = this.propertyName();
        return pf(prop, 'HAS_ANCESTOR', value);
      }
      if (this.acceptKw('NOT')) {
        this.expectKw('IN');
        return pf(this.propertyName(), 'NOT_IN', value);
      }
      if (this.acceptKw('IN')) return pf(this.propertyName(), 'IN', value);
      const op = this.comparison();
      const flipped: Record<string, string> = { LESS_THAN: 'GREATER_THAN', LESS_THAN_OR_EQUAL: 'GREATER_THAN_OR_EQUAL', GREATER_THAN: 'LESS_THAN', GREATER_THAN_OR_EQUAL: 'LESS_THAN_OR_EQUAL' };
      return pf(this.propertyName(), flipped[op] ?? op, value);
    }
    const prop = this.propertyName();
    if (this.acceptKw('IS')) {
      this.expectKw('NULL');
      return pf(prop, 'EQUAL', { nullValue: 'NULL_VALUE', valueType: 'nullValue' } as IValue);
    }
    if (this.acceptKw('HAS')) {
      this.expectKw('ANCESTOR');
      return pf(prop, 'HAS_ANCESTOR', this.value());
    }
    if (this.acceptKw('CONTAINS')) return pf(prop, 'EQUAL', this.value());
    if (this.acceptKw('NOT')) {
      this.expectKw('IN');
      return pf(prop, 'NOT_IN', this.value());
    }
    if (this.acceptKw('IN')) return pf(prop, 'IN', this.value());
    const op = this.comparison();
    return pf(prop, op, this.value());
  }

  private comparison(): string {
    const t = this.peek();
    const ops: Record<string, string> = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS_THAN', '<=': 'LESS_THAN_OR_EQUAL', '>': 'GREATER_THAN', '>=': 'GREATER_THAN_OR_EQUAL' };
    if (t.t === 'op' && ops[t.v]) {
      this.pos++;
      return ops[t.v]!;
    }
    return this.fail('expected a comparison operator');
  }

  private conjunction(): IFilter {
    const parts = [this.condition()];
    while (this.acceptKw('AND')) parts.push(this.condition());
    return parts.length === 1 ? parts[0]! : ({ filterType: 'compositeFilter', compositeFilter: { op: 'AND', filters: parts } } as IFilter);
  }

  private disjunction(): IFilter {
    const parts = [this.conjunction()];
    while (this.acceptKw('OR')) parts.push(this.conjunction());
    return parts.length === 1 ? parts[0]! : ({ filterType: 'compositeFilter', compositeFilter: { op: 'OR', filters: parts } } as IFilter);
  }

  private names(): string[] {
    const out = [this.propertyName()];
    while (this.acceptOp(',')) out.push(this.propertyName());
    return out;
  }

  /** FROM / WHERE / ORDER BY / LIMIT / OFFSET after the select list. */
  private tail(query: IQuery, aggregation: boolean): void {
    if (this.acceptKw('FROM')) query.kind = [{ name: this.name('a kind') }];
    if (this.acceptKw('WHERE')) query.filter = this.disjunction();
    if (aggregation) return;
    if (this.acceptKw('ORDER')) {
      this.expectKw('BY');
      do {
        const name = this.propertyName();
        const direction = this.acceptKw('DESC') ? 'DESCENDING' : (this.acceptKw('ASC'), 'ASCENDING');
        query.order!.push({ property: { name }, direction } as never);
      } while (this.acceptOp(','));
    }
    if (this.acceptKw('LIMIT')) {
      if (this.acceptKw('FIRST')) {
        this.expectOp('(');
        const a = this.resultPosition();
        this.expectOp(',');
        const b = this.resultPosition();
        this.expectOp(')');
        this.applyLimit(query, a);
        this.applyLimit(query, b);
      } else this.applyLimit(query, this.resultPosition());
    }
    if (this.acceptKw('OFFSET')) {
      const a = this.resultPosition();
      if (a.cursor) {
        query.startCursor = a.cursor;
        if (this.acceptOp('+')) {
          const b = this.resultPosition();
          if (b.n === undefined) this.fail('expected an integer after "+"');
          query.offset = b.n;
        }
      } else query.offset = a.n!;
    }
  }

  private applyLimit(query: IQuery, p: { n?: number; cursor?: Buffer }): void {
    if (p.cursor) query.endCursor = p.cursor;
    else query.limit = { value: p.n! } as never;
  }

  private emptyQuery(): IQuery {
    return { kind: [], projection: [], order: [], distinctOn: [], offset: 0, limit: null } as IQuery;
  }

  private aggregations(): AggregationLike[] {
    const out: AggregationLike[] = [];
    do {
      const t = this.peek();
      const fn = t.t === 'name' ? t.v.toUpperCase() : '';
      this.pos++;
      this.expectOp('(');
      let agg: AggregationLike;
      if (fn === 'COUNT') {
        this.expectOp('*');
        agg = { operator: 'count', count: {} };
      } else if (fn === 'COUNT_UP_TO') {
        const n = this.peek();
        if (n.t !== 'num' || !/^[0-9]+$/.test(n.v)) this.fail('COUNT_UP_TO needs an integer');
        this.pos++;
        agg = { operator: 'count', count: { upTo: { value: (n as { v: string }).v } } };
      } else if (fn === 'SUM' || fn === 'AVG') {
        const property = { name: this.propertyName() };
        agg = fn === 'SUM' ? { operator: 'sum', sum: { property } } : { operator: 'avg', avg: { property } };
      } else return this.fail('expected COUNT, COUNT_UP_TO, SUM or AVG', t);
      this.expectOp(')');
      if (this.acceptKw('AS')) agg.alias = this.name('an alias');
      out.push(agg);
    } while (this.acceptOp(','));
    return out;
  }

  private isAggregationStart(offset: number): boolean {
    return ['COUNT', 'COUNT_UP_TO', 'SUM', 'AVG'].some((w) => this.isKw(w, offset)) && this.isOpAt(offset + 1, '(');
  }

  private isOpAt(offset: number, op: string): boolean {
    const t = this.toks[this.pos + offset];
    return t !== undefined && t.t === 'op' && t.v === op;
  }

  private selectQuery(): IQuery {
    this.expectKw('SELECT');
    const query = this.emptyQuery();
    if (this.acceptKw('DISTINCT')) {
      if (this.acceptKw('ON')) {
        this.expectOp('(');
        query.distinctOn = this.names().map((name) => ({ name }));
        this.expectOp(')');
        if (!this.acceptOp('*')) query.projection = this.names().map((name) => ({ property: { name } }));
      } else {
        const names = this.names();
        query.projection = names.map((name) => ({ property: { name } }));
        query.distinctOn = names.map((name) => ({ name }));
      }
    } else if (!this.acceptOp('*')) {
      query.projection = this.names().map((name) => ({ property: { name } }));
    }
    this.tail(query, false);
    return query;
  }

  parse(): ParsedGql {
    let result: ParsedGql;
    if (this.acceptKw('AGGREGATE')) {
      const aggregations = this.aggregations();
      this.expectKw('OVER');
      this.expectOp('(');
      const nestedQuery = this.selectQuery();
      this.expectOp(')');
      result = { type: 'aggregation', aggregationQuery: { nestedQuery, aggregations } as IAggregationQuery };
    } else if (this.isKw('SELECT') && this.isAggregationStart(1)) {
      this.pos++;
      const aggregations = this.aggregations();
      const nestedQuery = this.emptyQuery();
      this.tail(nestedQuery, true);
      result = { type: 'aggregation', aggregationQuery: { nestedQuery, aggregations } as IAggregationQuery };
    } else {
      result = { type: 'query', query: this.selectQuery() };
    }
    if (this.peek().t !== 'end') this.fail('unexpected text after the query');
    this.checkBindings();
    return result;
  }
}


export function parseGql(gql: IGqlQuery, partition: Partition): ParsedGql {
  const text = gql.queryString ?? '';
  if (text.trim() === '') throw invalid('A GQL query string is required.');
  return new Parser(tokenize(text), gql, partition).parse();
}
