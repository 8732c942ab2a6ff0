/**
 * Shared by the chart browser tests: theme containers built from app/styles.css (so dark-mode
 * screenshots use the app's real tokens), PNG screenshots into test-artifacts/charts/, markup
 * serialisation for snapshots, and pointer-event helpers.
 */
import { page } from 'vitest/browser';
// The app's real tokens: light by default, dark under <html data-theme="dark"> (see app/theme.ts).
import '../../../app/styles.css';

export type ThemeName = 'light' | 'dark';

/** A card-like container on the page holding `el`, with the page in `theme`. */
export function mount(el: Element, theme: ThemeName = 'light', width = 640): HTMLElement {
  document.documentElement.dataset.theme = theme;
  const box = document.createElement('div');
  Object.assign(box.style, {
    background: 'var(--surface)',
    color: 'var(--text)',
    padding: '16px',
    width: `${width}px`,
    display: 'block',
  });
  box.append(el);
  document.body.append(box);
  return box;
}

/** Remove everything the test mounted. */
export function clearPage(): void {
  document.body.replaceChildren();
  delete document.documentElement.dataset.theme;
}

/**
 * Screenshot `el` to test-artifacts/charts/<name>.png for people to look at. Vitest scales the test
 * iframe down when it is taller than the runner's 720 px window, which would shrink the PNG, so
 * the viewport stays within it, everything else on the page is hidden during the shot, and the
 * PNG's width is checked against the element's.
 */
export async function shoot(el: HTMLElement, name: string): Promise<void> {
  await page.viewport(960, 720);
  const others = [...document.body.children].filter(
    (c): c is HTMLElement => c !== el && c instanceof HTMLElement,
  );
  const shown = others.map((c) => c.style.display);
  others.forEach((c) => (c.style.display = 'none'));
  await nextFrame();
  try {
    const shot = await page.screenshot({
      element: el,
      path: `../../../test-artifacts/charts/${name}.png`,
      base64: true,
    });
    const png = Uint8Array.from(atob(shot.base64.slice(0, 64)), (c) => c.charCodeAt(0));
    const width = new DataView(png.buffer).getUint32(16); // IHDR width
    if (width !== Math.round(el.getBoundingClientRect().width)) {
      throw new Error(
        `screenshot ${name} is ${width} px wide, the element ${el.getBoundingClientRect().width}: the iframe was scaled`,
      );
    }
  } finally {
    others.forEach((c, i) => (c.style.display = shown[i]!));
  }
}

export function nextFrame(): Promise<void> {
  return new Promise((r) => requestAnimationFrame(() => r()));
}

/** Indented markup, one element per line, for readable snapshot diffs. */
export function pretty(node: Node, depth = 0): string {
  const pad = '  '.repeat(depth);
  if (node.nodeType === Node.TEXT_NODE) {
    const t = node.textContent!.trim();
    return t ? `${pad}${t}\n` : '';
  }
  if (!(node instanceof Element)) return '';
  const tag = node.tagName.toLowerCase();
  const attrs = [...node.attributes].map((a) => ` ${a.name}="${a.value.replace(/"/g, '&quot;')}"`).join('');
  const kids = [...node.childNodes].map((c) => pretty(c, depth + 1)).join('');
  return kids ? `${pad}<${tag}${attrs}>\n${kids}${pad}</${tag}>\n` : `${pad}<${tag}${attrs}></${tag}>\n`;
}

/** FNV-1a hash of pixel bytes, hex. */
export function pixelHash(bytes: Uint8ClampedArray): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Average colour of an n×n grid over a canvas, as `#rrggbb` strings (a coarse, robust signature). */
export function signature(canvas: HTMLCanvasElement, n = 8): string[] {
  const { width: w, height: h } = canvas;
  const px = canvas.getContext('2d')!.getImageData(0, 0, w, h).data;
  const out: string[] = [];
  for (let gy = 0; gy < n; gy++) {
    for (let gx = 0; gx < n; gx++) {
      const acc = [0, 0, 0];
      let count = 0;
      for (let y = Math.floor((gy * h) / n); y < Math.floor(((gy + 1) * h) / n); y++) {
        for (let x = Math.floor((gx * w) / n); x < Math.floor(((gx + 1) * w) / n); x++) {
          const i = (y * w + x) * 4;
          for (let c = 0; c < 3; c++) acc[c]! += px[i + c]!;
          count++;
        }
      }
      out.push(
        `#${acc
          .map((v) =>
            Math.round(v / count)
              .toString(16)
              .padStart(2, '0'),
          )
          .join('')}`,
      );
    }
  }
  return out;
}

/** Dispatch a pointer/mouse event at a point inside `el` given in element CSS px. */
export function pointAt(el: Element, type: string, x: number, y: number, init: PointerEventInit = {}): void {
  const r = el.getBoundingClientRect();
  const Ctor = type === 'wheel' ? WheelEvent : type === 'dblclick' ? MouseEvent : PointerEvent;
  el.dispatchEvent(
    new Ctor(type, {
      bubbles: true,
      cancelable: true,
      clientX: r.left + x,
      clientY: r.top + y,
      pointerId: 1,
      button: 0,
      ...init,
    }),
  );
}
