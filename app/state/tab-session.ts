/**
 * The notebook this tab has open, in sessionStorage, so a reload reopens it (not the newest). With
 * storage disabled every reload opens the newest notebook.
 */
const TAB_NOTEBOOK = 'sparsebook.notebook';

export function tabNotebook(): string | null {
  try {
    return globalThis.sessionStorage?.getItem(TAB_NOTEBOOK) ?? null;
  } catch {
    return null;
  }
}

export function setTabNotebook(id: string): void {
  try {
    globalThis.sessionStorage?.setItem(TAB_NOTEBOOK, id);
  } catch {
    // as above
  }
}
