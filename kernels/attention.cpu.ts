import type { AttentionOptions, AttentionResult, PatternProbeOptions } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { attentionApplyDims, attentionDims } from './shapes';
import { softmaxRow, softmaxRowKnown } from './softmax.cpu';
import { PatternProbeWriter, checkFusedProbe, patternProbeLayout, type KnownRow } from './pattern-probe.cpu';

/**
 * Score options of an attention (see `AttentionOptions`), validated and with defaults: the score
 * scale (1/√headDim), the soft-cap (0: none) and the window (Infinity: full causal). Shared by
 * both backends so they reject alike.
 */
export function attentionScoreOptions(
  opts: Pick<AttentionOptions, 'scale' | 'softcap' | 'window'>,
  headDim: number,
): { scale: number; softcap: number; window: number } {
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  if (!Number.isFinite(scale)) throw new Error(`attention: scale must be a finite number, got ${scale}`);
  const softcap = opts.softcap ?? 0;
  if (!Number.isFinite(softcap) || softcap < 0) {
    throw new Error(`attention: softcap must be a finite number ≥ 0 (0: none), got ${softcap}`);
  }
  const window = opts.window ?? Infinity;
  if (window !== Infinity && !(Number.isInteger(window) && window >= 1)) {
    throw new Error(`attention: window must be an integer ≥ 1 (or absent for full causal), got ${window}`);
  }
  return { scale, softcap, window };
}

/** First key the query at absolute position p sees: max(0, p − window + 1). */
export function firstVisibleKey(p: number, window: number): number {
  return window === Infinity ? 0 : Math.max(0, p - window + 1);
}

/**
 * Reference causal grouped-query attention. Query row i (position p = pos0 + i) attends keys
 * max(0, p − window + 1)..p; scores are scaled by `scale` (default 1/sqrt(headDim)), then
 * soft-capped (cap·tanh(s / cap)) when `softcap` is set; kv head = h / (nHeads / nKvHeads). Only
 * the visible keys are visited (a small window over a long cache costs only the window).
 * Scores are rounded to f32 (as a GPU keeps them); sums run in f64. With `returnScores` each
 * row's scores are copied out between the soft-cap and the softmax (−∞ elsewhere).
 */
export function attentionCpu(
  q: Tensor<'f32'>,
  k: Tensor<'f32'>,
  v: Tensor<'f32'>,
  opts: AttentionOptions,
): AttentionResult {
  const { t, tk, nHeads, nKvHeads, headDim, pos0 } = attentionDims(q.shape, k.shape, v.shape, opts);
  const { scale, softcap, window } = attentionScoreOptions(opts, headDim);
  const Q = cpu(q).data;
  const K = cpu(k).data;
  const V = cpu(v).data;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const out = new Float32Array(t * qDim);
  const probs = new Float32Array(opts.returnProbs ? nHeads * t * tk : 0);
  // Masked scores are −∞; each row's visible keys are written below.
  const scoreRows = new Float32Array(opts.returnScores ? nHeads * t * tk : 0).fill(-Infinity);
  const stats = new Float32Array(opts.returnRowStats ? nHeads * t * 3 : 0);
  const probe = opts.probe ? fusedProbe(nHeads, t, tk, pos0, opts.probe) : undefined;
  const known: KnownRow = { entropy: 0, topKey: 0 };
  // No query attends past key pos0 + t - 1 (k/v may be a longer KV cache), nor before the first
  // row's window.
  const kLo = firstVisibleKey(pos0, window);
  const nKeys = pos0 + t - kLo;
  // Scratch reused by every head and query: one kv head's visible keys and values (from kLo)
  // gathered into contiguous [nKeys, headDim] rows, so the inner loops walk memory in order, and
  // one row of scores. The fused probe wants the whole causal row (zeros before the window), so
  // there the scores sit at their key index; otherwise at key − lo.
  const kh = new Float32Array(nKeys * headDim);
  const vh = new Float32Array(nKeys * headDim);
  const att = new Float32Array(probe ? pos0 + t : nKeys);
  for (let g = 0; g < nKvHeads; g++) {
    gatherHead(K, kvDim, g * headDim, headDim, kLo, nKeys, kh);
    gatherHead(V, kvDim, g * headDim, headDim, kLo, nKeys, vh);
    for (let h = g * group; h < (g + 1) * group; h++) {
      for (let i = 0; i < t; i++) {
        const lo = firstVisibleKey(pos0 + i, window);
        const n = pos0 + i + 1 - lo;
        const qo = i * qDim + h * headDim;
        const ao = probe ? lo : 0;
        const ko = (lo - kLo) * headDim;
        scores(Q, qo, kh, ko, headDim, n, scale, att, ao);
        if (softcap > 0) {
          for (let j = ao; j < ao + n; j++) att[j] = softcap * Math.tanh(att[j]! / softcap);
        }
        // The scores exactly as the softmax below consumes them (rounded to f32 in att).
        if (opts.returnScores) scoreRows.set(att.subarray(ao, ao + n), (h * t + i) * tk + lo);
        if (probe) {
          // The row is probed while in cache, with its entropy from the scores; keys before the
          // window hold exact zeros.
          att.fill(0, 0, lo);
          softmaxRowKnown(att, ao, n, known);
          probe.add(h, i, att, 0, known);
        } else softmaxRow(att, ao, n);
        // Mix v with exactly the probabilities returned, so attentionApply(probs, v) gives this out.
        weightedSum(att, ao, vh, ko, headDim, n, out, qo);
        if (opts.returnProbs) probs.set(att.subarray(ao, ao + n), (h * t + i) * tk + lo);
        if (opts.returnRowStats) rowStats(att, ao, n, lo === 0, stats, (h * t + i) * 3);
      }
    }
  }
  const result: AttentionResult = { out: f32(out, [t, qDim]) };
  if (opts.returnProbs) result.probs = f32(probs, [nHeads, t, tk]);
  if (opts.returnScores) result.scores = f32(scoreRows, [nHeads, t, tk]);
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
 * Entropy, mass on key 0 and mean distance of the visible probabilities p[o..o+n-1] of one row
 * (the last of them is the query's own key; `hasKey0`: the first is key 0, else key 0 lies outside
 * the window and has mass 0), in f64; written to out[s..s+2].
 */
export function rowStats(
  p: Float32Array,
  o: number,
  n: number,
  hasKey0: boolean,
  out: Float32Array,
  s: number,
): void {
  let entropy = 0;
  let distance = 0;
  for (let j = 0; j < n; j++) {
    const pj = p[o + j]!;
    if (pj > 0) entropy -= pj * Math.log(pj);
    distance += pj * (n - 1 - j);
  }
  out[s] = entropy;
  out[s + 1] = hasKey0 ? p[o]! : 0;
  out[s + 2] = distance;
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
    gatherHead(V, kvDim, g * headDim, headDim, 0, tk, vh);
    for (let h = g * group; h < (g + 1) * group; h++) {
      // Every Tk column: a replaced pattern may put weight anywhere.
      for (let i = 0; i < t; i++)
        weightedSum(P, (h * t + i) * tk, vh, 0, headDim, tk, out, i * qDim + h * headDim);
    }
  }
  return f32(out, [t, qDim]);
}

