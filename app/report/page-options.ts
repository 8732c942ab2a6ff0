/**
 * What a page shows besides the notebook itself, from its URL hash: `#cell=ID` shows only that cell
 * (an embed), `controls=0` hides its parameter controls, `theme=light|dark` overrides the host's
 * prefers-color-scheme. Other hash parameters (`nb=…`, the share link) pass through untouched.
 */

export interface EmbedOptions {
  /** The cell to show alone. */
  cell: string;
  /** Show the cell's header and parameter controls (default true). */
  controls: boolean;
  /** Forced theme; undefined follows the system (or the host page's) preference. */
  theme?: 'light' | 'dark';
}

/**
 * @example
 * embedOptions('#nb=eJy…&cell=c1a2b3c4&controls=0'); // { cell: 'c1a2b3c4', controls: false }
 * embedOptions('#nb=eJy…'); // undefined: the whole notebook
 */
export function embedOptions(hash: string): EmbedOptions | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const cell = params.get('cell');
  if (!cell || !/^[A-Za-z0-9_-]{1,64}$/.test(cell)) return undefined;
  const theme = params.get('theme');
  return {
    cell,
    controls: !['0', 'false', 'off', 'no'].includes(params.get('controls') ?? ''),
    ...(theme === 'light' || theme === 'dark' ? { theme } : {}),
  };
}

/** The hash fragment that selects `options` (appended to a report URL or a share link's hash). */
export function embedHash(options: EmbedOptions): string {
  const parts = [`cell=${encodeURIComponent(options.cell)}`];
  if (!options.controls) parts.push('controls=0');
  if (options.theme) parts.push(`theme=${options.theme}`);
  return parts.join('&');
}
