import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { permuteRotary, writeHfCheckpoint } from '../../runtime/formats/hf-write';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { LlamaModel } from '../../runtime/model/llama';
import { hfPermute } from './hf-export';
import { randomWeights, tinyConfig, tinyMoeConfig } from './synthetic';

describe('writeHfCheckpoint', () => {
  it('permutes q/k rows exactly as HF convert_llama_weights_to_hf.py does', () => {
    const w = Float32Array.from({ length: 4 * 8 * 3 }, (_, i) => i);
    expect(Array.from(permuteRotary(w, 4, 8, 3))).toEqual(Array.from(hfPermute(w, 4, 32, 3)));
  });

  for (const shared of [true, false]) {
    it(`round-trips through the HF loader (${shared ? 'tied' : 'separate'} classifier)`, async () => {
      const config = tinyConfig({ sharedClassifier: shared });
      const weights = randomWeights(config, 7);
      const files = writeHfCheckpoint(config, weights, { sparsebook: 'test' });
      const ckpt = hfCheckpoint(parseHfConfig(files.config, 'config.json'), [
        parseSafetensors(files.safetensors, 'model.safetensors'),
      ]);
      expect(ckpt.config).toMatchObject(config);
      // HF keeps q/k rows in rotate_half order, and so does the loaded model.
      const hfLayout = {
        ...weights,
        layers: weights.layers.map((l) => ({
          ...l,
          wq: permuteRotary(l.wq, config.nHeads, config.headDim, config.dim),
          wk: permuteRotary(l.wk, config.nKvHeads, config.headDim, config.dim),
        })),
      };
      expect(ckpt.weights).toEqual(hfLayout);
      // The model reads back the same weights it was loaded with, and computes the same logits.
      const b = createCpuBackend();
      const model = LlamaModel.load(b, ckpt);
      expect(await model.readWeights()).toEqual(hfLayout);
      const meta = LlamaModel.load(b, { config, weights });
      const ids = [1, 5, 9, 2, 7, 3];
      const [x, y] = [await model.forward(ids), await meta.forward(ids)];
      const [a, c] = [await b.read(x), await b.read(y)];
      expect(Math.max(...a.map((v, i) => Math.abs(v - c[i]!)))).toBeLessThan(1e-5);
      meta.dispose();
      expect(Array.from(await model.readWeight(0, 'w2'))).toEqual(Array.from(weights.layers[0]!.w2));
      model.dispose();
    });
  }

  it('refuses MoE configs', () => {
    const config = tinyMoeConfig();
    expect(() => writeHfCheckpoint(config, randomWeights(config))).toThrow(/only dense models/);
  });
});
