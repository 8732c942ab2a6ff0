/**
 * Pointer and keyboard input for a zoomable view: wheel zooms around the cursor, drag pans,
 * double-click resets; with focus, +/− zoom around the centre, arrows pan (Shift: farther),
 * 0 or Home reset. Pure view arithmetic comes from heatmap-view.ts.
 */
import { IDENTITY, panBy, zoomAt, type Frame, type View } from './heatmap-view';

/** What the input drives. */
export interface ViewTarget {
  el: HTMLElement;
  frame(): Frame;
  view(): View;
  moveTo(v: View): void;
  /** Pointer position in plot CSS px, or null when it leaves. */
  hover(p: { px: number; py: number } | null): void;
}

/**
 * Wire the listeners; aborting `signal` removes them all.
 *
 * @example attachViewInput({ el: canvas, frame: () => f, view: () => v, moveTo, hover }, ac.signal);
 */
export function attachViewInput(t: ViewTarget, signal: AbortSignal): void {
  const { el } = t;
  const on = { signal };
  // Plot px per client px: the element may be scaled by CSS.
  const scale = () => t.frame().w / (el.getBoundingClientRect().width || t.frame().w);
  const local = (e: MouseEvent) => {
    const r = el.getBoundingClientRect();
    const s = scale();
    return { px: (e.clientX - r.left) * s, py: (e.clientY - r.top) * s };
  };
  let drag: { id: number; x: number; y: number } | null = null;

  el.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const unit = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.002;
      const p = local(e);
      t.moveTo(zoomAt(t.view(), 2 ** (-e.deltaY * unit), p.px, p.py, t.frame()));
    },
    { passive: false, signal },
  );
  el.addEventListener(
    'pointerdown',
    (e) => {
      if (e.button !== 0) return;
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
      el.style.cursor = 'grabbing';
      try {
        el.setPointerCapture(e.pointerId);
      } catch {
        // synthetic events carry no active pointer; dragging still works without capture
      }
    },
    on,
  );
  el.addEventListener(
    'pointermove',
    (e) => {
      if (drag && e.pointerId === drag.id) {
        const s = scale();
        t.moveTo(panBy(t.view(), (e.clientX - drag.x) * s, (e.clientY - drag.y) * s, t.frame()));
        drag.x = e.clientX;
        drag.y = e.clientY;
      }
      t.hover(local(e));
    },
    on,
  );
  const endDrag = () => {
    drag = null;
    el.style.cursor = 'grab';
  };
  el.addEventListener('pointerup', endDrag, on);
  el.addEventListener('pointercancel', endDrag, on);
  el.addEventListener('pointerleave', () => t.hover(null), on);
  el.addEventListener('dblclick', () => t.moveTo(IDENTITY), on);
  el.addEventListener(
    'keydown',
    (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const f = t.frame();
      const v = t.view();
      const step = (e.shiftKey ? 0.5 : 0.125) * Math.min(f.w, f.h);
      const zoom = (k: number) => zoomAt(v, k, f.w / 2, f.h / 2, f);
      const keys: Record<string, () => View> = {
        '+': () => zoom(1.5),
        '=': () => zoom(1.5),
        '-': () => zoom(1 / 1.5),
        _: () => zoom(1 / 1.5),
        ArrowLeft: () => panBy(v, step, 0, f),
        ArrowRight: () => panBy(v, -step, 0, f),
        ArrowUp: () => panBy(v, 0, step, f),
        ArrowDown: () => panBy(v, 0, -step, f),
        '0': () => IDENTITY,
        Home: () => IDENTITY,
      };
      const next = keys[e.key];
      if (!next) return;
      e.preventDefault();
      t.moveTo(next());
    },
    on,
  );
}
