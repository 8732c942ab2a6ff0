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
      expect(ckpt.config).toEqual(config);
      expect(ckpt.weights).toEqual(weights);
      // The model reads back the same weights it was loaded with.
      const model = LlamaModel.load(createCpuBackend(), ckpt);
      expect(await model.readWeights()).toEqual(weights);
      expect(Array.from(await model.readWeight(0, 'w2'))).toEqual(Array.from(weights.layers[0]!.w2));
      model.dispose();
    });
  }

  it('refuses MoE configs', () => {
    const config = tinyMoeConfig();
    expect(() => writeHfCheckpoint(config, randomWeights(config))).toThrow(/only dense models/);
  });
});
