/** A dense model's block linears read back to the host, in the shape `pruneBlock` takes. */
import type { LinearWeightName, LlamaModel } from '../../runtime/model/llama';
import { UNSTRUCTURED_TARGETS, type BlockWeights } from './prune-block';

/** [out, in] of every block linear of `model`. */
export function linearShapes(model: LlamaModel): Record<LinearWeightName, [number, number]> {
  return Object.fromEntries(UNSTRUCTURED_TARGETS.map((n) => [n, model.weightShape(n)])) as Record<
    LinearWeightName,
    [number, number]
  >;
}

/**
 * Block `layer`'s dense linears (wq … w3) read back from the backend.
 *
 * @example
 * pruneBlock(await readBlockWeights(model, 2), stats, spec);
 */
export async function readBlockWeights(
  model: LlamaModel,
  layer: number,
): Promise<
  BlockWeights & {
    weights: Record<LinearWeightName, Float32Array>;
  }
> {
  const weights = Object.fromEntries(
    await Promise.all(UNSTRUCTURED_TARGETS.map(async (n) => [n, await model.readWeight(layer, n)] as const)),
  ) as Record<LinearWeightName, Float32Array>;
  return { layer, weights, shapes: linearShapes(model), headDim: model.config.headDim };
}
