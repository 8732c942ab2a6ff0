/**
 * Markdown cells render untrusted text (shared links, opened files): scripts, event handlers,
 * javascript: URLs, iframes, forms and styles must not survive; ordinary markdown must.
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../app/cells/markdown/render-markdown';

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
});
