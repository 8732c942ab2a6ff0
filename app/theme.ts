/**
 * Light/dark theme: the user's choice (kept in localStorage) or the system's prefers-color-scheme,
 * applied as `data-theme` on <html> (styles.css keys the dark tokens on it). index.html runs the
 * same resolution inline before first paint, so there is no flash of the wrong theme.
 */

export type ThemeChoice = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'sparsebook.theme';

export function storedTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

/** Resolve and apply a choice; returns a function that stops following the system. */
export function applyTheme(choice: ThemeChoice): () => void {
  try {
    if (choice === 'system') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, choice);
  } catch {
    // storage unavailable (private mode): the choice lasts for this page only
  }
  const media = matchMedia('(prefers-color-scheme: dark)');
  const set = () => {
    const dark = choice === 'dark' || (choice === 'system' && media.matches);
    document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  };
  set();
  if (choice !== 'system') return () => {};
  media.addEventListener('change', set);
  return () => media.removeEventListener('change', set);
}
