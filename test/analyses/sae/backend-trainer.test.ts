/**
 * BackendSaeTrainer on the CPU backend against the reference SaeTrainer: the same seed and batches
 * give the same loss terms, dead fractions and parameters (to float32 rounding of the different
 * summation orders), for every kind, with AuxK active for TopK.
 */
import { describe, expect, it } from 'vitest';
import { BackendSaeTrainer } from '../../../analyses/sae/backend-trainer';
import { SaeTrainer } from '../../../analyses/sae/trainer';
import { SAE_PARAM_NAMES, type SaeConfig, type SaeKind } from '../../../analyses/sae/types';
import { createCpuBackend } from '../../../kernels/cpu-backend';
import { normalBatch } from './sae-fixtures';

const base = { dIn: 16, dSae: 64, hookName: 'h', normalizeDecoder: true } as const;
const configs: Record<SaeKind, SaeConfig> = {
  relu: { ...base, kind: 'relu', l1Coefficient: 0.05 },
  // deadAfterTokens below one batch: after step 1 every latent that did not fire is dead → AuxK.
  topk: { ...base, kind: 'topk', k: 4, deadAfterTokens: 32 },
  batchtopk: { ...base, kind: 'batchtopk', k: 4, deadAfterTokens: 32 },
  jumprelu: { ...base, kind: 'jumprelu', l1Coefficient: 0.01, bandwidth: 0.5, initialThreshold: 0.2 },
};

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('BackendSaeTrainer on the cpu backend', () => {
  it.each(['relu', 'topk', 'jumprelu', 'batchtopk'] as const)(
    '%s: matches SaeTrainer over 10 steps',
    async (kind) => {
      const cfg = configs[kind];
      const ref = new SaeTrainer(cfg, { seed: 3, adam: { lr: 1e-3 } });
      const be = new BackendSaeTrainer(createCpuBackend(), cfg, { seed: 3, adam: { lr: 1e-3 } });
      let sawAux = false;
      for (let s = 0; s < 10; s++) {
        const x = normalBatch(64, cfg.dIn, 50 + s);
        const r = ref.step(x);
        const g = await be.step(x);
        if ((r.auxLoss ?? 0) > 0) sawAux = true;
        expect(Math.abs(g.loss - r.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.loss)));
        expect(Math.abs(g.mse - r.mse)).toBeLessThan(1e-4 * Math.max(1, r.mse));
        expect(g.l0).toBe(r.l0);
        expect(g.deadFraction).toBe(r.deadFraction);
        expect(Math.abs((g.auxLoss ?? 0) - (r.auxLoss ?? 0))).toBeLessThan(1e-4);
      }
      if (kind === 'topk' || kind === 'batchtopk') expect(sawAux).toBe(true);
      if (kind === 'batchtopk') expect(be.threshold.value).toBeCloseTo(ref.threshold.value!, 5);
      const got = await be.readParams();
      for (const name of SAE_PARAM_NAMES) {
        const want = ref.params[name];
        if (!want) continue;
        expect(maxDiff(got[name]!, want), name).toBeLessThan(1e-4);
      }
      be.dispose();
    },
  );

  it('fails loudly on a bad batch and after dispose', async () => {
    const be = new BackendSaeTrainer(createCpuBackend(), configs.relu, { seed: 1, adam: { lr: 1e-3 } });
    await expect(be.step(new Float32Array(17))).rejects.toThrow(/not a multiple of its row width 16/);
    be.dispose();
    await expect(be.step(new Float32Array(16))).rejects.toThrow(/used after dispose/);
  });
});
