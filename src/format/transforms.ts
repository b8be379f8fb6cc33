/**
 * The built-in transforms `dspipe migrate run` applies without a script:
 *
 *   --rename old=new                        move a property (value, index flag, meaning kept)
 *   --drop prop                             remove a property
 *   --convert prop:timestamp->string[:fmt]  timestamp values become strings
 *   --convert prop:string->timestamp[:fmt]  strings become timestamps (a string that does not parse stops the run)
 *   --set prop=TYPE:VALUE                   set the property only where it is missing
 *
 * Time formats (always UTC):
 *   iso       (default) RFC 3339: writes 2024-01-31T12:00:00.000Z (six fractional digits when
 *             the timestamp has microseconds); reads any RFC 3339 offset and up to 9 digits
 *   date      YYYY-MM-DD (reading gives midnight UTC; writing drops the time of day)
 *   epoch-ms  milliseconds since 1970 as a decimal integer
 *   a pattern containing `%`: %Y year (4 digits), %m month, %d day, %H hour, %M minute,
 *             %S second (2 digits each), %L milliseconds (3), %f microseconds (6), %% a `%`;
 *             anything else is literal, e.g. `%Y/%m/%d` or `%d.%m.%Y %H:%M`
 *
 * Values for --set: int:5, double:1.5, str:text (or string:text), bool:true, null,
 * timestamp:2024-01-31T00:00:00Z.
 *
 * Only top-level properties are addressed. Convert applies to array elements
 * too, and leaves values of any other type alone (so it finishes mixed data).
 */
import { DspipeError } from '../errors.js';
import type { IValue } from '../model/proto.js';
import { EntityHelper, Timestamp } from './entity-helper.js';
import { valueTypeOf } from '../model/value-types.js';

export type TimeFormat =
  | { kind: 'iso' }
  | { kind: 'date' }
  | { kind: 'epoch-ms' }
  | { kind: 'pattern'; pattern: string };

export type BuiltinTransform =
  | { type: 'rename'; from: string; to: string }
  | { type: 'drop'; property: string }
  | { type: 'convert'; property: string; from: 'timestamp' | 'string'; to: 'timestamp' | 'string'; format: TimeFormat }
  | { type: 'set'; property: string; value: IValue };

function invalid(flag: string, spec: string, what: string, example: string): never {
  throw new DspipeError('DSPIPE_INVALID_OPTION', `${flag} ${JSON.stringify(spec)}: ${what}`, { hint: `write it as ${flag} ${example}` });
}

function checkName(flag: string, spec: string, name: string, example: string): string {
  if (name === '') invalid(flag, spec, 'missing property name', example);
  if (/^__.*__$/.test(name)) invalid(flag, spec, `${JSON.stringify(name)} is a reserved name`, example);
  return name;
}

export function parseRename(spec: string): BuiltinTransform {
  const eq = spec.indexOf('=');
  const example = 'oldName=newName';
  if (eq < 0) invalid('--rename', spec, 'expected old=new', example);
  const from = checkName('--rename', spec, spec.slice(0, eq), example);
  const to = checkName('--rename', spec, spec.slice(eq + 1), example);
  if (from === to) invalid('--rename', spec, 'old and new names are the same', example);
  return { type: 'rename', from, to };
}

export function parseDrop(spec: string): BuiltinTransform {
  return { type: 'drop', property: checkName('--drop', spec, spec, 'legacyField') };
}

const TOKENS = new Set(['Y', 'm', 'd', 'H', 'M', 'S', 'L', 'f', '%']);

export function parseTimeFormat(text: string, flag = '--convert', spec = text): TimeFormat {
  if (text === '' || text === 'iso') return { kind: 'iso' };
  if (text === 'date') return { kind: 'date' };
  if (text === 'epoch-ms') return { kind: 'epoch-ms' };
  if (!text.includes('%')) invalid(flag, spec, `unknown time format ${JSON.stringify(text)} (iso, date, epoch-ms or a %-pattern)`, 'birthday:timestamp->string:date');
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') continue;
    const t = text[++i];
    if (t === undefined || !TOKENS.has(t)) {
      invalid(flag, spec, `unknown pattern token %${t ?? ''} (use %Y %m %d %H %M %S %L %f %%)`, 'birthday:timestamp->string:%Y/%m/%d');
    }
  }
  return { kind: 'pattern', pattern: text };
}

