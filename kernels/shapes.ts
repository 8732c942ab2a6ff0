/** Shape checks shared by the CPU references and the WebGPU dispatchers, so both reject alike. */

export function matmulShape(
  a: readonly number[],
  b: readonly number[],
  transposeB: boolean,
  transposeA = false,
): { m: number; k: number; n: number } {
  if (a.length !== 2 || b.length !== 2) {
    throw new Error(`matmul: expected rank-2 operands, got [${a.join(', ')}] and [${b.join(', ')}]`);
  }
  const [a0, a1] = a as [number, number];
  const m = transposeA ? a1 : a0;
  const k = transposeA ? a0 : a1;
  const [b0, b1] = b as [number, number];
  const kb = transposeB ? b1 : b0;
  const n = transposeB ? b0 : b1;
  if (kb !== k) {
    throw new Error(
      `matmul: inner dimensions differ: a is [${a0}, ${a1}]${transposeA ? ' (transposed)' : ''}, b is [${b0}, ${b1}]${transposeB ? ' (transposed)' : ''}`,
    );
  }
  return { m, k, n };
}

export function sameShape(a: readonly number[], b: readonly number[], op: string): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${op}: shapes differ: [${a.join(', ')}] vs [${b.join(', ')}]`);
  }
}

export interface AttentionDims {
  t: number;
  tk: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  pos0: number;
}

export function attentionDims(
  q: readonly number[],
  k: readonly number[],
  v: readonly number[],
  o: { nHeads: number; nKvHeads: number; headDim: number; pos0?: number },
): AttentionDims {
  const { nHeads, nKvHeads, headDim } = o;
  const pos0 = o.pos0 ?? 0;
  if (nHeads <= 0 || nKvHeads <= 0 || headDim <= 0 || nHeads % nKvHeads !== 0) {
    throw new Error(`attention: invalid heads: nHeads=${nHeads}, nKvHeads=${nKvHeads}, headDim=${headDim}`);
  }
  if (q.length !== 2 || q[1] !== nHeads * headDim) {
    throw new Error(`attention: q must be [T, ${nHeads * headDim}], got [${q.join(', ')}]`);
  }
  sameShape(k, v, 'attention k/v');
  if (k.length !== 2 || k[1] !== nKvHeads * headDim) {
    throw new Error(`attention: k and v must be [Tk, ${nKvHeads * headDim}], got [${k.join(', ')}]`);
  }
  const t = q[0]!;
  const tk = k[0]!;
  if (pos0 < 0 || pos0 + t > tk) {
    throw new Error(
      `attention: queries at positions ${pos0}..${pos0 + t - 1} need ${pos0 + t} keys, got ${tk}`,
    );
  }
  return { t, tk, nHeads, nKvHeads, headDim, pos0 };
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

/** Options of `moeRoute` as the shape checks see them (host-side bias and disabled list). */
export interface MoeRouteChecked {
  rows: number;
  experts: number;
  k: number;
  temperature: number;
  /** [experts] selection bias (zeros when none was given). */
  bias: Float32Array;
  /** [experts] 1 where the expert may be chosen, 0 where it is disabled. */
  enabled: Float32Array;
}

/**
 * Shape and option checks of moeRoute, shared by the CPU reference and the WebGPU dispatcher so
 * both reject alike: logits [T, E]; k an integer in [1, E] and at most the number of enabled
 * experts; temperature finite and > 0; bias of length E with finite entries; disabled indices
 * integers in [0, E).
 */
export function moeRouteDims(
  logits: readonly number[],
  o: {
    topK: number;
    temperature?: number;
    bias?: ArrayLike<number>;
    disabled?: readonly number[];
  },
): MoeRouteChecked {
  if (logits.length !== 2) throw new Error(`moeRoute: logits must be [T, E], got [${logits.join(', ')}]`);
  const [rows, experts] = logits as [number, number];
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`moeRoute: temperature ${temperature} must be a finite number > 0`);
  }
  const bias = new Float32Array(experts);
  if (o.bias) {
    if (o.bias.length !== experts) {
      throw new Error(`moeRoute: bias has ${o.bias.length} entries, expected one per expert (${experts})`);
    }
    for (let e = 0; e < experts; e++) {
      if (!Number.isFinite(o.bias[e]!)) throw new Error(`moeRoute: bias[${e}] = ${o.bias[e]} is not finite`);
      bias[e] = o.bias[e]!;
    }
  }
  const enabled = new Float32Array(experts).fill(1);
  for (const e of o.disabled ?? []) {
    if (!Number.isInteger(e) || e < 0 || e >= experts) {
      throw new Error(`moeRoute: disabled expert ${e} is not an expert index in [0, ${experts})`);
    }
    enabled[e] = 0;
  }
  const k = o.topK;
  if (!Number.isInteger(k) || k < 1 || k > experts) {
    throw new Error(`moeRoute: topK=${k} must be an integer in [1, ${experts}]`);
  }
  const nEnabled = enabled.reduce((a, v) => a + v, 0);
  if (k > nEnabled) {
    throw new Error(`moeRoute: topK=${k} but only ${nEnabled} of ${experts} experts are enabled`);
  }
  return { rows, experts, k, temperature, bias, enabled };
}

/** Shape checks of moeCombine: y [n, D], slots i32 [T, k], gates [T, k] → [T, D]. */
export function moeCombineDims(
  y: readonly number[],
  slots: readonly number[],
  gates: readonly number[],
): { n: number; d: number; t: number; k: number } {
  if (y.length !== 2) throw new Error(`moeCombine: y must be [n, D], got [${y.join(', ')}]`);
  if (slots.length !== 2) throw new Error(`moeCombine: slots must be [T, k], got [${slots.join(', ')}]`);
  sameShape(slots, gates, 'moeCombine slots/gates');
  return { n: y[0]!, d: y[1]!, t: slots[0]!, k: slots[1]! };
}
