/**
 * BackendSaeTrainer on WebGPU against the CPU reference SaeTrainer, in headless Chromium: one step
 * agrees within 1e-4 (max |diff|) on every parameter and loss term for each kind, TopK with half
 * its latents dead so AuxK is active; after 20 steps parameters stay within 1e-5 and every step's
 * loss within 1e-3 (float32 rounding of different summation orders, carried through Adam).
 * Measured on SwiftShader: ≤ 1.2e-7 on parameters and ≤ 9e-6 on the loss after one step.
 */
import { describe, expect, it } from 'vitest';
import { BackendSaeTrainer } from '../../analyses/sae/backend-trainer';
import { SaeTrainer } from '../../analyses/sae/trainer';
import { SAE_PARAM_NAMES, type SaeConfig, type SaeKind } from '../../analyses/sae/types';
import { mulberry32 } from '../../analyses/sae/prng';
import type { WebGpuBackend } from '../../kernels/webgpu-backend';
import { maxAbsDiff, webGpuSuite } from '../kernels/harness';

const base = { dIn: 16, dSae: 64, hookName: 'h', normalizeDecoder: true } as const;
const CONFIGS: Record<SaeKind, SaeConfig> = {
  relu: { ...base, kind: 'relu', l1Coefficient: 0.05 },
  topk: { ...base, kind: 'topk', k: 6, auxK: 8, deadAfterTokens: 100 },
  batchtopk: { ...base, kind: 'batchtopk', k: 6, auxK: 8, deadAfterTokens: 100 },
  jumprelu: { ...base, kind: 'jumprelu', l1Coefficient: 0.01, bandwidth: 0.5, initialThreshold: 0.2 },
};
const ONE_STEP_TOL = 1e-4;
const MANY_STEPS = 20;
const MANY_STEPS_PARAM_TOL = 1e-5;
const MANY_STEPS_LOSS_TOL = 1e-3;

function batch(seed: number, n = 64, dIn = 16): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n * dIn }, () => r.normal());
}

/** Both trainers from the same seed; TopK starts with every other latent dead (AuxK active). */
function pair(gpu: WebGpuBackend, kind: SaeKind) {
  const opts = { seed: 7, adam: { lr: 1e-3 } };
  const ref = new SaeTrainer(CONFIGS[kind], opts);
  const dev = new BackendSaeTrainer(gpu, CONFIGS[kind], opts);
  if (kind === 'topk' || kind === 'batchtopk') {
    for (let j = 0; j < base.dSae; j += 2) {
      ref.tokensSinceFired[j] = 1e6;
      dev.tokensSinceFired[j] = 1e6;
    }
  }
  return { ref, dev };
}

async function paramDiffs(ref: SaeTrainer, dev: BackendSaeTrainer): Promise<Record<string, number>> {
  const got = await dev.readParams();
  const out: Record<string, number> = {};
  for (const name of SAE_PARAM_NAMES) {
    const want = ref.params[name];
    if (want) out[name] = maxAbsDiff(got[name]!, want).diff;
  }
  return out;
}

describe('SAE training step [webgpu vs cpu reference]', () => {
  const webgpu = webGpuSuite();

  for (const kind of ['relu', 'topk', 'jumprelu', 'batchtopk'] as const) {
    it(`${kind}: one step matches within ${ONE_STEP_TOL}`, async () => {
      const gpu = webgpu();
      const { ref, dev } = pair(gpu, kind);
      const x = batch(11);
      const want = ref.step(x);
      const got = await gpu.ctx.checked(() => dev.step(x));
      if (kind === 'topk' || kind === 'batchtopk')
        expect(want.auxLoss, 'AuxK must be active').toBeGreaterThan(0);
      if (kind === 'batchtopk') {
        expect(dev.threshold.value).toBeGreaterThan(0);
        expect(Math.abs(dev.threshold.value! - ref.threshold.value!)).toBeLessThan(ONE_STEP_TOL);
      }
      const terms = {
        loss: Math.abs(got.loss - want.loss),
        mse: Math.abs(got.mse - want.mse),
        l0: Math.abs(got.l0 - want.l0),
        deadFraction: Math.abs(got.deadFraction - want.deadFraction),
        auxLoss: Math.abs((got.auxLoss ?? 0) - (want.auxLoss ?? 0)),
      };
      const params = await paramDiffs(ref, dev);
      console.log(`sae-train-step ${kind} one step`, JSON.stringify({ terms, params }));
      for (const [name, d] of Object.entries({ ...terms, ...params })) {
        expect(d, `${kind} ${name}`).toBeLessThanOrEqual(ONE_STEP_TOL);
      }
      dev.dispose();
    });

    it(`${kind}: ${MANY_STEPS} steps stay within ${MANY_STEPS_PARAM_TOL} (loss ${MANY_STEPS_LOSS_TOL})`, async () => {
      const gpu = webgpu();
      const { ref, dev } = pair(gpu, kind);
      let worstLoss = 0;
      for (let s = 0; s < MANY_STEPS; s++) {
        const x = batch(100 + s);
        const want = ref.step(x);
        const got = await dev.step(x);
        worstLoss = Math.max(worstLoss, Math.abs(got.loss - want.loss));
      }
      const params = await paramDiffs(ref, dev);
      console.log(`sae-train-step ${kind} ${MANY_STEPS} steps`, JSON.stringify({ worstLoss, params }));
      expect(worstLoss).toBeLessThanOrEqual(MANY_STEPS_LOSS_TOL);
      for (const [name, d] of Object.entries(params)) {
        expect(d, `${kind} ${name}`).toBeLessThanOrEqual(MANY_STEPS_PARAM_TOL);
      }
      dev.dispose();
    });
  }
});
