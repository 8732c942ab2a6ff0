/**
 * A list param typed into a text field ("0.1, 0.25, 0.5"): stored as numbers when every item is
 * one, else as the text itself, so the cell's run names the bad item (analyses/options.ts) instead
 * of the field silently dropping it.
 */
import type { ParamValue } from '../notebook/document';

export function numbersOrText(text: string): ParamValue {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const numbers = parts.map(Number);
  return numbers.every(Number.isFinite) ? numbers : text;
}

/** The field's text for a stored list param (numbers joined, or the text as typed). */
export function listText(value: ParamValue | undefined): string {
  return Array.isArray(value) ? value.join(', ') : String(value ?? '');
}
