/**
 * Option and column checks shared by every chart. Bad input fails loudly with a message that names
 * the chart and the option, e.g. `heatmap: column "foo" not in table (columns: a, b, c)`, because a
 * chart that silently draws nothing is the hardest bug to find in a notebook.
 */
import { DataType, Precision, type Table, type Vector } from 'apache-arrow';

/**
 * Thrown for any invalid chart option; `chart` and `option` say where.
 *
 * @example try { heatmap(t, opts); } catch (e) { if (e instanceof ChartOptionError) showOptionError(e.option, e.message); }
 */
export class ChartOptionError extends Error {
  override name = 'ChartOptionError';
  constructor(
    readonly chart: string,
    readonly option: string,
    message: string,
  ) {
    super(`${chart}: ${message}`);
  }
}

/**
 * Reject option keys the chart does not know (a typo such as `colour` would otherwise be ignored).
 *
 * @example checkKeys('histogram', opts, ['value', 'bins']);
 */
export function checkKeys(chart: string, opts: object, known: readonly string[]): void {
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new ChartOptionError(chart, key, `unknown option "${key}" (known: ${known.join(', ')})`);
    }
  }
}

/**
 * Throw unless `value` is one of `allowed`; returns it typed.
 *
 * @example const kind = oneOf('lineChart', 'xType', opts.xType ?? 'linear', ['linear', 'log'] as const);
 */
export function oneOf<T extends string>(
  chart: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    throw new ChartOptionError(
      chart,
      option,
      `option "${option}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')} (got ${JSON.stringify(value)})`,
    );
  }
  return value as T;
}

/**
 * Throw unless `value` is a finite number greater than zero (or an integer when `integer`).
 *
 * @example const bins = positive('histogram', 'bins', opts.bins ?? 30, true);
 */
export function positive(chart: string, option: string, value: unknown, integer = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    const what = integer ? 'a positive integer' : 'a positive number';
    throw new ChartOptionError(
      chart,
      option,
      `option "${option}" must be ${what} (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/**
 * Throw unless `value` is a finite number.
 *
 * @example const center = finite('heatmap', 'center', opts.center ?? 0);
 */
export function finite(chart: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ChartOptionError(
      chart,
      option,
      `option "${option}" must be a finite number (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/**
 * Throw unless `value` is `[lo, hi]` with finite lo < hi.
 *
 * @example const [lo, hi] = interval('lineChart', 'yDomain', opts.yDomain);
 */
export function interval(chart: string, option: string, value: unknown): [number, number] {
  const ok =
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    value[0] < value[1];
  if (!ok) {
    throw new ChartOptionError(
      chart,
      option,
      `option "${option}" must be [lo, hi] with lo < hi (got ${JSON.stringify(value)})`,
    );
  }
  return [value[0], value[1]];
}

/**
 * Throw unless the (required) option is a non-empty string; returns it.
 *
 * @example const name = requiredName('barChart', 'value', opts.value);
 */
export function requiredName(chart: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new ChartOptionError(chart, option, `option "${option}" is required: the name of a column`);
  }
  return value;
}

/**
 * The column `name` of `table`, or a clear error listing the columns there are.
 *
 * @example const v = column('heatmap', table, 'value', 'value');
 */
export function column(chart: string, table: Table, name: string, option: string): Vector {
  const vector = table.getChild(name);
  if (!vector) {
    const names = table.schema.fields.map((f) => f.name).join(', ');
    throw new ChartOptionError(chart, option, `column "${name}" not in table (columns: ${names})`);
  }
  return vector;
}

/**
 * A numeric column as float64 (nulls become NaN; int64 is converted, exact up to 2^53).
 *
 * @example const loss = numbers('lineChart', table, 'loss', 'y');
 */
export function numbers(chart: string, table: Table, name: string, option: string): Float64Array {
  const vector = column(chart, table, name, option);
  const type = vector.type;
  if (!DataType.isFloat(type) && !DataType.isInt(type)) {
    throw new ChartOptionError(chart, option, `column "${name}" must be numeric (it is ${String(type)})`);
  }
  const out = new Float64Array(vector.length);
  // float16 columns hold raw bits in toArray(); get() decodes them.
  const half = DataType.isFloat(type) && type.precision === Precision.HALF;
  const raw = half ? null : (vector.toArray() as ArrayLike<number | bigint>);
  for (let i = 0; i < out.length; i++) out[i] = Number(raw ? raw[i] : vector.get(i));
  if (vector.nullCount > 0) for (let i = 0; i < out.length; i++) if (!vector.isValid(i)) out[i] = NaN;
  return out;
}

/**
 * A column as display strings (nulls stay null); numbers and booleans are stringified.
 *
 * @example const tokens = strings('tokenStrip', table, 'token', 'token');
 */
export function strings(chart: string, table: Table, name: string, option: string): (string | null)[] {
  const vector = column(chart, table, name, option);
  const out: (string | null)[] = new Array(vector.length);
  for (let i = 0; i < vector.length; i++) {
    const v: unknown = vector.get(i);
    out[i] = v === null || v === undefined ? null : String(v);
  }
  return out;
}
