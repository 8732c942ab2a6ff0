/**
 * Stable key order for everything Sparsebook writes or hashes, so the same notebook always gives the
 * same file bytes (clean diffs), the same share link and the same result keys.
 */

import type { NotebookDoc } from './document';

/**
 * A copy of `value` with every object's keys sorted (arrays keep their order).
 *
 * @example
 * JSON.stringify(sortKeysDeep({ b: 1, a: { d: 2, c: 3 } })); // '{"a":{"c":3,"d":2},"b":1}'
 */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    Object.defineProperty(out, key, {
      value: sortKeysDeep((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * JSON with sorted keys; the input to every content hash.
 *
 * @example
 * canonicalJson({ b: 1, a: 2 }); // '{"a":2,"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

/**
 * The notebook with its keys in reading order (format, version, title, cells, selection; a cell's id,
 * kind, params, inputs) and params/inputs keys sorted.
 *
 * @example
 * JSON.stringify(orderedNotebook(doc), null, 2);
 */
export function orderedNotebook(doc: NotebookDoc): NotebookDoc {
  const ordered: NotebookDoc = {
    format: doc.format,
    version: doc.version,
    title: doc.title,
    cells: doc.cells.map((c) => ({
      id: c.id,
      kind: c.kind,
      params: sortKeysDeep(c.params) as NotebookDoc['cells'][number]['params'],
      inputs: sortKeysDeep(c.inputs) as Record<string, string>,
    })),
  };
  if (doc.selection) ordered.selection = sortKeysDeep(doc.selection) as NotebookDoc['selection'];
  return ordered;
}
