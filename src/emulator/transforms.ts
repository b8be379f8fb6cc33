/**
 * Mutation.property_transforms, applied in order after the write: server
 * request time (millisecond precision), increment, maximum, minimum (integer
 * arithmetic saturates at the int64 bounds; mixed with doubles it is double
 * arithmetic), append missing elements and remove all from array.
 */
import type { ITimestamp } from '../model/proto.js';
import type { Value as IValue } from '../model/proto.js';
import { getAt, parsePath, setAt, type Properties } from './property-path.js';
import { invalidArgument } from './rpc-error.js';

export interface PropertyTransform {
  property?: string | null;
  transformType?: string;
  setToServerValue?: string | null;
  increment?: IValue | null;
  maximum?: IValue | null;
  minimum?: IValue | null;
  appendMissingElements?: { values?: IValue[] | null } | null;
  removeAllFromArray?: { values?: IValue[] | null } | null;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const NULL: IValue = { valueType: 'nullValue', nullValue: 'NULL_VALUE' } as IValue;

export function applyTransforms(
  props: Properties,
  transforms: PropertyTransform[],
  requestTime: ITimestamp,
  results: IValue[],
  where: string,
): Properties {
  let out = props;
  for (const t of transforms) {
    const names = parsePath(t.property ?? '');
    const current = getAt(out, names);
    let next: IValue;
    let result: IValue;
    switch (t.transformType) {
      case 'setToServerValue': {
        if (t.setToServerValue !== 'REQUEST_TIME') throw invalidArgument(`${where}: unknown server value ${t.setToServerValue}`);
        const nanos = Math.floor((requestTime.nanos ?? 0) / 1e6) * 1e6;
        next = result = { valueType: 'timestampValue', timestampValue: { seconds: requestTime.seconds, nanos } } as IValue;
        break;
      }
      case 'increment':
      case 'maximum':
      case 'minimum':
        next = result = numeric(t.transformType, current, t[t.transformType]!, where);
        break;
      case 'appendMissingElements': {
        const values = [...arrayOf(current)];
        for (const v of t.appendMissingElements?.values ?? []) if (!values.some((x) => equivalent(x, v))) values.push(v);
        next = { valueType: 'arrayValue', arrayValue: { values } } as IValue;
        result = NULL;
        break;
      }
      case 'removeAllFromArray': {
        const remove = t.removeAllFromArray?.values ?? [];
        const values = arrayOf(current).filter((x) => !remove.some((r) => equivalent(x, r)));
        next = { valueType: 'arrayValue', arrayValue: { values } } as IValue;
        result = NULL;
        break;
      }
      default:
        throw invalidArgument(`${where}: a property transform has no transform type`);
    }
    out = setAt(out, names, next);
    results.push(result);
  }
  return out;
}

function arrayOf(v: IValue | undefined): IValue[] {
  return v?.valueType === 'arrayValue' ? (v.arrayValue?.values ?? []) : [];
}

function isNumber(v: IValue | undefined): boolean {
  return v?.valueType === 'integerValue' || v?.valueType === 'doubleValue';
}

function asDouble(v: IValue): number {
  return v.valueType === 'integerValue' ? Number(v.integerValue) : Number(v.doubleValue);
}

function numeric(kind: 'increment' | 'maximum' | 'minimum', current: IValue | undefined, operand: IValue, where: string): IValue {
  if (!isNumber(operand)) throw invalidArgument(`${where}: ${kind} needs an integer or double value`);
  if (!isNumber(current)) return operand;
  const cur = current!;
  if (kind === 'increment') {
    if (cur.valueType === 'integerValue' && operand.valueType === 'integerValue') {
      let sum = BigInt(String(cur.integerValue)) + BigInt(String(operand.integerValue));
      if (sum > INT64_MAX) sum = INT64_MAX;
      if (sum < INT64_MIN) sum = INT64_MIN;
      return { valueType: 'integerValue', integerValue: sum.toString() } as IValue;
    }
    return { valueType: 'doubleValue', doubleValue: asDouble(cur) + asDouble(operand) } as IValue;
  }
  const a = asDouble(cur);
  const b = asDouble(operand);
  if (Number.isNaN(a)) return cur;
  if (Number.isNaN(b)) return operand;
  // Equal values (3 and 3.0, or zeros) keep the stored one.
  if (a === b) return cur;
  const pickOperand = kind === 'maximum' ? b > a : b < a;
  return pickOperand ? operand : cur;
}

/** Equality for array transforms: numbers across types, NaN equals NaN. */
function equivalent(a: IValue, b: IValue): boolean {
  if (isNumber(a) && isNumber(b)) {
    const x = asDouble(a);
    const y = asDouble(b);
    if (a.valueType === 'integerValue' && b.valueType === 'integerValue') return String(a.integerValue) === String(b.integerValue);
    return x === y || (Number.isNaN(x) && Number.isNaN(y));
  }
  if (a.valueType !== b.valueType) return false;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function strip(v: IValue): unknown {
  const key = v.valueType as keyof IValue;
  const inner = v[key];
  return Buffer.isBuffer(inner) ? inner.toString('base64') : inner;
}
