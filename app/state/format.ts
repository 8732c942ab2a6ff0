/** Number and token formatting for display. Pure functions, no DOM. */

/** `1234567` → `"1,234,567"`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Parameter count in people's units: `263296` → `"263K"`, `6.74e9` → `"6.74B"`. */
export function formatParameters(n: number): string {
  if (n >= 1e9) return `${trim(n / 1e9)}B`;
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** A probability as a percentage with sensible precision: `0.5234` → `"52.3%"`, `0.0004` → `"0.04%"`. */
export function formatProbability(p: number): string {
  const pct = p * 100;
  if (pct >= 10) return `${pct.toFixed(1)}%`;
  if (pct >= 0.1) return `${pct.toFixed(2)}%`;
  return `${pct.toPrecision(1)}%`;
}

/** Bytes as KB / MB / GB (powers of 1024). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Milliseconds as `"850 ms"` or `"2.4 s"`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A token made visible: spaces as `·`, newlines as `↵`, tabs as `⇥`, other control characters
 * as `\xNN`, so " the" and "the" look different. The result is still plain text (render it as a
 * text node, never as HTML).
 */
export function displayToken(token: string): string {
  if (token === '') return '∅';
  let out = '';
  for (const ch of token) {
    const c = ch.codePointAt(0)!;
    if (ch === ' ') out += '·';
    else if (ch === '\n') out += '↵';
    else if (ch === '\t') out += '⇥';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** File name of a URL (its last path segment), for messages: `https://x/m/a.bin?x=1` → `"a.bin"`. */
export function fileNameOfUrl(url: string): string {
  try {
    const u = new URL(url, 'http://localhost/');
    const last = u.pathname.split('/').filter(Boolean).at(-1);
    return last ? decodeURIComponent(last) : u.host || url;
  } catch {
    return url;
  }
}
