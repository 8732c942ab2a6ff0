/**
 * The Content-Security-Policy of the live app (index.html) and embed.html, as a `<meta>` tag so it
 * travels with the files to any static host. It follows the report's policy (scripts/report-shell.ts):
 * no script that is not the app's own (its files from this origin, and the inline theme script by
 * SHA-256), no eval, no plugins, no frames, no `<base>`, no form posts. The live app differs from a
 * report only where it must:
 *
 * - `connect-src` allows https: and http:, because a model cell loads model and tokenizer files
 *   from the URLs the user types (`?model=…` too); fetched bytes are data, never code.
 * - `img-src` allows https: so that remote images in markdown can load once the user allows them.
 *   Until then the markdown renderer does not emit them at all (app/cells/markdown/render-markdown.ts):
 *   a page cannot loosen its own meta policy without a reload, so the per-notebook toggle lives in
 *   the renderer and this is its ceiling. Remote media, fonts and styles stay forbidden.
 * - In the dev server `connect-src` also allows ws:/wss: for Vite's HMR socket; the script policy is
 *   the same (the dev client is a file from this origin).
 *
 * `frame-ancestors` cannot be set from a meta tag; embed.html is meant to be framed anywhere anyway.
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';

/** The SHA-256 source expressions of the page's inline classic scripts. */
function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  );
}

/**
 * The policy for `html` (its inline scripts are allowed by hash).
 *
 * @example
 * appCsp(readFileSync('app/index.html', 'utf8'), { dev: false });
 * // "default-src 'none'; script-src 'self' 'sha256-…'; …"
 */
export function appCsp(html: string, options: { dev: boolean }): string {
  return [
    "default-src 'none'",
    `script-src ${["'self'", ...inlineScriptHashes(html)].join(' ')}`,
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "media-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' data: blob: https: http:${options.dev ? ' ws: wss:' : ''}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** `html` with the policy as the first element after `<meta charset>`. */
export function withAppCsp(html: string, options: { dev: boolean }): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${appCsp(html, options)}" />`;
  const at = html.indexOf('<meta charset="utf-8" />');
  if (at < 0) throw new Error('app CSP: the page has no <meta charset="utf-8" /> to put the policy after');
  const end = at + '<meta charset="utf-8" />'.length;
  return `${html.slice(0, end)}\n    ${meta}${html.slice(end)}`;
}

/** Vite plugin: the policy in every page the app serves or builds (index.html and embed.html). */
export function appCspPlugin(): Plugin {
  let dev = false;
  return {
    name: 'sparsebook-app-csp',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml: {
      // After every other transform, so the hashes are of the inline scripts as served.
      order: 'post',
      handler: (html) => withAppCsp(html, { dev }),
    },
  };
}
