/** A dense model's block linears read back to the host, in the shape `pruneBlock` takes. */
import type { LinearWeightName, LlamaModel } from '../../runtime/model/llama';
import { linearInputHooks } from './calibration';
import type { BlockWeights } from './prune-block';

/**
 * [out, in] of every block linear `model` has (`model.linearWeights`: all seven for a gated FFN,
 * no w3 for a plain one, wq/wk/wv/wo only for an MoE, whose experts are not pruned).
 */
export function linearShapes(model: LlamaModel): Partial<Record<LinearWeightName, [number, number]>> {
  return Object.fromEntries(model.linearWeights.map((n) => [n, model.weightShape(n)]));
}

/**
 * Block `layer`'s linears (those of `model.linearWeights`) read back from the backend, with their
 * shapes and the hook point feeding each.
 *
 * @example
 * pruneBlock(await readBlockWeights(model, 2), stats, spec);
 */
export async function readBlockWeights(
  model: LlamaModel,
  layer: number,
): Promise<BlockWeights & { weights: Partial<Record<LinearWeightName, Float32Array>> }> {
  const weights = Object.fromEntries(
    await Promise.all(model.linearWeights.map(async (n) => [n, await model.readWeight(layer, n)] as const)),
  );
  return {
    layer,
    weights,
    shapes: linearShapes(model),
    headDim: model.config.headDim,
    inputs: linearInputHooks(model.config),
  };
}
