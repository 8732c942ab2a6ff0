/**
 * The matmul autotune's choices (kernels/matmul-autotune.ts), cached per adapter and shape class:
 * in memory, and through a `TuneStore` that outlives the page or process — `localStorage` in a
 * browser by default, a JSON file in Node (cli/matmul-tune-store.ts installs it). matmul.ts reads
 * the choice on every dispatch; a miss falls back to its fixed rule.
 *
 * Keys are `adapter|class`: the adapter as `vendor/architecture/device/description` from its
 * GPUAdapterInfo, the class as the transposes, b's dtype, power-of-two buckets of M, K and N, and
 * whether K and N are multiples of 4 (what the vec4 kernel needs).
 */
import type { MatmulShape, MatmulVariant } from './matmul';

/** Where choices persist between runs. */
export interface TuneStore {
  load(): Record<string, MatmulVariant>;
  save(entries: Record<string, MatmulVariant>): void;
}

const LOCAL_STORAGE_KEY = 'sparsebook.matmul-tune.v1';

/** The browser's store: one localStorage entry (none where localStorage is missing or refuses). */
export function localStorageStore(): TuneStore | undefined {
  const ls = (globalThis as { localStorage?: Storage }).localStorage;
  if (!ls) return undefined;
  return {
    load: () => {
      try {
        return JSON.parse(ls.getItem(LOCAL_STORAGE_KEY) ?? '{}') as Record<string, MatmulVariant>;
      } catch {
        return {};
      }
    },
    save: (entries) => {
      try {
        ls.setItem(LOCAL_STORAGE_KEY, JSON.stringify(entries));
      } catch {
        // Quota or privacy mode: the choice still holds for this page.
      }
    },
  };
}

let store: TuneStore | undefined = localStorageStore();
let memory: Map<string, MatmulVariant> | undefined;

/** Replace the persistent store (Node: a file; tests: a fake; undefined: memory only). Clears memory. */
export function setMatmulTuneStore(s: TuneStore | undefined): void {
  store = s;
  memory = undefined;
}

function entries(): Map<string, MatmulVariant> {
  memory ??= new Map(Object.entries(store?.load() ?? {}));
  return memory;
}

const keys = new WeakMap<GPUDevice, string>();

/** `vendor/architecture/device/description` of the device's adapter (looked up on every matmul). */
export function adapterKey(device: GPUDevice): string {
  let key = keys.get(device);
  if (key === undefined) {
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    key = [info?.vendor, info?.architecture, info?.device, info?.description].map((s) => s || '-').join('/');
    keys.set(device, key);
  }
  return key;
}

const bucket = (x: number) => (x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x)));

/** The class a shape is tuned for (shapes of one class share a choice). */
export function shapeClass(s: MatmulShape): string {
  const m = s.m < 4 ? 'lt4' : String(Math.min(bucket(s.m), 4096));
  return [
    s.transposeA ? 'at' : 'a',
    s.transposeB ? 'bt' : 'b',
    s.bType,
    `m${m}`,
    `k${Math.min(bucket(s.k), 16384)}`,
    `n${Math.min(bucket(s.n), 65536)}`,
    s.k % 4 === 0 ? 'k4' : 'k1',
    s.n % 4 === 0 ? 'n4' : 'n1',
  ].join(':');
}

/** The cached choice for this adapter and the shape's class, if any. */
export function tunedMatmulVariant(device: GPUDevice, shape: MatmulShape): MatmulVariant | undefined {
  return entries().get(`${adapterKey(device)}|${shapeClass(shape)}`);
}

/** Remember a choice in memory and in the store. */
export function recordMatmulChoice(device: GPUDevice, shape: MatmulShape, variant: MatmulVariant): void {
  const all = entries();
  all.set(`${adapterKey(device)}|${shapeClass(shape)}`, variant);
  store?.save(Object.fromEntries(all));
}

/** Every cached choice (for reports). */
export function matmulChoices(): Record<string, MatmulVariant> {
  return Object.fromEntries(entries());
}

let recorder: Map<string, MatmulShape> | undefined;

/** Called by matmul.ts on each dispatch: notes the shape while `recordMatmulShapes` runs. */
export function noteMatmulShape(shape: MatmulShape): void {
  recorder?.set(JSON.stringify(shape), shape);
}

/** The distinct matmul shapes `run` dispatches (e.g. one forward pass), in first-seen order. */
export async function recordMatmulShapes(run: () => Promise<unknown>): Promise<MatmulShape[]> {
  const outer = recorder;
  recorder = new Map();
  try {
    await run();
    return [...recorder.values()];
  } finally {
    recorder = outer;
  }
}
