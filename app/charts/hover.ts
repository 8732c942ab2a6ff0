/**
 * Hover and keyboard reading for charts made of discrete marks (histogram bins, bars): the pointer
 * over a mark, or ←/→/↑/↓ while the chart has focus, selects it; leaving or Escape clears it.
 */

/**
 * @example indexHover(svgNode, hitRects, (i) => readout.set(i === null ? null : describe(i)));
 */
export function indexHover(
  svg: SVGSVGElement,
  hits: readonly Element[],
  show: (i: number | null) => void,
): void {
  let at: number | null = null;
  const select = (i: number | null) => {
    at = i;
    show(i);
  };
  hits.forEach((el, i) => el.addEventListener('pointerenter', () => select(i)));
  svg.addEventListener('pointerleave', () => select(null));
  svg.addEventListener('blur', () => select(null));
  svg.addEventListener('keydown', (e) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (e.key === 'Escape') return select(null);
    if (!step || !hits.length) return;
    e.preventDefault();
    const n = hits.length;
    select(at === null ? (step > 0 ? 0 : n - 1) : Math.min(n - 1, Math.max(0, at + step)));
  });
}
