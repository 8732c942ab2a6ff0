/**
 * A sweep's sparsity levels, parsed once where they enter (a cell's params, a flag, a bench's
 * constant) and passed inward typed: the worker and the sweep never check them again.
 * Compute-free, so the page may import it.
 */
import { option, OptionError, type Option } from '../options';

declare const parsed: unique symbol;

/** Distinct sparsity levels, each a finite number in [0, 1), in the order given. */
export type Sparsities = number[] & { readonly [parsed]: true };

/**
 * Parse numbers, or a comma-separated string of them, into sparsity levels (repeats dropped).
 *
 * @example
 * parseSparsities('0.5, 0.3, 0.5'); // [0.5, 0.3]
 * parseSparsities([0.5, 1]); // RangeError: sparsity 1 is not in [0, 1)
 */
export function parseSparsities(value: unknown): Sparsities {
  const parts = Array.isArray(value) ? value : String(value ?? '').split(',');
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string' && part.trim() === '') continue;
    const s = typeof part === 'number' ? part : Number(String(part).trim());
    if (!(Number.isFinite(s) && s >= 0 && s < 1))
      throw new RangeError(`sparsity ${String(part).trim()} is not in [0, 1)`);
    if (!out.includes(s)) out.push(s);
  }
  return out as Sparsities;
}

/**
 * A sweep's sparsity levels as an option of its schema (analyses/options.ts): the numbers are read
 * as any number list, then checked as sparsity levels, the error naming the option.
 */
export function sparsitiesOption(defaultValue: readonly number[]): Option<Sparsities> {
  const numbers = option.numbers(defaultValue, { min: 0, max: 1 });
  return {
    default: parseSparsities(defaultValue),
    parse(raw, name) {
      const list = numbers.parse(raw, name);
      try {
        return parseSparsities(list);
      } catch (e) {
        throw new OptionError(name, (e as Error).message);
      }
    },
  };
}
