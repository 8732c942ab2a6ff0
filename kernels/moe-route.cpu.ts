import type { MoeRouteOptions, MoeRouteResult } from './backend';
import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { CpuTensor, cpu, f32 } from './cpu-tensor';
import { moeRouteDims } from './shapes';

/**
 * Reference Mixtral-style router over logits [T, E] (see `Backend.moeRoute`): probabilities are
 * softmax(logits / temperature) over the enabled experts; the top-k experts by probability + bias
 * are chosen (ties to the lower index); their gates are the unbiased probabilities, renormalised
 * to sum to 1 when `normTopKProb`.
 */
export function moeRouteCpu(logits: Tensor<'f32'>, o: MoeRouteOptions): MoeRouteResult {
  assertDType(logits, 'f32', 'moeRoute logits');
  const { rows, experts: E, k, temperature, bias, enabled } = moeRouteDims(logits.shape, o);
  const X = cpu(logits).data;
  const probs = new Float32Array(rows * E);
  const experts = new Int32Array(rows * k);
  const gates = new Float32Array(rows * k);
  const order = Array.from({ length: E }, (_, e) => e);
  const key = new Float32Array(E);
  for (let r = 0; r < rows; r++) {
    const o0 = r * E;
    let max = -Infinity;
    for (let e = 0; e < E; e++) if (enabled[e]) max = Math.max(max, X[o0 + e]! / temperature);
    let sum = 0;
    for (let e = 0; e < E; e++) {
      const v = enabled[e] ? Math.exp(X[o0 + e]! / temperature - max) : 0;
      probs[o0 + e] = v;
      sum += v;
    }
    for (let e = 0; e < E; e++) probs[o0 + e]! /= sum;
    // The key is rounded to float32 as the shader computes it, so equal keys tie on both backends.
    for (let e = 0; e < E; e++) key[e] = probs[o0 + e]! + bias[e]!;
    // Enabled before disabled, then key descending, then index ascending: a total order.
    const sorted = order.slice().sort((a, b) => enabled[b]! - enabled[a]! || key[b]! - key[a]! || a - b);
    let total = 0;
    for (let j = 0; j < k; j++) {
      const e = sorted[j]!;
      experts[r * k + j] = e;
      gates[r * k + j] = probs[o0 + e]!;
      total += gates[r * k + j]!;
    }
    if (o.normTopKProb && total > 0) for (let j = 0; j < k; j++) gates[r * k + j]! /= total;
  }
  return {
    experts: new CpuTensor<'i32'>(experts, [rows, k]),
    gates: f32(gates, [rows, k]),
    probs: f32(probs, [rows, E]),
  };
}
