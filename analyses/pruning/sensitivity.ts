/**
 * Per-block sensitivity scan for non-uniform allocation: prune one block at a time (magnitude,
 * unstructured, at the target sparsity; calibration-free so the scan costs one loss evaluation per
 * block) and record the loss increase. Blocks that hurt less when pruned get more sparsity
 * (`sensitivityAllocation`).
 *
 * The losses are measured on the calibration windows, never on the held-out text the pruned model
 * is scored on: an allocation tuned on the scored text would flatter its own score.
 */
import type { LlamaModel } from '../../runtime/model/llama';
import { sensitivityAllocation } from './allocation';
import { evaluateTokens } from './evaluate';
import { linearShapes, readBlockWeights } from './block-weights';
import { pruneBlock } from './prune-block';
import { PrunedUpload } from './upload';

export interface SensitivityScan {
  /** Dense loss on the calibration windows (the baseline of `sensitivities`). */
  denseLoss: number;
  /** Loss increase on the calibration windows when only block l is pruned. */
  sensitivities: number[];
  /** Per-block sparsities whose parameter-weighted mean is the target. */
  allocation: number[];
}

/** The calibration windows as one token stream (they are consecutive cuts of the calibration text). */
function calibrationStream(calibration: readonly Int32Array[]): Int32Array {
  if (calibration.length === 0) throw new Error('the sensitivity scan needs calibration text');
  const out = new Int32Array(calibration.reduce((a, w) => a + w.length, 0));
  let at = 0;
  for (const w of calibration) {
    out.set(w, at);
    at += w.length;
  }
  return out;
}

/**
 * @example
 * const { allocation } = await sensitivityScan(model, prepared.calibration, 0.5);
 */
export async function sensitivityScan(
  model: LlamaModel,
  calibration: readonly Int32Array[],
  sparsity: number,
  options: { signal?: AbortSignal } = {},
): Promise<SensitivityScan> {
  const { config } = model;
  const tokens = calibrationStream(calibration);
  const denseLoss = (await evaluateTokens(model, tokens, { signal: options.signal })).loss;
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
  return { denseLoss, sensitivities, allocation: sensitivityAllocation(sensitivities, sizes, sparsity) };
}
