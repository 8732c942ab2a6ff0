/**
 * Markdown cells render untrusted text (shared links, opened files): scripts, event handlers,
 * javascript: URLs, iframes, forms and styles must not survive; ordinary markdown must.
 */
import { describe, expect, it } from 'vitest';
import { isRemoteUrl, renderMarkdown, renderMarkdownView } from '../../app/cells/markdown/render-markdown';

function render(source: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = renderMarkdown(source);
  return div;
}

describe('renderMarkdown', () => {
  it('renders headings, emphasis, lists, code, tables and links', () => {
    const el = render(
      '# Title\n\nSome *em* and **strong**.\n\n- a\n- b\n\n`code`\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n[site](https://example.com)',
    );
    expect(el.querySelector('h1')?.textContent).toBe('Title');
    expect(el.querySelector('em')?.textContent).toBe('em');
    expect(el.querySelectorAll('li')).toHaveLength(2);
    expect(el.querySelector('code')?.textContent).toBe('code');
    expect(el.querySelector('table td')?.textContent).toBe('1');
    const a = el.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://example.com');
    expect(a.getAttribute('target')).toBe('_blank');
    expect(a.getAttribute('rel')).toMatch(/noopener/);
  });

  it.each([
    ['script tag', '<script>window.__pwned = 1</script>hello', 'script'],
    ['event handler', '<img src="x" onerror="window.__pwned = 1">', '[onerror]'],
    ['javascript: link', '[click](javascript:window.__pwned=1)', 'a[href^="javascript"]'],
    ['raw javascript: link', '<a href="javascript:alert(1)">x</a>', 'a[href^="javascript"]'],
    ['iframe', '<iframe src="https://example.com"></iframe>', 'iframe'],
    ['form', '<form action="https://example.com"><input name="p"></form>', 'form, input'],
    ['style', '<style>body { display: none }</style><p style="color: red">x</p>', 'style, [style]'],
    ['svg script', '<svg><script>window.__pwned = 1</script></svg>', 'script'],
  ])('removes %s', (_name, source, selector) => {
    const el = render(source);
    expect(el.querySelector(selector)).toBeNull();
    document.body.append(el);
    el.remove();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  describe('remote images', () => {
    const source = [
      '![pixel](https://tracker.example/pixel.png)',
      '<img src="//cdn.example/a.png" alt="a">',
      '<img srcset="local.png 1x, https://cdn.example/b.png 2x" alt="b">',
      '<video poster="https://cdn.example/p.jpg" src="https://cdn.example/v.mp4"></video>',
      '<table><tr><td background="https://cdn.example/bg.png">x</td></tr></table>',
      '![local](figures/plot.png) ![inline](data:image/gif;base64,R0lGODlhAQABAAAAACw=)',
    ].join('\n\n');

    it('are not emitted until allowed: the URL is kept aside, nothing would load it', () => {
      const { html, blocked } = renderMarkdownView(source);
      expect(blocked).toEqual([
        'https://tracker.example/pixel.png',
        '//cdn.example/a.png',
        'https://cdn.example/b.png',
        'https://cdn.example/v.mp4',
        'https://cdn.example/p.jpg',
        'https://cdn.example/bg.png',
      ]);
      const el = render(source);
      expect(el.innerHTML).toBe(html);
      const fetching = [...el.querySelectorAll('[src], [srcset], [poster], [background]')].flatMap((e) =>
        ['src', 'srcset', 'poster', 'background'].map((a) => e.getAttribute(a) ?? ''),
      );
      expect(fetching.filter((u) => /example/.test(u))).toEqual([]);
      expect(el.querySelector('img[alt="pixel"]')!.getAttribute('data-blocked-src')).toBe(
        'https://tracker.example/pixel.png',
      );
      // Same-origin and inline images are not remote.
      expect(el.querySelector('img[alt="local"]')!.getAttribute('src')).toBe('figures/plot.png');
      expect(el.querySelector('img[alt="inline"]')!.getAttribute('src')).toMatch(/^data:image\/gif/);
    });

    it('load once allowed', () => {
      const { html, blocked } = renderMarkdownView(source, { remoteImages: true });
      expect(blocked).toEqual([]);
      const el = document.createElement('div');
      el.innerHTML = html;
      expect(el.querySelector('img[alt="pixel"]')!.getAttribute('src')).toBe(
        'https://tracker.example/pixel.png',
      );
      expect(el.querySelector('[data-blocked-src]')).toBeNull();
      expect(renderMarkdown(source, { remoteImages: true })).toBe(html);
    });

    it('tells remote URLs from local ones', () => {
      const base = 'https://app.example/sparsebook/';
      expect(isRemoteUrl('https://other.example/x.png', base)).toBe(true);
      expect(isRemoteUrl('//other.example/x.png', base)).toBe(true);
      expect(isRemoteUrl('http://app.example/x.png', base)).toBe(true); // another origin (scheme)
      expect(isRemoteUrl('x.png', base)).toBe(false);
      expect(isRemoteUrl('/x.png', base)).toBe(false);
      expect(isRemoteUrl('https://app.example/y.png', base)).toBe(false);
      expect(isRemoteUrl('data:image/png;base64,AAAA', base)).toBe(false);
      expect(isRemoteUrl('blob:https://app.example/1234', base)).toBe(false);
    });
  });
});
