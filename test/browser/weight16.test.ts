/**
 * 16-bit weights on WebGPU in Chromium: fidelity of F16 / BF16 fixture copies against their
 * float32 conversion (≤ 3e-5) and embeddings split by rows (test/helpers/weight16-suite.ts).
 */
import { fetchRepoFile } from './shared-files';
import { describe, expect, it } from 'vitest';
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { LlamaModel } from '../../runtime/model/llama';
import { fixtureLogits } from '../helpers/arch-fixtures';
import { weight16Suite } from '../helpers/weight16-suite';
import { maxAbsDiff, rng, webGpuSuite } from '../kernels/harness';

const read = fetchRepoFile;

describe('16-bit weights [webgpu]', () => {
  const webgpu = webGpuSuite();
  weight16Suite(webgpu, read, 3e-5, (fn) => webgpu().ctx.checked(fn));
});

describe('16-bit weights in GPU memory [webgpu]', () => {
  const webgpu = webGpuSuite();

  it('an F16 GPT-2-shaped model holds half the GPU bytes of its float32 conversion, exactly its weight bytes, same logits', async () => {
    const [d, layers, vocab, positions] = [512, 2, 32768, 256];
    const r = rng(17);
    const t = (name: string, shape: number[], fill?: number) => ({
      name,
      dtype: 'F16' as const,
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => fill ?? (r() - 0.5) * 0.2),
    });
    const tensors = [t('wte.weight', [vocab, d]), t('wpe.weight', [positions, d])];
    for (let l = 0; l < layers; l++) {
      const h = `h.${l}.`;
      tensors.push(
        t(`${h}ln_1.weight`, [d], 1),
        t(`${h}ln_1.bias`, [d], 0),
        t(`${h}attn.c_attn.weight`, [d, 3 * d]),
        t(`${h}attn.c_attn.bias`, [3 * d], 0),
        t(`${h}attn.c_proj.weight`, [d, d]),
        t(`${h}attn.c_proj.bias`, [d], 0),
        t(`${h}ln_2.weight`, [d], 1),
        t(`${h}ln_2.bias`, [d], 0),
        t(`${h}mlp.c_fc.weight`, [d, 4 * d]),
        t(`${h}mlp.c_fc.bias`, [4 * d], 0),
        t(`${h}mlp.c_proj.weight`, [4 * d, d]),
        t(`${h}mlp.c_proj.bias`, [d], 0),
      );
    }
    tensors.push(t('ln_f.weight', [d], 1), t('ln_f.bias', [d], 0));
    const config = parseHfConfig(
      {
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        n_embd: d,
        n_layer: layers,
        n_head: 8,
        n_positions: positions,
        vocab_size: vocab,
      },
      'config.json',
    );
    const bytes = writeSafetensors(tensors);
    const gpu = webgpu();
    const held = (load: () => LlamaModel) => {
      const before = gpu.ctx.pool.liveBytes;
      const model = load();
      return { model, bytes: gpu.ctx.pool.liveBytes - before };
    };
    const kept = held(() =>
      LlamaModel.load(gpu, hfCheckpoint(config, [parseSafetensors(bytes, 'f16.safetensors')])),
    );
    const wide = held(() =>
      LlamaModel.load(
        gpu,
        hfCheckpoint(config, [parseSafetensors(bytes, 'f16.safetensors')], undefined, { float32: true }),
      ),
    );
    try {
      const params = tensors.reduce((n, x) => n + x.data.length, 0);
      console.log(
        `GPT-2-shaped F16 (${(params / 1e6).toFixed(1)} M parameters) on WebGPU: weight buffers ${(kept.bytes / 1e6).toFixed(1)} MB held 16-bit, ${(wide.bytes / 1e6).toFixed(1)} MB as float32 (${(kept.bytes / wide.bytes).toFixed(3)}×)`,
      );
      // Weights get buffers of their own size: matrices 2 bytes a value, norms and biases 4.
      const vectors = tensors.filter((x) => x.shape.length === 1).reduce((n, x) => n + x.data.length, 0);
      expect(kept.bytes).toBe(2 * (params - vectors) + 4 * vectors);
      expect(wide.bytes).toBe(4 * params);
      expect(kept.bytes / wide.bytes).toBeLessThan(0.502);
      const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 2039 + 5) % vocab);
      const [a, c] = await gpu.ctx.checked(async () => [
        await fixtureLogits(kept.model, tokens),
        await fixtureLogits(wide.model, tokens),
      ]);
      expect(maxAbsDiff(a, c).diff).toBeLessThanOrEqual(3e-5);
    } finally {
      kept.model.dispose();
      wide.model.dispose();
    }
  });
});
