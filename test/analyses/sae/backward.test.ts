/**
 * Analytic gradients (backward.ts) against central finite differences of an independent float64
 * reference loss, for every SAE kind and every parameter tensor; entries whose ±h perturbation
 * changes a discrete choice (active set, TopK/AuxK selection) are skipped. JumpReLU's threshold has
 * no true gradient, so its straight-through pseudo-gradient is checked against the formula.
 */
import { describe, expect, it } from 'vitest';
import { saeBackward } from '../../../analyses/sae/backward';
import { forward } from '../../../analyses/sae/forward';
import { initSaeParams } from '../../../analyses/sae/init';
import { saeLoss } from '../../../analyses/sae/loss';
import { mulberry32 } from '../../../analyses/sae/prng';
import {
  resolveConfig,
  type SaeConfig,
  type SaeParamName,
  type SaeParams,
} from '../../../analyses/sae/types';
import { normalBatch, referenceLoss, toParams64 } from './sae-fixtures';

const dIn = 5;
const dSae = 12;
const n = 7;

/** Random, deliberately not unit-norm parameters so every term of every gradient is exercised. */
function randomParams(cfg: SaeConfig, seed: number): SaeParams {
  const p = initSaeParams(cfg, seed);
  const rng = mulberry32(seed + 1);
  for (const t of [p.wEnc, p.wDec])
    for (let i = 0; i < t.length; i++) t[i] = t[i]! * (0.5 + rng.uniform()) + 0.1 * rng.normal();
  for (let i = 0; i < dSae; i++) p.bEnc[i] = 0.3 * rng.normal();
  for (let i = 0; i < dIn; i++) p.bDec[i] = 0.3 * rng.normal();
  if (p.logThreshold) for (let i = 0; i < dSae; i++) p.logThreshold[i] = Math.log(0.2 + 0.5 * rng.uniform());
  return p;
}

function checkGradients(cfg: SaeConfig, names: SaeParamName[], dead?: Uint8Array): void {
  const c = resolveConfig(cfg);
  const params = randomParams(cfg, 11);
  const x = normalBatch(n, dIn, 5);
  const fwd = forward(params, c, x);
  const { terms, cache } = saeLoss(params, c, x, fwd, dead);
  const grads = saeBackward(params, c, x, fwd, cache);

  const p64 = toParams64(params);
  const base = referenceLoss(p64, c, x, { dead });
  expect(terms.loss).toBeCloseTo(base.loss, 4);
  if (c.kind === 'topk' && dead) expect(cache.aux).toBeDefined();
  // AuxK's target e = x − x̂ is held constant by the analytic gradient (a stop-gradient).
  const frozenAux = { residual: base.residual, denom: base.denom };
  const h = 1e-5;
  for (const name of names) {
    const t = p64[name];
    const g = grads[name]!;
    let checked = 0;
    let maxErr = 0;
    for (let i = 0; i < t.length; i++) {
      const v = t[i]!;
      t[i] = v + h;
      const plus = referenceLoss(p64, c, x, { dead, frozenAux });
      t[i] = v - h;
      const minus = referenceLoss(p64, c, x, { dead, frozenAux });
      t[i] = v;
      if (plus.pattern !== base.pattern || minus.pattern !== base.pattern) continue;
      const fd = (plus.loss - minus.loss) / (2 * h);
      const err = Math.abs(g[i]! - fd);
      maxErr = Math.max(maxErr, err / (1e-4 + 1e-3 * Math.abs(fd)));
      checked++;
    }
    expect(checked, `${name}: entries checked`).toBeGreaterThan(t.length * 0.8);
    expect(maxErr, `${name}: worst error / tolerance`).toBeLessThan(1);
  }
}

/** A TopK-like config with a strong AuxK term. */
const AUX = {
  dIn,
  dSae,
  k: 3,
  auxK: 4,
  auxKCoefficient: 0.5,
  hookName: 'h',
  normalizeDecoder: true,
} as const;