export function parseConvert(spec: string): BuiltinTransform {
  const example = 'birthday:timestamp->string:date';
  const m = /^(.*?):(timestamp|string)->(timestamp|string)(?::(.*))?$/s.exec(spec);
  if (m === null) invalid('--convert', spec, 'expected prop:timestamp->string[:format] or prop:string->timestamp[:format]', example);
  const property = checkName('--convert', spec, m[1]!, example);
  const from = m[2] as 'timestamp' | 'string';
  const to = m[3] as 'timestamp' | 'string';
  if (from === to) invalid('--convert', spec, `converting ${from} to ${to} does nothing`, example);
  return { type: 'convert', property, from, to, format: parseTimeFormat(m[4] ?? '', '--convert', spec) };
}

/** `int:5`, `double:1.5`, `str:x`, `bool:true`, `null`, `timestamp:2024-01-31T00:00:00Z`. */
export function parseTypedValue(text: string, flag = '--set', spec = text): IValue {
  const example = 'status=str:active';
  if (text === 'null') return { nullValue: 'NULL_VALUE' };
  const colon = text.indexOf(':');
  if (colon < 0) invalid(flag, spec, `value ${JSON.stringify(text)} has no type (int:, double:, str:, bool:, timestamp: or null)`, example);
  const type = text.slice(0, colon);
  const raw = text.slice(colon + 1);
  switch (type) {
    case 'int':
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) invalid(flag, spec, `${JSON.stringify(raw)} is not an integer`, 'count=int:0');
      const n = BigInt(raw);
      if (n < -(2n ** 63n) || n >= 2n ** 63n) invalid(flag, spec, `${raw} does not fit in 64 bits`, 'count=int:0');
      return { integerValue: String(n) };
    }
    case 'double': {
      const n = Number(raw);
      if (raw.trim() === '' || (Number.isNaN(n) && raw !== 'NaN')) invalid(flag, spec, `${JSON.stringify(raw)} is not a number`, 'ratio=double:0.5');
      return { doubleValue: n };
    }
    case 'str':
    case 'string':
      return { stringValue: raw };
    case 'bool':
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') invalid(flag, spec, `${JSON.stringify(raw)} is not true or false`, 'active=bool:true');
      return { booleanValue: raw === 'true' };
    case 'timestamp': {
      const ts = parseTime(raw, { kind: 'iso' });
      if (typeof ts === 'string') invalid(flag, spec, ts, 'joined=timestamp:2024-01-31T00:00:00Z');
      return { timestampValue: ts.toProto() };
    }
    default:
      return invalid(flag, spec, `unknown value type ${JSON.stringify(type)} (int, double, str, bool, timestamp, null)`, example);
  }
}

