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

  it('TopK with AuxK over dead latents, all tensors', () => {
    const cfg: SaeConfig = {
      kind: 'topk',
      dIn,
      dSae,
      k: 3,
      auxK: 4,
      auxKCoefficient: 0.5,
      hookName: 'h',
      normalizeDecoder: true,
    };
    const dead = Uint8Array.from({ length: dSae }, (_, j) => (j % 2 === 0 ? 1 : 0));
    checkGradients(cfg, ['wEnc', 'bEnc', 'wDec', 'bDec'], dead);
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
