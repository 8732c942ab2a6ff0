/** Shape checks shared by the CPU references and the WebGPU dispatchers, so both reject alike. */

export function matmulShape(
  a: readonly number[],
  b: readonly number[],
  transposeB: boolean,
): { m: number; k: number; n: number } {
  if (a.length !== 2 || b.length !== 2) {
    throw new Error(`matmul: expected rank-2 operands, got [${a.join(', ')}] and [${b.join(', ')}]`);
  }
  const [m, k] = a as [number, number];
  const [b0, b1] = b as [number, number];
  const kb = transposeB ? b1 : b0;
  const n = transposeB ? b0 : b1;
  if (kb !== k) {
    throw new Error(
      `matmul: inner dimensions differ: a is [${m}, ${k}], b is [${b0}, ${b1}]${transposeB ? ' (transposed)' : ''}`,
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
