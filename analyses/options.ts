/**
 * Option schemas: each analysis declares its options once (in its `catalogue.ts`), with defaults and
 * limits, and every caller — a notebook cell, the CLI — parses raw JSON values through that one
 * schema at its boundary and passes typed values on. Compute-free, so the page may import it.
 *
 * A missing option takes its default (a notebook saved before the option existed still opens); a
 * present but invalid one is an OptionError naming the option, the rule and the value.
 *
 * @example
 * const budget = option.number(0.25, { min: 0.01 });
 * const schema = optionSchema({ budget, family: option.choice(['topk', 'hip'], 'topk') });
 * schema.parse({ budget: 'x' }); // OptionError: budget: expected a number ≥ 0.01, got "x"
 */

/** A JSON value as notebooks and command lines carry it. */
export type OptionValue = string | number | boolean | null | OptionValue[] | { [key: string]: OptionValue };

/** An option present in raw params with a value it cannot take. */
export class OptionError extends RangeError {
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`${option}: ${problem}`);
    this.name = 'OptionError';
  }
}

/** One option: its default and how a raw value becomes a typed one. */
export interface Option<T extends OptionValue> {
  readonly default: T;
  /** The typed value of `raw`, or an OptionError naming `name`. */
  parse(raw: unknown, name: string): T;
}

function shown(raw: unknown): string {
  const s = JSON.stringify(raw) ?? String(raw);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function fail(name: string, expected: string, raw: unknown): never {
  throw new OptionError(name, `expected ${expected}, got ${shown(raw)}`);
}

interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

function describeNumber({ min, max, integer }: NumberRule): string {
  const what = integer ? 'an integer' : 'a number';
  if (min !== undefined && max !== undefined) return `${what} in [${min}, ${max}]`;
  if (min !== undefined) return `${what} ≥ ${min}`;
  if (max !== undefined) return `${what} ≤ ${max}`;
  return what;
}

/** A finite number under `rule` (numeric strings, as a form may store them, are read too). */
function toNumber(raw: unknown, name: string, rule: NumberRule): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  const ok =
    Number.isFinite(n) &&
    (!rule.integer || Number.isInteger(n)) &&
    (rule.min === undefined || n >= rule.min) &&
    (rule.max === undefined || n <= rule.max);
  return ok ? n : fail(name, describeNumber(rule), raw);
}

/** A list option's items: a JSON array, or a comma-separated string as typed in a field. */
function items(raw: unknown): unknown[] {
  if (Array.isArray(raw)) return raw;
  if (typeof raw === 'string')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return [raw];
}

