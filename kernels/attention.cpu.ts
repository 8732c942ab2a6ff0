import type { AttentionOptions, AttentionResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { attentionDims } from './shapes';
import { softmaxRow } from './softmax.cpu';

/**
 * Reference causal grouped-query attention. Query row i (position pos0 + i) attends keys
 * 0..pos0 + i; scores are scaled by 1/sqrt(headDim); kv head = h / (nHeads / nKvHeads).
 */
export function attentionCpu(
  q: Tensor<'f32'>,
  k: Tensor<'f32'>,
  v: Tensor<'f32'>,
  opts: AttentionOptions,
): AttentionResult {
  const { t, tk, nHeads, nKvHeads, headDim, pos0 } = attentionDims(q.shape, k.shape, v.shape, opts);
  const Q = cpu(q).data;
  const K = cpu(k).data;
  const V = cpu(v).data;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float32Array(t * qDim);
  const probs = new Float32Array(opts.returnProbs ? nHeads * t * tk : 0);
  const att = new Float32Array(tk);
  for (let h = 0; h < nHeads; h++) {
    const kvo = Math.floor(h / group) * headDim;
    for (let i = 0; i < t; i++) {
      const n = pos0 + i + 1;
      const qo = i * qDim + h * headDim;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += Q[qo + d]! * K[j * kvDim + kvo + d]!;
        att[j] = s * scale;
      }
      softmaxRow(att, 0, n);
      for (let d = 0; d < headDim; d++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += att[j]! * V[j * kvDim + kvo + d]!;
        out[qo + d] = s;
      }
      if (opts.returnProbs) probs.set(att.subarray(0, n), (h * t + i) * tk);
    }
  }
  const result: AttentionResult = { out: f32(out, [t, qDim]) };
  if (opts.returnProbs) result.probs = f32(probs, [nHeads, t, tk]);
  return result;
}

/** Reference z = probs × v per head (GQA): probs [nHeads, T, Tk], v [Tk, nKvHeads*headDim]. */
export function attentionApplyCpu(
  probs: Tensor<'f32'>,
  v: Tensor<'f32'>,
  opts: { nHeads: number; nKvHeads: number; headDim: number },
): Tensor<'f32'> {
  const { t, tk, nHeads, nKvHeads, headDim } = attentionApplyDims(probs.shape, v.shape, opts);
  const P = cpu(probs).data;
  const V = cpu(v).data;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const out = new Float32Array(t * qDim);
  for (let h = 0; h < nHeads; h++) {
    const kvo = Math.floor(h / group) * headDim;
    for (let i = 0; i < t; i++) {
      const po = (h * t + i) * tk;
      for (let d = 0; d < headDim; d++) {
        let s = 0;
        for (let j = 0; j < tk; j++) s += P[po + j]! * V[j * kvDim + kvo + d]!;
        out[i * qDim + h * headDim + d] = s;
      }
    }
  }
  return f32(out, [t, qDim]);
}

/**
 * Shape checks of attentionApply, shared with the WebGPU dispatcher so both reject alike (heads as
 * attention requires them: nKvHeads divides nHeads).
 */
export function attentionApplyDims(
  probs: readonly number[],
  v: readonly number[],
  o: { nHeads: number; nKvHeads: number; headDim: number },
): { t: number; tk: number; nHeads: number; nKvHeads: number; headDim: number } {
  const { nHeads, nKvHeads, headDim } = o;
  if (nHeads <= 0 || nKvHeads <= 0 || headDim <= 0 || nHeads % nKvHeads !== 0) {
    throw new Error(
      `attentionApply: invalid heads: nHeads=${nHeads}, nKvHeads=${nKvHeads}, headDim=${headDim}`,
    );
  }
  if (probs.length !== 3 || probs[0] !== nHeads) {
    throw new Error(`attentionApply: probs must be [${nHeads}, T, Tk], got [${probs.join(', ')}]`);
  }
  const [, t, tk] = probs as [number, number, number];
  if (v.length !== 2 || v[0] !== tk || v[1] !== nKvHeads * headDim) {
    throw new Error(`attentionApply: v must be [${tk}, ${nKvHeads * headDim}], got [${v.join(', ')}]`);
  }
  return { t, tk, nHeads, nKvHeads, headDim };
}
