/**
 * bench/heatmap-frame: frame time of the canvas heatmap on a 2048×2048 matrix through a sequence
 * of zoom and pan steps, in headless Chromium, against peers measured in the same run on the same
 * views: rebuilding an ImageData of the visible cells every frame, and (on an evenly spaced subset
 * of the views, since it takes seconds per frame zoomed out) a fillRect per visible cell.
 * Prints one JSON line.
 *
 *   node --import ./cli/register.mjs bench/heatmap-frame.ts [--size 2048 --width 800 --dpr 1 --steps 120]
 *
 * A frame is the interval between consecutive requestAnimationFrame callbacks with one view change
 * per frame; Chromium runs with vsync and the frame-rate limit off, so the interval is the frame's
 * real cost (script + raster + composite) rather than a 16.7 ms tick (a frame that changes
 * nothing still ticks at ~60 Hz, so only frames that draw are measured). `script_*` is the
 * synchronous part alone.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build, type Rollup } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/chromium';

const { values: f } = parseArgs({
  options: {
    size: { type: 'string', default: '2048' },
    width: { type: 'string', default: '800' },
    dpr: { type: 'string', default: '1' },
    steps: { type: 'string', default: '120' },
    'slow-steps': { type: 'string', default: '12' },
  },
});
const opts = {
  size: Number(f.size),
  width: Number(f.width),
  dpr: Number(f.dpr),
  steps: Number(f.steps),
  slow: Number(f['slow-steps']),
};

// The charts as one script for the page (the same source the app bundles).
const root = path.resolve(import.meta.dirname, '..');
const bundled = (await build({
  configFile: false,
  root,
  logLevel: 'silent',
  build: {
    write: false,
    minify: false,
    lib: { entry: path.join(root, 'app/charts/index.ts'), formats: ['iife'], name: 'Charts' },
  },
})) as Rollup.RollupOutput | Rollup.RollupOutput[];
const code = (Array.isArray(bundled) ? bundled[0]! : bundled).output[0].code;

const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  args: [...CHROMIUM_ARGS, '--disable-gpu-vsync', '--disable-frame-rate-limit'],
});
try {
  const page = await browser.newPage({
    viewport: { width: opts.width + 200, height: opts.width + 200 },
    deviceScaleFactor: opts.dpr,
  });
  await page.setContent('<!doctype html><html><body style="margin:0"></body></html>');
  await page.addScriptTag({ content: code });
  // tsx compiles this file keeping function names through a `__name` helper; the serialised
  // runInPage calls it, so the page needs one too.
  await page.evaluate('globalThis.__name = (f) => f');
  const result = await page.evaluate(runInPage, opts);
  console.log(JSON.stringify({ bench: 'heatmap-frame', ...result, browser: browser.version() }));
} finally {
  await browser.close();
}

/** Runs inside Chromium (serialised by playwright: no outside references). */
async function runInPage(o: typeof opts) {
  type View = { k: number; x: number; y: number };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Charts = (window as any).Charts as typeof import('../app/charts/index');
  const { size: n, width: w, dpr } = o;

  // Seeded signed weights with some structure (an LCG, as the test fixtures use).
  let seed = 42;
  const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const data = new Float32Array(n * n);
  for (let i = 0; i < data.length; i++)
    data[i] = rand() - 0.5 + 0.5 * Math.sin(i / n / 40) * Math.cos((i % n) / 60);

  const t0 = performance.now();
  const chart = Charts.heatmapFromMatrix(data, n, n, {
    width: w,
    height: w,
    pixelRatio: dpr,
    scale: 'diverging',
  });
  document.body.append(chart.element);
  const buildMs = performance.now() - t0;
  const canvas = chart.element.querySelector('canvas')!;

  // The view sequence: zoom in to 32× around a drifting point, pan across at 32×, zoom back out
  // around the centre (each view clamped by the chart), so every zoom level gets frames.
  const raw: View[] = [];
  let v: View = { k: 1, x: 0, y: 0 };
  const third = Math.floor(o.steps / 3);
  const r = 32 ** (1 / third);
  for (let i = 0; i < o.steps; i++) {
    if (i < third) {
      const [px, py] = [w * (0.3 + (0.4 * i) / third), w * (0.6 - (0.3 * i) / third)];
      v = { k: v.k * r, x: px - (px - v.x) * r, y: py - (py - v.y) * r };
    } else if (i < 2 * third) v = { k: v.k, x: v.x - w * 0.25, y: v.y + w * 0.1 * Math.sin(i) };
    else v = { k: v.k / r, x: w / 2 - (w / 2 - v.x) / r, y: w / 2 - (w / 2 - v.y) / r };
    chart.setView(v);
    v = chart.view();
    raw.push(v);
  }
  chart.setView({ k: 1, x: 0, y: 0 });

  const scale = Charts.colorScale('heatmap', { scale: 'diverging' }, data);
  const lut = scale.lut;
  const css = Array.from({ length: 256 }, (_, i) => {
    const p = lut[i]!;
    return `rgb(${p & 255},${(p >>> 8) & 255},${(p >>> 16) & 255})`;
  });
  const ctx = canvas.getContext('2d')!;
  const pw = canvas.width;
  const ph = canvas.height;

  // Peer 1: sample the matrix into a canvas-sized ImageData every frame.
  const perFrameImage = (view: View) => {
    const img = new ImageData(pw, ph);
    const out = new Uint32Array(img.data.buffer);
    const cell = (view.k * w) / n; // CSS px per cell
    for (let y = 0; y < ph; y++) {
      const r = Math.floor((y / dpr - view.y) / cell);
      for (let x = 0; x < pw; x++) {
        const c = Math.floor((x / dpr - view.x) / cell);
        out[y * pw + x] = lut[(scale.t(data[r * n + c]!) * 255 + 0.5) | 0]!;
      }
    }
    ctx.putImageData(img, 0, 0);
  };
  // Peer 2: one fillRect per visible cell.
  const perCellRect = (view: View) => {
    const cell = (view.k * w) / n;
    const c0 = Math.max(0, Math.floor(-view.x / cell));
    const c1 = Math.min(n, Math.ceil((w - view.x) / cell));
    const r0 = Math.max(0, Math.floor(-view.y / cell));
    const r1 = Math.min(n, Math.ceil((w - view.y) / cell));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        ctx.fillStyle = css[(scale.t(data[r * n + c]!) * 255 + 0.5) | 0]!;
        ctx.fillRect(view.x + c * cell, view.y + r * cell, cell, cell);
      }
    }
  };

  const frames = (views: View[], draw: (v: View) => void) =>
    new Promise<{ frame: number[]; script: number[] }>((resolve) => {
      const frame: number[] = [];
      const script: number[] = [];
      let i = -1;
      let prev = 0;
      const tick = (now: number) => {
        if (i >= 0) frame.push(now - prev);
        if (++i >= views.length) return resolve({ frame, script });
        prev = now;
        const s = performance.now();
        draw(views[i]!);
        script.push(performance.now() - s);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return +s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!.toFixed(2);
  };
  const stats = (r: { frame: number[]; script: number[] }) => ({
    frames: r.frame.length,
    median_ms: q(r.frame, 0.5),
    p95_ms: q(r.frame, 0.95),
    script_median_ms: q(r.script, 0.5),
  });

  const subset = Array.from(
    { length: o.slow },
    (_, i) => raw[Math.floor(((i + 0.5) * raw.length) / o.slow)]!,
  );
  await frames(raw, chart.setView); // warm-up
  const mine = await frames(raw, chart.setView);
  const mineSubset = await frames(subset, chart.setView);
  await frames(raw.slice(0, 5), perFrameImage); // warm-up
  const image = await frames(raw, perFrameImage);
  const rects = await frames(subset, perCellRect);

  const chartStats = stats(mine);
  const imageStats = stats(image);
  const subsetStats = stats(mineSubset);
  const rectStats = stats(rects);
  return {
    matrix: `${n}x${n}`,
    canvas_css_px: `${w}x${w}`,
    device_pixel_ratio: dpr,
    build_ms: +buildMs.toFixed(1),
    chart: chartStats,
    imagedata_per_frame: imageStats,
    fillrect_per_cell: { ...rectStats, chart_median_ms_same_views: subsetStats.median_ms },
    imagedata_over_chart: +(imageStats.median_ms / chartStats.median_ms).toFixed(2),
    fillrect_over_chart: +(rectStats.median_ms / subsetStats.median_ms).toFixed(1),
    fillrect_over_chart_p95: +(rectStats.p95_ms / stats(mineSubset).p95_ms).toFixed(1),
    median_under_16ms: chartStats.median_ms < 16,
  };
}
