import { topKIndices } from './topk.cpu';
import type { SaeEncodeOptions, SaeEncodeResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';

/** Rows n, width dIn and latents dSae of an SAE encode, or an error naming the mismatch. */
export function saeEncodeDims(
  x: Tensor<'f32'>,
  wEnc: Tensor<'f32'>,
  bEnc: Tensor<'f32'>,
  bDec: Tensor<'f32'>,
  o: SaeEncodeOptions,
): { n: number; dIn: number; dSae: number } {
  if (x.shape.length !== 2 || wEnc.shape.length !== 2 || x.shape[1] !== wEnc.shape[0]) {
    throw new Error(`saeEncode: x [${x.shape.join(', ')}] does not fit wEnc [${wEnc.shape.join(', ')}]`);
  }
  const [n, dIn] = x.shape as [number, number];
  const dSae = wEnc.shape[1]!;
  if (bEnc.size !== dSae || bDec.size !== dIn) {
    throw new Error(`saeEncode: bEnc must have ${dSae} values and bDec ${dIn}`);
  }
  if (o.kind === 'topk' && !(Number.isInteger(o.k) && o.k! >= 1 && o.k! <= dSae)) {
    throw new Error(`saeEncode: k=${o.k} must be an integer in [1, ${dSae}]`);
  }
  if (o.kind === 'jumprelu' && o.logThreshold?.size !== dSae) {
    throw new Error(`saeEncode: a JumpReLU SAE needs logThreshold of ${dSae} values`);
  }
  if (o.kind !== 'relu' && o.kind !== 'topk' && o.kind !== 'jumprelu') {
    throw new Error(`saeEncode: invalid SAE kind: ${String(o.kind)}`);
  }
  return { n, dIn, dSae };
}

/**
 * Reference SAE encoder (analyses/sae/forward.ts `encode`): pre = (x − b_dec)·W_enc + b_enc in
 * float64, then ReLU, TopK-then-ReLU, or JumpReLU with θ = exp(logThreshold).
 */
export function saeEncodeCpu(
  x: Tensor<'f32'>,
  wEnc: Tensor<'f32'>,
  bEnc: Tensor<'f32'>,
  bDec: Tensor<'f32'>,
  o: SaeEncodeOptions,
): SaeEncodeResult {
  const { n, dIn, dSae } = saeEncodeDims(x, wEnc, bEnc, bDec, o);
  const X = cpu(x).data;
  const W = cpu(wEnc).data;
  const bE = cpu(bEnc).data;
  const bD = cpu(bDec).data;
  const pre = new Float32Array(n * dSae);
  const latents = new Float32Array(n * dSae);
  const base = new Float64Array(dSae);
  for (let j = 0; j < dSae; j++) base[j] = bE[j]!;
  for (let d = 0; d < dIn; d++) {
    for (let j = 0; j < dSae; j++) base[j]! -= bD[d]! * W[d * dSae + j]!;
  }
  const acc = new Float64Array(dSae);
  for (let i = 0; i < n; i++) {
    acc.set(base);
    for (let d = 0; d < dIn; d++) {
      const xv = X[i * dIn + d]!;
      for (let j = 0; j < dSae; j++) acc[j]! += xv * W[d * dSae + j]!;
    }
    pre.set(acc, i * dSae);
  }
  if (o.kind === 'relu') {
    for (let t = 0; t < pre.length; t++) latents[t] = pre[t]! > 0 ? pre[t]! : 0;
  } else if (o.kind === 'jumprelu') {
    const lt = cpu(o.logThreshold!).data;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dSae; j++) {
        const v = pre[i * dSae + j]!;
        latents[i * dSae + j] = v > Math.exp(lt[j]!) ? v : 0;
      }
    }
  } else {
    scatterTopK(pre, latents, n, dSae, o.k!);
  }
  return { pre: f32(pre, [n, dSae]), latents: f32(latents, [n, dSae]) };
}

/** out[i, j] = max(pre[i, j], 0) for the k largest (allowed) pre-activations of each row. */
function scatterTopK(
  pre: Float32Array,
  out: Float32Array,
  n: number,
  dSae: number,
  k: number,
  allowed?: Int32Array,
): void {
  const idx = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const found = topKIndices(pre, i * dSae, dSae, k, idx, allowed);
    for (let s = 0; s < found; s++) {
      const v = pre[i * dSae + idx[s]!]!;
      if (v > 0) out[i * dSae + idx[s]!] = v;
    }
  }
}

/**
 * Reference AuxK latents: per row, the auxK largest pre-activations among latents with
 * dead[j] ≠ 0, ReLU'd, dense [n, dSae] (zeros elsewhere).
 */
export function saeAuxLatentsCpu(pre: Tensor<'f32'>, dead: Tensor<'i32'>, auxK: number): Tensor<'f32'> {
  const [n, dSae] = checkAux(pre, dead, auxK);
  const out = new Float32Array(n * dSae);
  scatterTopK(cpu(pre).data, out, n, dSae, auxK, cpu(dead).data);
  return f32(out, [n, dSae]);
}

export function checkAux(pre: Tensor<'f32'>, dead: Tensor<'i32'>, auxK: number): [number, number] {
  if (pre.shape.length !== 2)
    throw new Error(`saeAuxLatents: pre must be [n, dSae], got [${pre.shape.join(', ')}]`);
  const [n, dSae] = pre.shape as [number, number];
  if (dead.dtype !== 'i32' || dead.size !== dSae) {
    throw new Error(
      `saeAuxLatents: dead must be ${dSae} i32 flags, got ${dead.dtype} [${dead.shape.join(', ')}]`,
    );
  }
  if (!(Number.isInteger(auxK) && auxK >= 1 && auxK <= dSae)) {
    throw new Error(`saeAuxLatents: auxK=${auxK} must be an integer in [1, ${dSae}]`);
  }
  return [n, dSae];
}
