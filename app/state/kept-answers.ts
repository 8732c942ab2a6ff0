/**
 * The answers cells computed for the notebook's selection in a live session (a token's experts,
 * its active SAE features, a document's loss under a pruning point or a mask), kept beside the
 * results so that an exported report shows them without a worker. One answer per cell: the latest,
 * which is the one for the current selection. Each is tied to the cell's result it was computed
 * with; a report keeps only the answers whose result it carries.
 */
import type { Json } from '../notebook/cell-runtime';

/** One cell's answer: `key` names what it answers (the view's document, SAE, point, position). */
export interface KeptAnswer {
  key: string;
  value: Json;
}

/**
 * A short key of what an answer is of: the parts joined, each long text (a document) stood for by
 * its length and a 53-bit hash, so a key stays short however long the document is.
 *
 * @example
 * answerKey(['expert route', modelCellId, documentText, 7]); // '["expert route","m1","#2041:…",7]'
 */
export function answerKey(parts: readonly (string | number)[]): string {
  return JSON.stringify(
    parts.map((p) => (typeof p === 'string' && p.length > 64 ? `#${p.length}:${hash53(p)}` : p)),
  );
}

/** cyrb53 (public domain): a fast 53-bit string hash, as hex. */
function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

export class KeptAnswers {
  // A Map: cell ids such as `__proto__` are ordinary ids.
  private readonly byCell = new Map<string, KeptAnswer & { resultKey: string | undefined }>();

  /** Keep cell `cellId`'s answer, computed beside its result `resultKey`. */
  keep(cellId: string, resultKey: string | undefined, answer: KeptAnswer): void {
    this.byCell.set(cellId, { key: answer.key, value: answer.value, resultKey });
  }

  /** Cell `cellId`'s kept answer for `key`, if it has one. */
  get(cellId: string, key: string): Json | undefined {
    const a = this.byCell.get(cellId);
    return a?.key === key ? a.value : undefined;
  }

  /** The answers of the results a report carries (`cells`: its results' keys, by cell id). */
  forResults(cells: ReadonlyMap<string, { key: string }>): Map<string, KeptAnswer> {
    const out = new Map<string, KeptAnswer>();
    for (const [id, a] of this.byCell) {
      if (a.resultKey !== undefined && cells.get(id)?.key === a.resultKey) {
        out.set(id, { key: a.key, value: a.value });
      }
    }
    return out;
  }

  /** Replace every answer (a report opened: its answers, tied to its results' keys). */
  replace(
    answers: ReadonlyMap<string, KeptAnswer> | undefined,
    cells: ReadonlyMap<string, { key: string }>,
  ): void {
    this.byCell.clear();
    for (const [id, a] of answers ?? []) this.keep(id, cells.get(id)?.key, a);
  }
}
