/**
 * Per-block sensitivity scan for non-uniform allocation: prune one block at a time (magnitude,
 * unstructured, at the target sparsity; calibration-free so the scan costs one loss evaluation per
 * block) and record the loss increase. Blocks that hurt less when pruned get more sparsity
 * (`sensitivityAllocation`).
 */
import type { LlamaModel } from '../../runtime/model/llama';
import { sensitivityAllocation } from './allocation';
import { evaluateTokens } from './evaluate';
import { linearShapes, readBlockWeights } from './block-weights';
import { pruneBlock } from './prune-block';
import { PrunedUpload } from './upload';

export interface SensitivityScan {
  /** Loss increase when only block l is pruned. */
  sensitivities: number[];
  /** Per-block sparsities whose parameter-weighted mean is the target. */
  allocation: number[];
}

/**
 * @example
 * const { allocation } = await sensitivityScan(model, heldOut, 0.5, denseLoss);
 */
export async function sensitivityScan(
  model: LlamaModel,
  tokens: Int32Array,
  sparsity: number,
  denseLoss: number,
  options: { signal?: AbortSignal } = {},
): Promise<SensitivityScan> {
  const { config } = model;
  const shapes = linearShapes(model);
  const sizes: number[] = [];
  const sensitivities: number[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    options.signal?.throwIfAborted();
    const block = await readBlockWeights(model, l);
    sizes.push(model.linearWeights.reduce((a, n) => a + shapes[n]![0] * shapes[n]![1], 0));
    const pruned = pruneBlock(block, null, {
      method: 'magnitude',
      pattern: { kind: 'unstructured' },
      sparsity,
    });
    const upload = new PrunedUpload(model);
    try {
      upload.add(pruned);
      const r = await evaluateTokens(model, tokens, { weights: upload.overrides, signal: options.signal });
      sensitivities.push(r.loss - denseLoss);
    } finally {
      upload.dispose();
    }
  }
  return { sensitivities, allocation: sensitivityAllocation(sensitivities, sizes, sparsity) };
}