describe('saeBackward vs finite differences', () => {
  it('ReLU with decoder-norm-weighted L1, all tensors', () => {
    const cfg: SaeConfig = {
      kind: 'relu',
      dIn,
      dSae,
      l1Coefficient: 0.7,
      hookName: 'h',
      normalizeDecoder: false,
    };
    checkGradients(cfg, ['wEnc', 'bEnc', 'wDec', 'bDec']);
  });

  it('TopK without dead latents, all tensors', () => {
    const cfg: SaeConfig = { kind: 'topk', dIn, dSae, k: 3, hookName: 'h', normalizeDecoder: true };
    checkGradients(cfg, ['wEnc', 'bEnc', 'wDec', 'bDec']);
  });

  it.each(['topk', 'batchtopk'] as const)('%s with AuxK over dead latents, all tensors', (kind) => {
    const cfg: SaeConfig = { ...AUX, kind };
    const dead = Uint8Array.from({ length: dSae }, (_, j) => (j % 2 === 0 ? 1 : 0));
    checkGradients(cfg, ['wEnc', 'bEnc', 'wDec', 'bDec'], dead);
  });

  it('BatchTopK without dead latents (rows keep more or fewer than k), all tensors', () => {
    checkGradients({ ...AUX, kind: 'batchtopk' }, ['wEnc', 'bEnc', 'wDec', 'bDec']);
  });

  it('BatchTopK equals TopK, loss and gradients, when the batch keeps exactly k in every row', () => {
    // W_enc = I and rows with k large entries each (different latents per row): the k·n largest of
    // the batch are then the k largest of every row.
    const d = 8;
    const k = 2;
    const base = { dIn: d, dSae: d, k, auxK: 3, auxKCoefficient: 0.5, hookName: 'h', normalizeDecoder: true };
    const topk = resolveConfig({ ...base, kind: 'topk' });
    const batch = resolveConfig({ ...base, kind: 'batchtopk' });
    const params = initSaeParams(topk, 2);
    params.wEnc.fill(0);
    for (let j = 0; j < d; j++) params.wEnc[j * d + j] = 1;
    const rows = 4;
    const rng = mulberry32(4);
    const x = Float32Array.from({ length: rows * d }, () => 0.1 * rng.uniform());
    for (let i = 0; i < rows; i++)
      for (let s = 0; s < k; s++) x[i * d + ((2 * i + s) % d)] = 2 + rng.uniform();
    const dead = Uint8Array.from({ length: d }, (_, j) => (j >= 6 ? 1 : 0));
    const a = forward(params, topk, x);
    const b = forward(params, batch, x);
    expect(b.latents).toEqual(a.latents);
    for (let i = 0; i < rows; i++)
      expect(a.latents.subarray(i * d, (i + 1) * d).filter((v) => v !== 0).length).toBe(k);
    const la = saeLoss(params, topk, x, a, dead);
    const lb = saeLoss(params, batch, x, b, dead);
    expect(lb.terms).toEqual(la.terms);
    expect(la.terms.auxLoss).toBeGreaterThan(0);
    expect(saeBackward(params, batch, x, b, lb.cache)).toEqual(saeBackward(params, topk, x, a, la.cache));
  });

  it('JumpReLU (L0 via STE) for the non-threshold tensors', () => {
    const cfg: SaeConfig = {
      kind: 'jumprelu',
      dIn,
      dSae,
      l1Coefficient: 0.3,
      bandwidth: 0.05,
      hookName: 'h',
      normalizeDecoder: false,
    };
    checkGradients(cfg, ['wEnc', 'bEnc', 'wDec', 'bDec']);
  });

  it('JumpReLU threshold: the rectangle-kernel straight-through pseudo-gradient', () => {
    const eps = 0.4; // wide, so many (row, latent) pairs fall inside the kernel
    const lambda = 0.3;
    const cfg: SaeConfig = {
      kind: 'jumprelu',
      dIn,
      dSae,
      l1Coefficient: lambda,
      bandwidth: eps,
      hookName: 'h',
      normalizeDecoder: false,
    };
    const c = resolveConfig(cfg);
    const params = randomParams(cfg, 3);
    const x = normalBatch(n, dIn, 9);
    const fwd = forward(params, c, x);
    const { cache } = saeLoss(params, c, x, fwd);
    const grads = saeBackward(params, c, x, fwd, cache);
    const ref = referenceLoss(toParams64(params), c, x);
    let inKernel = 0;
    for (let j = 0; j < dSae; j++) {
      const theta = Math.exp(params.logThreshold![j]!);
      let gTheta = 0;
      for (let i = 0; i < n; i++) {
        const z = ref.pre[i * dSae + j]!;
        if (!(Math.abs((z - theta) / eps) < 0.5)) continue;
        inKernel++;
        // ∂L/∂f_ij, with ∂f/∂θ := −(θ/ε)K and ∂H/∂θ := −(1/ε)K (Rajamanoharan et al. 2024, eqs. 11–12).
        let dLdf = 0;
        for (let d = 0; d < dIn; d++) {
          dLdf += (2 / n) * (ref.xHat[i * dIn + d]! - x[i * dIn + d]!) * params.wDec[j * dIn + d]!;
        }
        gTheta += dLdf * (-theta / eps) + (lambda / n) * (-1 / eps);
      }
      const expected = theta * gTheta; // chain rule through θ = exp(log θ)
      expect(grads.logThreshold![j]!).toBeCloseTo(expected, 4);
    }
    expect(inKernel).toBeGreaterThan(5);
  });
});
