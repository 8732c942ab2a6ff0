import type { AttentionOptions, AttentionResult, PatternProbeOptions } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { attentionApplyDims, attentionDims } from './shapes';
import { softmaxRow, softmaxRowKnown } from './softmax.cpu';
import { PatternProbeWriter, checkFusedProbe, patternProbeLayout, type KnownRow } from './pattern-probe.cpu';

/**
 * Reference causal grouped-query attention. Query row i (position pos0 + i) attends keys
 * 0..pos0 + i; scores are scaled by 1/sqrt(headDim); kv head = h / (nHeads / nKvHeads).
 * Scores are rounded to f32 (as a GPU keeps them); sums run in f64.
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
  const stats = new Float32Array(opts.returnRowStats ? nHeads * t * 3 : 0);
  const probe = opts.probe ? fusedProbe(nHeads, t, tk, pos0, opts.probe) : undefined;
  const known: KnownRow = { entropy: 0, topKey: 0 };
  // No query attends past key pos0 + t - 1 (k/v may be a longer KV cache).
  const nKeys = pos0 + t;
  // Scratch reused by every head and query: one kv head's keys and values gathered into contiguous
  // [nKeys, headDim] rows, so the inner loops walk memory in order, and one row of scores.
  const kh = new Float32Array(nKeys * headDim);
  const vh = new Float32Array(nKeys * headDim);
  const att = new Float32Array(nKeys);
  for (let g = 0; g < nKvHeads; g++) {
    gatherHead(K, kvDim, g * headDim, headDim, nKeys, kh);
    gatherHead(V, kvDim, g * headDim, headDim, nKeys, vh);
    for (let h = g * group; h < (g + 1) * group; h++) {
      for (let i = 0; i < t; i++) {
        const n = pos0 + i + 1;
        const qo = i * qDim + h * headDim;
        scores(Q, qo, kh, headDim, n, scale, att);
        if (probe) {
          // The row is probed while in cache, with its entropy from the scores.
          softmaxRowKnown(att, 0, n, known);
          probe.add(h, i, att, 0, known);
        } else softmaxRow(att, 0, n);
        // Mix v with exactly the probabilities returned, so attentionApply(probs, v) gives this out.
        weightedSum(att, 0, vh, headDim, n, out, qo);
        if (opts.returnProbs) {
          const po = (h * t + i) * tk;
          for (let j = 0; j < n; j++) probs[po + j] = att[j]!;
        }
        if (opts.returnRowStats) rowStats(att, n, stats, (h * t + i) * 3);
      }
    }
  }
  const result: AttentionResult = { out: f32(out, [t, qDim]) };
  if (opts.returnProbs) result.probs = f32(probs, [nHeads, t, tk]);
  if (opts.returnRowStats) result.rowStats = f32(stats, [nHeads, t, 3]);
  if (probe) {
    const { rows, lines } = probe.finish();
    result.probe = {
      rows: f32(rows, [nHeads, t, patternProbeLayout(opts.probe!).width]),
      lines: f32(lines, [nHeads, 2, t]),
    };
  }
  return result;
}

/** The fused probe's writer (see `AttentionOptions.probe`). */
function fusedProbe(
  nHeads: number,
  t: number,
  tk: number,
  pos0: number,
  spec: PatternProbeOptions,
): PatternProbeWriter {
  checkFusedProbe(nHeads, t, tk, pos0, spec);
  return new PatternProbeWriter(nHeads, t, spec);
}

/**
 * Entropy, mass on key 0 and mean distance of one probability row p[0..n-1] (query at position
 * n − 1), in f64; written to out[o..o+2].
 */
export function rowStats(p: Float32Array, n: number, out: Float32Array, o: number): void {
  let entropy = 0;
  let distance = 0;
  for (let j = 0; j < n; j++) {
    const pj = p[j]!;
    if (pj > 0) entropy -= pj * Math.log(pj);
    distance += pj * (n - 1 - j);
  }
  out[o] = entropy;
  out[o + 1] = p[0]!;
  out[o + 2] = distance;
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
  const vh = new Float32Array(tk * headDim);
  for (let g = 0; g < nKvHeads; g++) {
    gatherHead(V, kvDim, g * headDim, headDim, tk, vh);
    for (let h = g * group; h < (g + 1) * group; h++) {
      // Every Tk column: a replaced pattern may put weight anywhere.
      for (let i = 0; i < t; i++)
        weightedSum(P, (h * t + i) * tk, vh, headDim, tk, out, i * qDim + h * headDim);
    }
  }
  return f32(out, [t, qDim]);
}

/** dst [rows, headDim] ← the head at column offset `col` of src [rows, stride]. */
function gatherHead(
  src: Float32Array,
  stride: number,
  col: number,
  headDim: number,
  rows: number,
  dst: Float32Array,
): void {
  for (let j = 0; j < rows; j++) {
    for (let d = 0; d < headDim; d++) dst[j * headDim + d] = src[j * stride + col + d]!;
  }
}

/**
 * att[j] = scale · (q · kh[j]) for keys j < n, q = Q[qo .. qo + headDim). Four keys at a time:
 * each q[d] loaded feeds four products, and the four sums overlap instead of one waiting on itself.
 */
function scores(
  Q: Float32Array,
  qo: number,
  kh: Float32Array,
  headDim: number,
  n: number,
  scale: number,
  att: Float32Array,
): void {
  const n4 = n - (n % 4);
  // prettier-ignore
  for (let j = 0; j < n4; j += 4) {
    const k0 = j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let d = 0; d < headDim; d++) {
      const x = Q[qo + d]!;
      s0 += x * kh[k0 + d]!; s1 += x * kh[k1 + d]!; s2 += x * kh[k2 + d]!; s3 += x * kh[k3 + d]!;
    }
    att[j] = s0 * scale; att[j + 1] = s1 * scale; att[j + 2] = s2 * scale; att[j + 3] = s3 * scale;
  }
  for (let j = n4; j < n; j++) {
    let s = 0;
    for (let d = 0; d < headDim; d++) s += Q[qo + d]! * kh[j * headDim + d]!;
    att[j] = s * scale;
  }
}

/**
 * out[oo + d] = Σ_{j<n} w[wo + j] · vh[j, d] for d < headDim. Four dims at a time: each weight
 * loaded feeds four products, and the four sums overlap.
 */
function weightedSum(
  w: Float32Array,
  wo: number,
  vh: Float32Array,
  headDim: number,
  n: number,
  out: Float32Array,
  oo: number,
): void {
  const d4 = headDim - (headDim % 4);
  // prettier-ignore
  for (let d = 0; d < d4; d += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0, vo = d; j < n; j++, vo += headDim) {
      const x = w[wo + j]!;
      s0 += x * vh[vo]!; s1 += x * vh[vo + 1]!; s2 += x * vh[vo + 2]!; s3 += x * vh[vo + 3]!;
    }
    out[oo + d] = s0; out[oo + d + 1] = s1; out[oo + d + 2] = s2; out[oo + d + 3] = s3;
  }
  for (let d = d4; d < headDim; d++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += w[wo + j]! * vh[j * headDim + d]!;
    out[oo + d] = s;
  }
}
