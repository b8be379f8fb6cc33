/**
 * Property paths as Datastore writes them in property masks and transforms:
 * names joined by `.`, a name holding `.` or `\` (or other special
 * characters) quoted in backticks with `\` escapes. Values at a path are read
 * and written through entity values, copying on write so stored entities
 * stay untouched.
 */
import type { Value as IValue } from '../model/proto.js';
import { invalidArgument } from './rpc-error.js';

export function parsePath(path: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= path.length) {
    let name = '';
    if (path[i] === '`') {
      i++;
      while (i < path.length && path[i] !== '`') {
        if (path[i] === '\\') i++;
        name += path[i] ?? '';
        i++;
      }
      if (path[i] !== '`') throw invalidArgument(`property path ${JSON.stringify(path)} has an unterminated backtick`);
      i++;
    } else {
      while (i < path.length && path[i] !== '.') name += path[i++];
    }
    if (name === '') throw invalidArgument(`property path ${JSON.stringify(path)} has an empty name`);
    out.push(name);
    if (i >= path.length) break;
    if (path[i] !== '.') throw invalidArgument(`property path ${JSON.stringify(path)} is malformed`);
    i++;
  }
  return out;
}

export type Properties = Record<string, IValue>;

export function getAt(props: Properties, names: string[]): IValue | undefined {
  let cur: Properties | undefined = props;
  for (let i = 0; i < names.length; i++) {
    const v: IValue | undefined = cur?.[names[i]!];
    if (i === names.length - 1) return v;
    cur = v?.valueType === 'entityValue' ? ((v.entityValue?.properties ?? {}) as Properties) : undefined;
  }
  return undefined;
}

/** A copy of `props` with the value at `names` set (or removed when undefined). */
export function setAt(props: Properties, names: string[], value: IValue | undefined): Properties {
  const [head, ...rest] = names;
  const out: Properties = { ...props };
  if (rest.length === 0) {
    if (value === undefined) delete out[head!];
    else out[head!] = value;
    return out;
  }
  const child = props[head!];
  const childProps = child?.valueType === 'entityValue' ? ((child.entityValue?.properties ?? {}) as Properties) : {};
  const base: IValue = child?.valueType === 'entityValue' ? child : { valueType: 'entityValue', entityValue: { properties: {} } } as IValue;
  out[head!] = { ...base, entityValue: { ...base.entityValue, properties: setAt(childProps, rest, value) } } as IValue;
  return out;
}
