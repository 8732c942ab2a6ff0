/** The pruned model's folder: what goes in it, and what is refused with a reason. */
import { describe, expect, it } from 'vitest';
import { exportPruned, prunedFolder, type PrunedModel } from '../../../analyses/pruning';
import { parseLlama2c } from '../../../runtime/formats/llama2c';
import { randomWeights, tinyConfig } from '../../runtime/synthetic';

const config = tinyConfig({ nLayers: 2, vocabSize: 32 });
const weights = randomWeights(config, 3);
const unpruned: PrunedModel = {
  method: 'magnitude',
  pattern: { kind: 'unstructured' },
  sparsity: 0,
  weights: [],
  matrices: [],
  nonzeros: 0,
  total: 0,
};
const te = new TextEncoder();
const tokBin = { name: 'tok32.bin', bytes: new Uint8Array([1, 2, 3]) };

describe('prunedFolder', () => {
  it('a llama2.c tokenizer: HF files + tokenizer.bin + masks, and llama2c/ with the same tokenizer', () => {
    const { files, skipped } = prunedFolder(exportPruned(config, weights, unpruned), [tokBin]);
    expect(skipped).toBeNull();
    expect(files.map((f) => f.path)).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.bin',
      'masks.safetensors',
      'llama2c/model.bin',
      'llama2c/tokenizer.bin',
    ]);
    const bin = files.find((f) => f.path === 'llama2c/model.bin')!.data as Uint8Array;
    expect(parseLlama2c(bin, 'model.bin').weights.layers[1]!.w2).toEqual(weights.layers[1]!.w2);
  });

  it('an HF tokenizer: tokenizer.json and its config beside the model, no llama2.c file, and why', () => {
    const { files, skipped } = prunedFolder(exportPruned(config, weights, unpruned), [
      { name: 'tokenizer.json', bytes: te.encode('{}') },
      { name: 'tokenizer_config.json', bytes: te.encode('{}') },
    ]);
    expect(files.map((f) => f.path)).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'masks.safetensors',
    ]);
    expect(skipped).toMatch(/llama2c\/model.bin not written: the model's tokenizer is tokenizer.json/);
  });

  it('a rope_theta llama2.c cannot record: no model.bin, the HF files still written, the value named', () => {
    const exported = exportPruned({ ...config, ropeTheta: 500000 }, weights, unpruned);
    expect(exported['model.bin']).toBeNull();
    expect(JSON.parse(exported['config.json'])).toHaveProperty('rope_theta', 500000);
    const { files, skipped } = prunedFolder(exported, [tokBin]);
    expect(files.map((f) => f.path)).not.toContain('llama2c/model.bin');
    expect(skipped).toMatch(/llama2c\/model.bin not written: writeLlama2c: rope_theta is 500000/);
  });

  it('without a tokenizer file the folder is refused', () => {
    expect(() => prunedFolder(exportPruned(config, weights, unpruned), [])).toThrow(
      /cannot write the pruned model's folder without its tokenizer/,
    );
  });
});
