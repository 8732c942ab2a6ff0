/**
 * Markdown → sanitized HTML. Sources are untrusted (shared links, opened files): marked renders
 * GitHub-flavoured markdown, DOMPurify removes scripts, event handlers, javascript: URLs, forms
 * and styles; links open in a new tab without an opener. Never eval'd, never trusted raw HTML.
 *
 * Remote images (and any other resource on another origin that an element would load by itself:
 * `src`, `srcset`, `poster`, `background`) are blocked unless the caller allows them: the attribute
 * is removed and the URL kept in `data-blocked-src`, so merely opening a shared notebook cannot
 * tell a third party who opened it. The page's Content-Security-Policy backs this up (no remote
 * scripts, media, frames or styles at all).
 */
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const marked = new Marked({ gfm: true, breaks: false, async: false });

/** Attributes whose URL the browser fetches on its own as the element renders. */
const FETCHED = ['src', 'srcset', 'poster', 'background'] as const;

/** What the running sanitize call collects (DOMPurify hooks are global; calls are synchronous). */
let pass: { allowRemote: boolean; blocked: string[] } | undefined;

/** True when `url` (as written in an attribute) would load from another origin. */
export function isRemoteUrl(url: string, base: string = document.baseURI): boolean {
  let resolved: URL;
  try {
    resolved = new URL(url.trim(), base);
  } catch {
    return false; // unparseable: the browser will not fetch it either
  }
  if (resolved.protocol === 'data:' || resolved.protocol === 'blob:') return false;
  return resolved.origin !== new URL(base).origin;
}

/** The URLs of a `srcset` value (`a.png 1x, b.png 2x`). */
function srcsetUrls(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim().split(/\s+/)[0] ?? '')
    .filter((u) => u !== '');
}

let hooked = false;
function purifier(): typeof DOMPurify {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node instanceof HTMLAnchorElement && node.hasAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
      if (!pass || pass.allowRemote || !(node instanceof Element)) return;
      for (const name of FETCHED) {
        const value = node.getAttribute(name);
        if (value === null) continue;
        const urls = name === 'srcset' ? srcsetUrls(value) : [value];
        const remote = urls.filter((u) => isRemoteUrl(u));
        if (remote.length === 0) continue;
        node.removeAttribute(name);
        node.setAttribute('data-blocked-src', remote[0]!);
        pass.blocked.push(...remote);
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

/** Options for {@link renderMarkdownView}. */
export interface MarkdownOptions {
  /** Load images (and other resources) from other origins. Default false. */
  remoteImages?: boolean;
}

/** Sanitized HTML and the remote URLs it would have loaded but does not. */
export interface RenderedMarkdown {
  html: string;
  blocked: string[];
}

/**
 * Render `source` to HTML that is safe to assign to innerHTML, listing blocked remote URLs.
 *
 * @example
 * const { html, blocked } = renderMarkdownView('![x](https://example.com/x.png)');
 * // html has <img data-blocked-src="https://example.com/x.png">, blocked = ['https://example.com/x.png']
 */
export function renderMarkdownView(source: string, options: MarkdownOptions = {}): RenderedMarkdown {
  const html = marked.parse(source) as string;
  const sanitizer = purifier();
  pass = { allowRemote: options.remoteImages ?? false, blocked: [] };
  try {
    const clean = sanitizer.sanitize(html, {
      USE_PROFILES: { html: true },
      FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
      FORBID_ATTR: ['style'],
    });
    return { html: clean, blocked: pass.blocked };
  } finally {
    pass = undefined;
  }
}

/** Render `source` to HTML that is safe to assign to innerHTML (remote images blocked unless allowed). */
export function renderMarkdown(source: string, options: MarkdownOptions = {}): string {
  return renderMarkdownView(source, options).html;
}