export function parseSet(spec: string): BuiltinTransform {
  const eq = spec.indexOf('=');
  if (eq < 0) invalid('--set', spec, 'expected prop=TYPE:VALUE', 'status=str:active');
  const property = checkName('--set', spec, spec.slice(0, eq), 'status=str:active');
  return { type: 'set', property, value: parseTypedValue(spec.slice(eq + 1), '--set', spec) };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatTime(ts: Timestamp, format: TimeFormat): string {
  switch (format.kind) {
    case 'iso':
      return ts.micros === 0 ? ts.toISOString() : ts.toRfc3339();
    case 'date':
      return ts.toISOString().slice(0, 10);
    case 'epoch-ms':
      return String(ts.getTime());
    case 'pattern':
      return format.pattern.replace(/%([YmdHMSLf%])/g, (_, t: string) => {
        switch (t) {
          case 'Y': return pad(ts.getUTCFullYear(), 4);
          case 'm': return pad(ts.getUTCMonth() + 1);
          case 'd': return pad(ts.getUTCDate());
          case 'H': return pad(ts.getUTCHours());
          case 'M': return pad(ts.getUTCMinutes());
          case 'S': return pad(ts.getUTCSeconds());
          case 'L': return pad(ts.getUTCMilliseconds(), 3);
          case 'f': return pad(ts.getUTCMilliseconds() * 1000 + ts.micros, 6);
          default: return '%';
        }
      });
  }
}

/** Builds a UTC timestamp from civil fields, or a reason when no such moment exists. */
function civil(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, micros = 0, offsetMin = 0): Timestamp | string {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || date.getUTCHours() !== h || date.getUTCMinutes() !== mi || date.getUTCSeconds() !== s) {
    return 'no such date or time';
  }
  if (y < 1 || y > 9999) return 'year out of range 0001..9999';
  const ms = date.getTime() - offsetMin * 60_000 + Math.floor(micros / 1000);
  return new Timestamp(ms, micros % 1000);
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** Parses text in a time format; returns a reason string when it does not fit. */
export function parseTime(text: string, format: TimeFormat): Timestamp | string {
  const why = (what: string) => `${JSON.stringify(text)} is not a ${format.kind === 'pattern' ? `"${format.pattern}"` : format.kind} time: ${what}`;
  let result: Timestamp | string;
  switch (format.kind) {
    case 'iso': {
      const m = ISO_RE.exec(text);
      if (m === null) return why('expected RFC 3339 like 2024-01-31T12:00:00Z');
      const micros = m[7] === undefined ? 0 : Math.floor(Number((m[7] + '000000000').slice(0, 9)) / 1000);
      const zone = m[8]!;
      const offset = zone === 'Z' || zone === 'z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
      result = civil(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, micros, offset);
      break;
    }
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      if (m === null) return why('expected YYYY-MM-DD');
      result = civil(+m[1]!, +m[2]!, +m[3]!);
      break;
    }
    case 'epoch-ms': {
      if (!/^-?\d{1,15}$/.test(text)) return why('expected a whole number of milliseconds');
      const ms = Number(text);
      const y = new Date(ms).getUTCFullYear();
      result = y < 1 || y > 9999 ? 'year out of range 0001..9999' : new Timestamp(ms);
      break;
    }
    case 'pattern': {
      const fields: string[] = [];
      const source = format.pattern.replace(/%([YmdHMSLf%])|([^%])/g, (_, t: string | undefined, lit: string | undefined) => {
        if (lit !== undefined) return lit.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        if (t === '%') return '%';
        fields.push(t!);
        return t === 'Y' ? '(\\d{4})' : t === 'L' ? '(\\d{3})' : t === 'f' ? '(\\d{6})' : '(\\d{2})';
      });
      const m = new RegExp(`^${source}$`).exec(text);
      if (m === null) return why('does not match the pattern');
      const v: Record<string, number> = { Y: 1970, m: 1, d: 1, H: 0, M: 0, S: 0, L: 0, f: 0 };
      fields.forEach((f, i) => (v[f] = Number(m[i + 1])));
      result = civil(v.Y!, v.m!, v.d!, v.H!, v.M!, v.S!, fields.includes('f') ? v.f! : v.L! * 1000);
      break;
    }
  }
  return typeof result === 'string' ? why(result) : result;
}

/** Applies one conversion to a value (and array elements); returns the same object when nothing applies. */
function convertValue(value: IValue, t: Extract<BuiltinTransform, { type: 'convert' }>): IValue {
  const type = valueTypeOf(value);
  if (type === 'array') {
    const values = value.arrayValue?.values ?? [];
    const next = values.map((v) => convertValue(v, t));
    return next.every((v, i) => v === values[i]) ? value : { arrayValue: { values: next } };
  }
  if (type !== t.from) return value;
  const keep: IValue = value.excludeFromIndexes === true ? { excludeFromIndexes: true } : {};
  if (t.from === 'timestamp') {
    return { ...keep, stringValue: formatTime(Timestamp.fromProto(value.timestampValue as { seconds?: unknown; nanos?: unknown }), t.format) };
  }
  const parsed = parseTime(value.stringValue ?? '', t.format);
  if (typeof parsed === 'string') throw new Error(`cannot convert ${t.property}: ${parsed}`);
  return { ...keep, timestampValue: parsed.toProto() };
}

/** Applies the transforms in order to the helper (in place). Throws a plain Error the runner locates. */
export function applyTransforms(entity: EntityHelper, transforms: readonly BuiltinTransform[]): EntityHelper {
  for (const t of transforms) {
    switch (t.type) {
      case 'rename':
        entity.rename(t.from, t.to);
        break;
      case 'drop':
        entity.delete(t.property);
        break;
      case 'set':
        if (!entity.has(t.property)) entity.setRaw(t.property, { ...t.value });
        break;
      case 'convert': {
        const raw = entity.getRaw(t.property);
        if (raw === undefined) break;
        const next = convertValue(raw, t);
        if (next !== raw) entity.setRaw(t.property, next);
        break;
      }
    }
  }
  return entity;
}

/** A one-line description, for dry-run reports and logs. */
export function describeTransform(t: BuiltinTransform): string {
  switch (t.type) {
    case 'rename': return `rename ${t.from} → ${t.to}`;
    case 'drop': return `drop ${t.property}`;
    case 'set': return `set ${t.property} where missing`;
    case 'convert': {
      const f = t.format.kind === 'pattern' ? t.format.pattern : t.format.kind;
      return `convert ${t.property} ${t.from} → ${t.to} (${f})`;
    }
  }
}
