/**
 * The notebook's dependency graph. Inputs always point at earlier cells (schema.ts enforces it), so
 * document order is a topological order and no cycle can exist.
 */
import { canonicalJson } from './canonical-json';
import type { CellDoc, NotebookDoc } from './document';

/** Ids of the cells `id` reads, directly. */
export function inputIds(cell: CellDoc): string[] {
  return [...new Set(Object.values(cell.inputs))];
}

/** Every cell that reads `id`, directly or through others, in document order. */
export function downstreamOf(doc: NotebookDoc, id: string): string[] {
  const reached = new Set([id]);
  const out: string[] = [];
  for (const cell of doc.cells) {
    if (cell.id === id) continue;
    if (inputIds(cell).some((i) => reached.has(i))) {
      reached.add(cell.id);
      out.push(cell.id);
    }
  }
  return out;
}

/** Every cell `id` reads, directly or through others, in document order. */
export function upstreamOf(doc: NotebookDoc, id: string): string[] {
  const byId = new Map(doc.cells.map((c) => [c.id, c]));
  const needed = new Set<string>();
  const visit = (cid: string) => {
    for (const i of inputIds(byId.get(cid) ?? { id: cid, kind: '', params: {}, inputs: {} })) {
      if (!needed.has(i)) {
        needed.add(i);
        visit(i);
      }
    }
  };
  visit(id);
  return doc.cells.filter((c) => needed.has(c.id)).map((c) => c.id);
}

/**
 * cyrb53: a fast, well-mixed 53-bit string hash (not cryptographic: keys only decide whether a
 * cached result still matches its inputs). 14 hex digits.
 */
export function hashString(s: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/**
 * Each cell's key: a hash of its kind (and the kind's code `version`), params (less view-only ones), the keys of its
 * inputs (not their ids, so keys chain: editing a cell changes every key downstream) and `env`
 * (e.g. the backend). A result is current when it was computed under the cell's current key.
 */
export function cellKeys(
  doc: NotebookDoc,
  env: Record<string, string> = {},
  kindInfo: (kind: string) => { version?: number; viewParams?: readonly string[] } | undefined = () =>
    undefined,
): Map<string, string> {
  const keys = new Map<string, string>();
  for (const cell of doc.cells) {
    const inputs: Record<string, string> = {};
    for (const [role, id] of Object.entries(cell.inputs)) inputs[role] = keys.get(id) ?? 'missing';
    const info = kindInfo(cell.kind);
    // View-only params choose among computed results: they never change what is computed.
    const params = { ...cell.params };
    for (const p of info?.viewParams ?? []) delete params[p];
    const v = info?.version ?? 0;
    keys.set(cell.id, hashString(canonicalJson({ kind: cell.kind, v, params, inputs, env })));
  }
  return keys;
}
