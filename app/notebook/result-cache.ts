/**
 * The scheduler's result cache over the notebook store. A result that cannot be stored (browser
 * storage full, storage closed) is still shown in its cell, but it will not survive a reload, so
 * the failure goes to `onSaveError` for the user to see instead of being dropped; a cache entry
 * that cannot be read is just a miss.
 */
import { decodeResult, encodeResult } from './result-codec';
import type { ResultCache } from './scheduler';
import type { NotebookStore } from './store';

/**
 * @example
 * const cache = storeResultCache(() => store, (e) => showError(e, 'A result could not be saved'));
 */
export function storeResultCache(
  store: () => NotebookStore | undefined,
  onSaveError: (error: unknown) => void,
): ResultCache {
  return {
    async load(cellId, key) {
      const hit = await store()?.loadResult(cellId, key);
      return hit ? decodeResult(hit.bytes) : undefined;
    },
    async save(cellId, key, result) {
      const s = store();
      if (!s) return;
      try {
        await s.saveResult(cellId, key, encodeResult(result));
      } catch (e) {
        onSaveError(e);
      }
    },
  };
}