/** dst [rows, headDim] ← rows row0..row0+rows of the head at column offset `col` of src [·, stride]. */
function gatherHead(
  src: Float32Array,
  stride: number,
  col: number,
  headDim: number,
  row0: number,
  rows: number,
  dst: Float32Array,
): void {
  for (let j = 0; j < rows; j++) {
    const so = (row0 + j) * stride + col;
    for (let d = 0; d < headDim; d++) dst[j * headDim + d] = src[so + d]!;
  }
}

/**
 * att[ao + j] = scale · (q · key j) for j < n, q = Q[qo .. qo + headDim), key j = kh[ko + j·headDim ..].
 * Four keys at a time: each q[d] loaded feeds four products, and the four sums overlap instead of
 * one waiting on itself.
 */
function scores(
  Q: Float32Array,
  qo: number,
  kh: Float32Array,
  ko: number,
  headDim: number,
  n: number,
  scale: number,
  att: Float32Array,
  ao: number,
): void {
  const n4 = n - (n % 4);
  // prettier-ignore
  for (let j = 0; j < n4; j += 4) {
    const k0 = ko + j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let d = 0; d < headDim; d++) {
      const x = Q[qo + d]!;
      s0 += x * kh[k0 + d]!; s1 += x * kh[k1 + d]!; s2 += x * kh[k2 + d]!; s3 += x * kh[k3 + d]!;
    }
    const a = ao + j;
    att[a] = s0 * scale; att[a + 1] = s1 * scale; att[a + 2] = s2 * scale; att[a + 3] = s3 * scale;
  }
  for (let j = n4; j < n; j++) {
    let s = 0;
    const kj = ko + j * headDim;
    for (let d = 0; d < headDim; d++) s += Q[qo + d]! * kh[kj + d]!;
    att[ao + j] = s * scale;
  }
}

/**
 * out[oo + d] = Σ_{j<n} w[wo + j] · vh[vo + j·headDim + d] for d < headDim. Four dims at a time:
 * each weight loaded feeds four products, and the four sums overlap.
 */
function weightedSum(
  w: Float32Array,
  wo: number,
  vh: Float32Array,
  vo: number,
  headDim: number,
  n: number,
  out: Float32Array,
  oo: number,
): void {
  const d4 = headDim - (headDim % 4);
  // prettier-ignore
  for (let d = 0; d < d4; d += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0, o = vo + d; j < n; j++, o += headDim) {
      const x = w[wo + j]!;
      s0 += x * vh[o]!; s1 += x * vh[o + 1]!; s2 += x * vh[o + 2]!; s3 += x * vh[o + 3]!;
    }
    out[oo + d] = s0; out[oo + d + 1] = s1; out[oo + d + 2] = s2; out[oo + d + 3] = s3;
  }
  for (let d = d4; d < headDim; d++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += w[wo + j]! * vh[vo + j * headDim + d]!;
    out[oo + d] = s;
  }
}
