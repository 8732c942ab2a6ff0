/**
 * Deep-copy a value while checking it is plain JSON (what a cell parameter may hold). The copy is
 * what the validator returns, so nothing the caller keeps can alias the validated document.
 */

import type { ParamValue } from './document';

/** Running content size of one document, shared by all its values. */
export interface JsonBudget {
  bytes: number;
}

/** The limits {@link jsonCopier} applies. */
export interface JsonLimits {
  readonly maxStringBytes: number;
  readonly maxDepth: number;
}

/** Report a problem at `path` (`a.b[2]`, or `''` for the value itself); must throw. */
export type JsonFail = (problem: string, path: string) => never;

/**
 * True for `{}`-style objects only (not arrays, class instances, Dates, Maps, null).
 *
 * @example
 * isPlainObject({ a: 1 }); // true
 * isPlainObject(new Date()); // false
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * UTF-8 length of a string without encoding it.
 *
 * @example
 * utf8Length('é'); // 2
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * A checking deep copier bound to `limits` and a shared `budget` (bytes counted: strings and keys in
 * UTF-8, 8 per scalar). It refuses functions, `undefined`, symbols, bigints, non-finite numbers,
 * class instances, `__proto__` keys, over-long strings and nesting deeper than `maxDepth`.
 *
 * @example
 * const copy = jsonCopier({ maxStringBytes: 1 << 20, maxDepth: 32 }, { bytes: 0 });
 * copy({ layer: 2 }, (problem, path) => { throw new Error(`${path} ${problem}`); }); // { layer: 2 }
 */
export function jsonCopier(
  limits: JsonLimits,
  budget: JsonBudget,
): (value: unknown, fail: JsonFail) => ParamValue {
  const walk = (v: unknown, path: string, depth: number, fail: JsonFail): ParamValue => {
    if (depth > limits.maxDepth) fail(`is nested more than ${limits.maxDepth} levels deep`, path);
    switch (typeof v) {
      case 'string': {
        // A UTF-16 unit is at least one UTF-8 byte, so an over-long string is refused before counting.
        const bytes = v.length > limits.maxStringBytes ? v.length : utf8Length(v);
        if (bytes > limits.maxStringBytes) {
          fail(`is too long (${bytes} bytes; the limit is ${limits.maxStringBytes})`, path);
        }
        budget.bytes += bytes + 2;
        return v;
      }
      case 'number':
        if (!Number.isFinite(v)) fail(`is not a finite number (${String(v)})`, path);
        budget.bytes += 8;
        return v;
      case 'boolean':
        budget.bytes += 8;
        return v;
      case 'object': {
        if (v === null) {
          budget.bytes += 8;
          return null;
        }
        if (Array.isArray(v)) {
          const out: ParamValue[] = [];
          for (let i = 0; i < v.length; i++) out.push(walk(v[i], `${path}[${i}]`, depth + 1, fail));
          budget.bytes += 2;
          return out;
        }
        if (!isPlainObject(v)) fail('is not plain JSON (an object with a class)', path);
        const out: Record<string, ParamValue> = {};
        for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
          const at = path ? `${path}.${key}` : key;
          // JSON.parse makes "__proto__" an own key; copying it by assignment would swap the prototype.
          if (key === '__proto__') fail('uses the reserved key "__proto__"', at);
          if (key.length > limits.maxStringBytes) fail('has an over-long key', path);
          budget.bytes += utf8Length(key) + 3;
          out[key] = walk(item, at, depth + 1, fail);
        }
        budget.bytes += 2;
        return out;
      }
      default:
        return fail(`is not plain JSON (${typeof v})`, path);
    }
  };
  return (value: unknown, fail: JsonFail): ParamValue => walk(value, '', 0, fail);
}
