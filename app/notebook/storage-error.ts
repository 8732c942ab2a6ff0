/**
 * Errors from browser storage, translated into something a person can act on. IndexedDB reports a
 * full disk as a bare `QuotaExceededError` on an aborted transaction; the UI needs "storage is full,
 * here is what to delete", and must be able to tell that apart from a closed or missing database.
 */

/** Why a storage operation failed. */
export type StorageErrorKind = 'quota' | 'unavailable' | 'version' | 'closed' | 'failed';

/**
 * A failed IndexedDB operation. `action` says what was being done ("save notebook "Attention"").
 *
 * @example
 * try { await store.saveNotebook(id, doc); }
 * catch (e) { if (e instanceof StorageError && e.kind === 'quota') offerCleanup(); }
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly kind: StorageErrorKind,
    readonly action: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Wrap whatever IndexedDB threw or aborted with (DOMException, Error, anything) as a StorageError.
 *
 * @example
 * toStorageError(new DOMException('full', 'QuotaExceededError'), 'save notebook').kind; // 'quota'
 */
export function toStorageError(error: unknown, action: string): StorageError {
  if (error instanceof StorageError) return error;
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : '';
  const detail = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  const cause = { cause: error };
  // Firefox before 2020 used its own name for the same condition.
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED') {
    return new StorageError(
      'quota',
      action,
      `Browser storage is full: could not ${action}. Delete notebooks or cached results you no longer need, or allow this site more storage.`,
      cause,
    );
  }
  if (name === 'VersionError') {
    return new StorageError(
      'version',
      action,
      `Could not ${action}: the saved data was written by a newer Sparsebook. Reload to get the latest version.`,
      cause,
    );
  }
  if (name === 'InvalidStateError') {
    return new StorageError(
      'closed',
      action,
      `Could not ${action}: storage was closed (Sparsebook may have been updated in another tab). Reload the page.`,
      cause,
    );
  }
  return new StorageError(
    'failed',
    action,
    `Could not ${action}: ${name ? `${name}: ` : ''}${detail}`,
    cause,
  );
}
