import type { MoeRouteOptions, MoeRouteResult } from './backend';
import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { moeRouteDims } from './shapes';
import { specialize } from './wgsl';
import source from './moe-route.wgsl?raw';

const WG = 64;

/**
 * WebGPU dispatcher of `moeRoute` (see `Backend.moeRoute`): one invocation per row. The bias and
 * the enabled mask travel in one small storage buffer [2, E] (uniform arrays would need 16-byte
 * strides), uploaded per call and released after the dispatch is recorded.
 */
export function moeRouteGpu(ctx: GpuContext, logits: Tensor<'f32'>, o: MoeRouteOptions): MoeRouteResult {
  assertDType(gpu(logits), 'f32', 'moeRoute logits');
  const { rows, experts: E, k, temperature, bias, enabled } = moeRouteDims(logits.shape, o);
  const adjust = new Float32Array(2 * E);
  adjust.set(bias, 0);
  adjust.set(enabled, E);
  const adj = ctx.upload(adjust, [2, E], 'f32');
  const probs = ctx.createTensor([rows, E], 'f32');
  const experts = ctx.createTensor([rows, k], 'i32');
  const gates = ctx.createTensor([rows, k], 'f32');
  if (rows > 0) {
    ctx.dispatch({
      key: `moeRoute:wg${WG}`,
      code: () => specialize(source, { WG }),
      tensors: [logits, adj, probs, experts, gates],
      uniforms: [
        { u32: rows },
        { u32: E },
        { u32: k },
        { u32: o.normTopKProb ? 1 : 0 },
        { f32: temperature },
      ],
      workgroups: grid(Math.ceil(rows / WG)),
    });
  }
  ctx.release(adj);
  return { experts, gates, probs };
}
