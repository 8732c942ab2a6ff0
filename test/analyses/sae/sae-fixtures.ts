/**
 * Shared fixtures for the SAE tests: synthetic sparse data (rows are sparse non-negative
 * combinations of random unit directions, the toy model the SAE papers use) and a float64
 * reference implementation of the forward pass and losses, written independently of
 * analyses/sae so finite differences test the analytic gradients against the definitions.
 */
import { mulberry32 } from '../../../analyses/sae/prng';
import type { ResolvedSaeConfig, SaeParams } from '../../../analyses/sae/types';

/** `nFeatures` random unit directions in `dIn` dims, [nFeatures, dIn]. */
export function randomDirections(nFeatures: number, dIn: number, seed: number): Float64Array {
  const rng = mulberry32(seed);
  const dirs = new Float64Array(nFeatures * dIn);
  for (let f = 0; f < nFeatures; f++) {
    let n2 = 0;
    for (let d = 0; d < dIn; d++) {
      const v = rng.normal();
      dirs[f * dIn + d] = v;
      n2 += v * v;
    }
    for (let d = 0; d < dIn; d++) dirs[f * dIn + d]! /= Math.sqrt(n2);
  }
  return dirs;
}

/**
 * n rows, each the sum of 1..maxActive distinct directions with magnitudes in [0.5, 1.5], plus an
 * optional constant offset (so b_dec has something to learn).
 */
export function sparseData(
  dirs: Float64Array,
  dIn: number,
  n: number,
  seed: number,
  opts: { maxActive: number; offset?: number },
): Float32Array {
  const nFeatures = dirs.length / dIn;
  const rng = mulberry32(seed);
  const out = new Float32Array(n * dIn);
  for (let i = 0; i < n; i++) {
    const active = 1 + rng.int(opts.maxActive);
    const used = new Set<number>();
    while (used.size < active) used.add(rng.int(nFeatures));
    for (const f of used) {
      const a = 0.5 + rng.uniform();
      for (let d = 0; d < dIn; d++) out[i * dIn + d]! += a * dirs[f * dIn + d]!;
    }
    if (opts.offset) for (let d = 0; d < dIn; d++) out[i * dIn + d]! += opts.offset;
  }
  return out;
}

export function normalBatch(n: number, dIn: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n * dIn }, () => scale * rng.normal());
}

/** Float64 copy of the parameters. */
export type Params64 = Record<keyof SaeParams, Float64Array>;
export function toParams64(p: SaeParams): Params64 {
  return {
    wEnc: Float64Array.from(p.wEnc),
    bEnc: Float64Array.from(p.bEnc),
    wDec: Float64Array.from(p.wDec),
    bDec: Float64Array.from(p.bDec),
    logThreshold: Float64Array.from(p.logThreshold ?? []),
  };
}

/** Reference loss with its intermediates; `pattern` fingerprints every discrete choice. */
export interface RefLoss {
  loss: number;
  pre: Float64Array;
  f: Float64Array;
  xHat: Float64Array;
  pattern: string;
  /** e = x − x̂ and Σ‖e‖², to freeze the AuxK target for finite differences. */
  residual: Float64Array;
  denom: number;
}

/** Indices of the k largest values (ties to the lower index). */
function topk(values: number[], k: number, allowed: (j: number) => boolean): number[] {
  return values
    .map((v, j) => ({ v, j }))
    .filter(({ j }) => allowed(j))
    .sort((a, b) => b.v - a.v || a.j - b.j)
    .slice(0, k)
    .map(({ j }) => j);
}

/** Straight from the definitions in METHODS.md / loss.ts, in float64, no shortcuts. */
export function referenceLoss(
  p: Params64,
  cfg: ResolvedSaeConfig,
  x: Float32Array,
  opts: { dead?: Uint8Array; frozenAux?: { residual: Float64Array; denom: number } } = {},
): RefLoss {
  const { dIn, dSae, kind } = cfg;
  const n = x.length / dIn;
  const pre = new Float64Array(n * dSae);
  const f = new Float64Array(n * dSae);
  const xHat = new Float64Array(n * dIn);
  const pattern: string[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dSae; j++) {
      let s = p.bEnc[j]!;
      for (let d = 0; d < dIn; d++) s += (x[i * dIn + d]! - p.bDec[d]!) * p.wEnc[d * dSae + j]!;
      pre[i * dSae + j] = s;
    }
  }
  if (kind === 'batchtopk') {
    // The k·n largest ReLU'd values of the whole batch, ties to the lower flat index.
    const sel = topk(
      Array.from(pre, (v) => Math.max(0, v)),
      cfg.k * n,
      (t) => pre[t]! > 0,
    );
    for (const t of sel) f[t] = pre[t]!;
  }
  for (let i = 0; i < n; i++) {
    const row = Array.from(pre.subarray(i * dSae, (i + 1) * dSae));
    if (kind === 'topk') {
      const sel = topk(row, cfg.k, () => true);
      for (const j of sel) f[i * dSae + j] = Math.max(0, row[j]!);
    } else if (kind !== 'batchtopk') {
      for (let j = 0; j < dSae; j++) {
        const th = kind === 'jumprelu' ? Math.exp(p.logThreshold[j]!) : 0;
        f[i * dSae + j] = row[j]! > th ? row[j]! : 0;
      }
    }
    for (let d = 0; d < dIn; d++) {
      let s = p.bDec[d]!;
      for (let j = 0; j < dSae; j++) s += f[i * dSae + j]! * p.wDec[j * dIn + d]!;
      xHat[i * dIn + d] = s;
    }
    pattern.push(Array.from(f.subarray(i * dSae, (i + 1) * dSae), (v) => (v !== 0 ? 1 : 0)).join(''));
  }
  let sse = 0;
  const residual = new Float64Array(n * dIn);
  for (let t = 0; t < n * dIn; t++) {
    residual[t] = x[t]! - xHat[t]!;
    sse += residual[t]! ** 2;
  }
  let loss = sse / n;
  const lambda = cfg.l1Coefficient;
  if (kind === 'relu') {
    for (let j = 0; j < dSae; j++) {
      let n2 = 0;
      for (let d = 0; d < dIn; d++) n2 += p.wDec[j * dIn + d]! ** 2;
      for (let i = 0; i < n; i++) loss += (lambda / n) * f[i * dSae + j]! * Math.sqrt(n2);
    }
  } else if (kind === 'jumprelu') {
    let nnz = 0;
    for (const v of f) if (v !== 0) nnz++;
    loss += (lambda * nnz) / n;
  } else if (opts.dead && opts.dead.some((v) => v)) {
    const target = opts.frozenAux?.residual ?? residual;
    const denom = opts.frozenAux?.denom ?? sse;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(pre.subarray(i * dSae, (i + 1) * dSae));
      const sel = topk(row, cfg.auxK, (j) => opts.dead![j] === 1);
      pattern.push(sel.join(','));
      for (let d = 0; d < dIn; d++) {
        let e = 0;
        for (const j of sel) e += Math.max(0, row[j]!) * p.wDec[j * dIn + d]!;
        s += (e - target[i * dIn + d]!) ** 2;
      }
    }
    loss += (cfg.auxKCoefficient * s) / denom;
  }
  return { loss, pre, f, xHat, pattern: pattern.join('|'), residual, denom: sse };
}
