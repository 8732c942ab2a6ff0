/**
 * An embedded cell's page (an iframe, or inside `<sparsebook-cell>`): its theme follows the host's
 * prefers-color-scheme unless the embed sets one, and it tells its parent how tall it is so the
 * frame can fit its content at any width.
 */

/** The message an embed posts to its parent window. */
export interface EmbedSizeMessage {
  type: 'sparsebook-cell-size';
  cell: string;
  height: number;
}

/** Apply `theme` (or follow the system) without storing it; returns a function that stops following. */
export function followEmbedTheme(theme: 'light' | 'dark' | undefined): () => void {
  const media = matchMedia('(prefers-color-scheme: dark)');
  const set = () => {
    document.documentElement.dataset.theme = theme ?? (media.matches ? 'dark' : 'light');
  };
  set();
  if (theme) return () => {};
  media.addEventListener('change', set);
  return () => media.removeEventListener('change', set);
}

/** Post the page height to the parent whenever it changes; returns a function that stops. */
export function reportSize(cell: string): () => void {
  if (window.parent === window) return () => {};
  let last = -1;
  const post = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    const message: EmbedSizeMessage = { type: 'sparsebook-cell-size', cell, height };
    // Only a height and the cell id leave the frame, so any parent origin may hear it.
    window.parent.postMessage(message, '*');
  };
  const observer = new ResizeObserver(post);
  observer.observe(document.documentElement);
  post();
  return () => observer.disconnect();
}
