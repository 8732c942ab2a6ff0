/**
 * The page of `bench/forward-chromium.ts`: the forward benchmark's four engines inside Chromium —
 * Sparsebook CPU (WebAssembly kernels), Sparsebook WebGPU, onnxruntime-web wasm (the CPU
 * backend's thread count) and webgpu — on the same tokens of stories260K,
 * fetched from the dev server. `window.runForwardBench` returns the JSON object the Node side
 * prints.
 */
import * as ortWasm from 'onnxruntime-web';
import * as ortGpu from 'onnxruntime-web/webgpu';
import type { Backend } from '../../kernels/backend';
import { createFastCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend } from '../../kernels/webgpu-backend';
import { buildTokenStream, loadLlama2c } from '../../runtime';
import { modelGraph } from '../../tools/onnx/model-graph';

export interface PageOptions {
  sharedUrl: string;
  tokens: number;
  reps: number;
  threads: number;
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

async function timeBest(reps: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const rate = (n: number, ms: number) => ({
  tokens: n,
  ms: +ms.toFixed(1),
  tokens_per_s: +((n / ms) * 1000).toFixed(1),
});
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d;
  }
  return m;
}

async function runForwardBench(o: PageOptions): Promise<Record<string, unknown>> {
  const [bin, tok, text] = await Promise.all([
    fetchBytes(`${o.sharedUrl}/models/stories260K/stories260K.bin`),
    fetchBytes(`${o.sharedUrl}/models/stories260K/tok512.bin`),
    fetchBytes(`${o.sharedUrl}/data/tinystories-valid-1000.txt`),
  ]);
  const result: Record<string, unknown> = {
    bench: 'forward',
    where: 'chromium',
    model: 'stories260K.bin',
    cross_origin_isolated: crossOriginIsolated,
  };
  let tokens: number[] = [];
  let cpuLogits: Float32Array | undefined;
  // The threads the CPU backend really got: on a page's main thread Atomics.wait is not allowed,
  // so its pool is one thread there (the app runs it in a worker). ORT wasm gets the same count.
  let cpuThreads = 1;
  for (const kind of ['cpu', 'webgpu'] as const) {
    let backend: Backend | undefined;
    try {
      backend =
        kind === 'cpu' ? await createFastCpuBackend({ threads: o.threads }) : await createWebGpuBackend();
      const { model, tokenizer } = await loadLlama2c(backend, bin, 'stories260K.bin', tok, 'tok512.bin');
      tokens = Array.from(
        buildTokenStream(tokenizer, new TextDecoder().decode(text)).tokens.slice(0, o.tokens),
      );
      const b = backend;
      const ms = await timeBest(o.reps, async () => {
        const out = await model.forward(tokens);
        const values = await b.read(out);
        if (kind === 'cpu') cpuLogits = Float32Array.from(values);
        b.dispose(out);
      });
      if (kind === 'cpu') cpuThreads = Number(/(\d+) threads?\)/.exec(backend.description)?.[1] ?? 1);
      result[kind] = {
        device: backend.description,
        ...(kind === 'cpu' ? { threads: cpuThreads } : {}),
        ...rate(tokens.length, ms),
      };
      model.dispose();
    } catch (e) {
      result[kind] = { error: message(e) };
    } finally {
      backend?.destroy();
    }
  }
  const graph = modelGraph(
    { format: 'llama2c', name: 'stories260K.bin', checkpoint: new Uint8Array(bin) },
    tokens.length,
  );
  ortWasm.env.wasm.numThreads = cpuThreads;
  for (const [name, ort, ep] of [
    ['ort_wasm', ortWasm, 'wasm'],
    ['ort_webgpu', ortGpu, 'webgpu'],
  ] as const) {
    try {
      ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
      const session = await ort.InferenceSession.create(graph, { executionProviders: [ep] });
      const ids = new ort.Tensor(
        'int64',
        BigInt64Array.from(tokens, (t) => BigInt(t)),
        [tokens.length],
      );
      let logits: Float32Array | undefined;
      const ms = await timeBest(o.reps, async () => {
        const r = await session.run({ tokens: ids });
        logits = (await r.logits!.getData()) as Float32Array;
      });
      await session.release();
      result[name] = { ep, ...(ep === 'wasm' ? { threads: cpuThreads } : {}), ...rate(tokens.length, ms) };
      if (cpuLogits && logits)
        result[`${name}_max_abs_diff`] = +maxAbsDiff(cpuLogits, logits).toExponential(2);
    } catch (e) {
      result[name] = { ep, error: message(e) };
    }
  }
  const tps = (n: string) => (result[n] as { tokens_per_s?: number } | undefined)?.tokens_per_s;
  const ratio = (a: string, b: string) => (tps(a) && tps(b) ? +(tps(a)! / tps(b)!).toFixed(3) : null);
  result.ratios = {
    cpu_over_ort_wasm: ratio('cpu', 'ort_wasm'),
    webgpu_over_ort_webgpu: ratio('webgpu', 'ort_webgpu'),
  };
  result.oracle_max_abs_diff = (result.ort_wasm_max_abs_diff as number | undefined) ?? null;
  delete result.ort_wasm_max_abs_diff;
  return result;
}

(window as unknown as { runForwardBench: typeof runForwardBench }).runForwardBench = runForwardBench;