export const option = {
  number(defaultValue: number, rule: NumberRule = {}): Option<number> {
    return { default: defaultValue, parse: (raw, name) => toNumber(raw, name, rule) };
  },

  integer(defaultValue: number, rule: Omit<NumberRule, 'integer'> = {}): Option<number> {
    return option.number(defaultValue, { ...rule, integer: true });
  },

  string(defaultValue: string, { maxLength }: { maxLength?: number } = {}): Option<string> {
    return {
      default: defaultValue,
      parse(raw, name) {
        if (typeof raw !== 'string') fail(name, 'text', raw);
        if (maxLength !== undefined && raw.length > maxLength)
          throw new OptionError(name, `${raw.length} characters; at most ${maxLength}`);
        return raw;
      },
    };
  },

  boolean(defaultValue: boolean): Option<boolean> {
    return {
      default: defaultValue,
      parse: (raw, name) => (typeof raw === 'boolean' ? raw : fail(name, 'true or false', raw)),
    };
  },

  /** One of `choices`. */
  choice<const C extends readonly string[]>(choices: C, defaultValue: C[number]): Option<C[number]> {
    return {
      default: defaultValue,
      parse: (raw, name) =>
        typeof raw === 'string' && choices.includes(raw)
          ? raw
          : fail(name, `one of ${choices.join(', ')}`, raw),
    };
  },

  /** A subset of `choices`, returned in the choices' order without repeats. */
  choices<const C extends readonly string[]>(
    choices: C,
    defaultValue: readonly C[number][],
    { minItems = 0 }: { minItems?: number } = {},
  ): Option<C[number][]> {
    return {
      default: [...defaultValue],
      parse(raw, name) {
        const given = items(raw).map((v) => (typeof v === 'string' ? v.trim() : v));
        for (const v of given)
          if (typeof v !== 'string' || !choices.includes(v))
            fail(name, `items among ${choices.join(', ')}`, v);
        const picked = choices.filter((c) => given.includes(c));
        if (picked.length < minItems) throw new OptionError(name, `pick at least ${minItems}`);
        return picked;
      },
    };
  },

  /** A list of numbers under `rule` (an array, or "0.1, 0.25" as typed in a field). */
  numbers(
    defaultValue: readonly number[],
    rule: NumberRule & { minItems?: number; maxItems?: number } = {},
  ): Option<number[]> {
    return {
      default: [...defaultValue],
      parse(raw, name) {
        const list = items(raw).map((v, i) => toNumber(v, `${name}[${i}]`, rule));
        if (rule.minItems !== undefined && list.length < rule.minItems)
          throw new OptionError(
            name,
            `give at least ${rule.minItems} value${rule.minItems === 1 ? '' : 's'}`,
          );
        if (rule.maxItems !== undefined && list.length > rule.maxItems)
          throw new OptionError(name, `${list.length} values; at most ${rule.maxItems}`);
        return list;
      },
    };
  },

  /**
   * `inner` with errors naming the option as the user sees it: "tokens per domain (maxTokens): …".
   */
  labelled<T extends OptionValue>(label: string, inner: Option<T>): Option<T> {
    return { default: inner.default, parse: (raw, name) => inner.parse(raw, `${label} (${name})`) };
  },

  /** Any JSON value checked by `check` (structured params such as picked files). */
  json<T extends OptionValue>(defaultValue: T, check: (raw: unknown, name: string) => T): Option<T> {
    return { default: defaultValue, parse: check };
  },
};

export type OptionFields = Record<string, Option<OptionValue>>;

/** The typed options a schema's fields produce. */
export type OptionsOf<F extends OptionFields> = { [K in keyof F]: F[K] extends Option<infer T> ? T : never };

export interface OptionSchema<P extends Record<string, OptionValue>> {
  readonly fields: { readonly [K in keyof P]: Option<P[K]> };
  /** A fresh copy of every default. */
  defaults(): P;
  /**
   * Typed options from raw ones: missing keys take their default, keys the schema does not know are
   * dropped, an invalid value throws OptionError.
   */
  parse(raw: Readonly<Record<string, unknown>>): P;
  /**
   * As `parse`, but an invalid value reads as its default instead of throwing: for showing a form
   * whose run reports the error.
   */
  read(raw: Readonly<Record<string, unknown>>): P;
}

function copy<T>(v: T): T {
  return typeof v === 'object' && v !== null ? (JSON.parse(JSON.stringify(v)) as T) : v;
}

function parseFields(
  fields: OptionFields,
  raw: Readonly<Record<string, unknown>>,
  lenient: boolean,
): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [k, f] of Object.entries(fields)) {
    const given = Object.hasOwn(raw, k) ? raw[k] : undefined;
    if (given === undefined) out[k] = copy(f.default);
    else if (!lenient) out[k] = f.parse(given, k);
    else {
      try {
        out[k] = f.parse(given, k);
      } catch {
        out[k] = copy(f.default);
      }
    }
  }
  return out;
}

/** One schema from named options. */
export function optionSchema<F extends OptionFields>(fields: F): OptionSchema<OptionsOf<F>> {
  type P = OptionsOf<F>;
  const names = Object.keys(fields) as (keyof F & string)[];
  return {
    fields: fields as unknown as OptionSchema<P>['fields'],
    defaults: () => Object.fromEntries(names.map((k) => [k, copy(fields[k]!.default)])) as P,
    parse: (raw) => parseFields(fields, raw, false) as P,
    read: (raw) => parseFields(fields, raw, true) as P,
  };
}
