/**
 * onnxruntime-web's webgpu EP inside Chromium (the speed peer of `bench:forward -- --peer ort`,
 * there run in Node on Dawn): stories260K's ONNX export, built in the page, runs on ORT's WebGPU
 * and matches Sparsebook's WebGPU and CPU logits within 1e-3 — so the peer also works where the
 * app runs.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend } from '../../kernels/webgpu-backend';
import { loadLlama2c } from '../../runtime';
import { modelGraph } from '../../tools/onnx/model-graph';
import { maxAbsDiff } from '../kernels/harness';
import { fetchShared } from './shared-files';

ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
ort.env.wasm.numThreads = 1;

const TOKENS = 24;

describe('onnxruntime-web webgpu EP in Chromium', () => {
  it('stories260K: ORT webgpu logits match Sparsebook WebGPU and CPU within 1e-3', async () => {
    const [bin, tok] = await Promise.all([
      fetchShared('models/stories260K/stories260K.bin'),
      fetchShared('models/stories260K/tok512.bin'),
    ]);
    const tokens = Array.from({ length: TOKENS }, (_, i) => (i * 131 + 7) % 512);
    const session = await ort.InferenceSession.create(
      modelGraph({ format: 'llama2c', name: 'stories260K.bin', checkpoint: new Uint8Array(bin) }, TOKENS),
      { executionProviders: ['webgpu'] },
    );
    let theirs: Float32Array;
    try {
      const ids = BigInt64Array.from(tokens, (t) => BigInt(t));
      const { logits } = await session.run({ tokens: new ort.Tensor('int64', ids, [TOKENS]) });
      theirs = Float32Array.from((await logits!.getData()) as Float32Array);
    } finally {
      await session.release();
    }
    const ours: Float32Array[] = [];
    for (const backend of [await createWebGpuBackend(), createCpuBackend()]) {
      const { model } = await loadLlama2c(backend, bin, 'stories260K.bin', tok, 'tok512.bin');
      const out = await model.forward(tokens);
      ours.push(Float32Array.from(await backend.read(out)));
      backend.dispose(out);
      model.dispose();
      backend.destroy();
    }
    const [gpu, cpu] = ours.map((o) => maxAbsDiff(o, theirs).diff);
    console.log(`stories260K, ORT webgpu in Chromium: max |Δlogit| vs ours webgpu ${gpu}, cpu ${cpu}`);
    expect(theirs.reduce((a, b) => Math.max(a, b)) - theirs.reduce((a, b) => Math.min(a, b))).toBeGreaterThan(
      1,
    );
    expect(gpu).toBeLessThan(1e-3);
    expect(cpu).toBeLessThan(1e-3);
  });
});
