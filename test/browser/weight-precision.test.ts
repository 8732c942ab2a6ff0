/**
 * The precision policy on WebGPU (README "Precision"), in Chromium: BF16 weights stay 16-bit on
 * the device (decoded in the kernels), the model reports which path ran, including whether the
 * adapter has shader-f16 (not needed; SwiftShader has none; nothing is skipped), and a transferred
 * load keeps no host copy of the weights. Plus `adoptTensor` on both backends.
 */
import { fetchRepoFile } from './shared-files';
import { describe, expect, it } from 'vitest';
import { cpu } from '../../kernels/cpu-tensor';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { LlamaModel } from '../../runtime/model/llama';
import { fixtureLogits, readArchFixture } from '../helpers/arch-fixtures';
import { maxAbsDiff, webGpuSuite } from '../kernels/harness';
import { weightLength } from '../../kernels/weight-dtype';

const read = fetchRepoFile;

describe('weight precision on WebGPU', () => {
  const webgpu = webGpuSuite();

  it('reports whether the device has shader-f16, as the adapter offers it', async () => {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    expect(adapter).not.toBeNull();
    const offered = adapter!.features.has('shader-f16');
    const gpu = webgpu();
    expect(gpu.weightPrecision).toEqual({ storage: 'as stored', shaderF16: offered });
    expect(gpu.ctx.device.features.has('shader-f16')).toBe(offered);
    console.log(`adapter ${gpu.description}: shader-f16 ${offered ? 'available' : 'absent'}`);
  });

  it('a BF16 checkpoint: bf16 weights on the device, the path reported, no host copy kept, the reference logits', async () => {
    const f = await readArchFixture('qwen3', read);
    expect(f.checkpoint.storedDtypes).toEqual(['BF16']);
    const gpu = webgpu();
    const weights = f.checkpoint.weights;
    const model = LlamaModel.load(gpu, f.checkpoint, { transfer: true });
    try {
      const expected = gpu.weightPrecision.shaderF16
        ? 'bf16 (kept 16-bit, decoded in the kernels; norms and biases f32); shader-f16 available (not needed)'
        : 'bf16 (kept 16-bit, decoded in the kernels; norms and biases f32); no shader-f16 on this adapter (not needed)';
      expect(model.weightPrecision).toEqual({ stored: ['BF16'], held: ['bf16'], path: expected });
      expect(model.weight(0, 'wq').dtype).toBe('bf16');
      // Handed over: the host arrays are gone from the checkpoint once uploaded.
      expect(weightLength(weights.tokEmbeddings)).toBe(0);
      expect(weights.layers.every((l) => weightLength(l.wq) === 0 && weightLength(l.w1) === 0)).toBe(true);
      const logits = await gpu.ctx.checked(() => fixtureLogits(model, f.tokens));
      expect(maxAbsDiff(logits, f.logits).diff).toBeLessThanOrEqual(1e-3);
    } finally {
      model.dispose();
    }
  });

  it('an F32 checkpoint reports no conversion', async () => {
    const f = await readArchFixture('gpt2', read);
    const gpu = webgpu();
    const model = LlamaModel.load(gpu, f.checkpoint);
    try {
      expect(model.weightPrecision.stored).toEqual(f.checkpoint.storedDtypes);
      const converted = f.checkpoint.storedDtypes.filter((d) => d !== 'F32');
      expect(model.weightPrecision.path.startsWith(converted.length ? 'f16' : 'f32 (stored f32)')).toBe(true);
      expect(model.weightPrecision.path).toMatch(
        /; (no shader-f16 on this adapter|shader-f16 available) \(not needed\)/,
      );
    } finally {
      model.dispose();
    }
  });
});

describe('adoptTensor', () => {
  const webgpu = webGpuSuite();
  const data = () => Float32Array.from({ length: 37 }, (_, i) => i * 0.5 - 3);

  it('[cpu] keeps the handed-over array itself; tensor() still copies', async () => {
    const b = createCpuBackend();
    const d = data();
    const adopted = b.adoptTensor(d, [37]);
    expect(cpu(adopted).data === d).toBe(true);
    const copied = b.tensor(d, [37]);
    expect(cpu(copied).data === d).toBe(false);
    expect(await b.read(adopted)).toEqual(data());
    expect(b.weightPrecision).toEqual({ storage: 'as stored', shaderF16: false });
    expect(() => b.adoptTensor(d, [36])).toThrow(/37 elements but shape \[36\] needs 36/);
  });

  it('[webgpu] uploads at once: the host array can be dropped or reused', async () => {
    const gpu = webgpu();
    const d = data();
    const t = gpu.adoptTensor(d, [37]);
    d.fill(99); // the upload already copied the values
    expect(await gpu.read(t)).toEqual(data());
    const ids = gpu.adoptTensor(Int32Array.of(3, 1, 2), [3]);
    expect(ids.dtype).toBe('i32');
    expect(await gpu.read(ids)).toEqual(Int32Array.of(3, 1, 2));
    gpu.dispose(t, ids);
  });
});
