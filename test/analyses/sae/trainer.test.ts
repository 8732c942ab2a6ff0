/**
 * SaeTrainer: Adam against a hand-computed step, the unit-norm decoder constraint, bit-identical
 * reproducibility, dead-latent tracking, and a TopK SAE learning synthetic sparse data.
 */
import { describe, expect, it } from 'vitest';
import { Adam } from '../../../analyses/sae/adam';
import { removeParallelDecoderGrad } from '../../../analyses/sae/decoder-norm';
import { forward } from '../../../analyses/sae/forward';
import { initDecoderBias } from '../../../analyses/sae/init';
import { SaeEvalAccumulator } from '../../../analyses/sae/metrics';
import { SaeTrainer } from '../../../analyses/sae/trainer';
import type { SaeConfig, SaeKind, SaeParams } from '../../../analyses/sae/types';
import { normalBatch, randomDirections, sparseData } from './sae-fixtures';

function rowNorms(wDec: Float32Array, dSae: number, dIn: number): number[] {
  return Array.from({ length: dSae }, (_, j) => Math.hypot(...wDec.subarray(j * dIn, (j + 1) * dIn)));
}

function bytes(p: SaeParams): Uint8Array[] {
  return [p.wEnc, p.bEnc, p.wDec, p.bDec, p.logThreshold ?? new Float32Array()].map(
    (t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength),
  );
}

const configs: Record<SaeKind, SaeConfig> = {
  relu: { kind: 'relu', dIn: 16, dSae: 48, l1Coefficient: 0.05, hookName: 'h', normalizeDecoder: true },
  topk: { kind: 'topk', dIn: 16, dSae: 48, k: 4, deadAfterTokens: 64, hookName: 'h', normalizeDecoder: true },
  batchtopk: {
    kind: 'batchtopk',
    dIn: 16,
    dSae: 48,
    k: 4,
    deadAfterTokens: 64,
    hookName: 'h',
    normalizeDecoder: true,
  },
  jumprelu: {
    kind: 'jumprelu',
    dIn: 16,
    dSae: 48,
    l1Coefficient: 0.01,
    hookName: 'h',
    normalizeDecoder: true,
  },
};

describe('Adam', () => {
  it('matches two hand-computed steps with bias correction', () => {
    const w = Float32Array.of(1, -2);
    const adam = new Adam({ w }, { lr: 0.1 });
    adam.step({ w: Float32Array.of(0.5, -0.1) });
    // Step 1: m̂ = g, v̂ = g², so each weight moves by lr·g/(|g| + ε) ≈ lr·sign(g).
    expect(w[0]).toBeCloseTo(1 - 0.1 * (0.5 / (0.5 + 1e-8)), 6);
    expect(w[1]).toBeCloseTo(-2 + 0.1 * (0.1 / (0.1 + 1e-8)), 6);
    adam.step({ w: Float32Array.of(-0.5, 0.2) });
    // Step 2, weight 0: m = 0.9·0.05 + 0.1·(−0.5) = −0.005, v = 0.999·0.00025 + 0.001·0.25 = 0.00049975.
    const m0 = -0.005 / (1 - 0.9 ** 2);
    const v0 = 0.00049975 / (1 - 0.999 ** 2);
    expect(w[0]).toBeCloseTo(0.9 - (0.1 * m0) / (Math.sqrt(v0) + 1e-8), 6);
    // Weight 1: m = 0.9·(−0.01) + 0.1·0.2 = 0.011, v = 0.999·0.00001 + 0.001·0.04 = 0.00004999.
    const m1 = 0.011 / (1 - 0.9 ** 2);
    const v1 = 0.00004999 / (1 - 0.999 ** 2);
    expect(w[1]).toBeCloseTo(-1.9 - (0.1 * m1) / (Math.sqrt(v1) + 1e-8), 6);
    expect(adam.t).toBe(2);
  });

  it('rejects a gradient of the wrong size and bad settings', () => {
    const adam = new Adam({ w: new Float32Array(3) }, { lr: 1e-3 });
    expect(() => adam.step({ w: new Float32Array(2) })).toThrow('gradient "w" has 2 values, parameter has 3');
    expect(() => new Adam({}, { lr: 0 })).toThrow('invalid Adam lr: 0');
    expect(() => new Adam({}, { lr: 1, beta2: 1 })).toThrow('invalid Adam beta2');
  });
});

describe('decoder norm constraint', () => {
  it('removes the gradient component along each decoder row', () => {
    const wDec = Float32Array.of(3, 4, 0, 1);
    const g = Float32Array.of(1, 1, 2, 5);
    removeParallelDecoderGrad(wDec, g, 2, 2);
    expect(g[0]! * 3 + g[1]! * 4).toBeCloseTo(0, 6);
    expect(Array.from(g.subarray(2))).toEqual([2, 0]);
  });

  it.each(['relu', 'topk', 'jumprelu', 'batchtopk'] as const)(
    '%s: decoder rows stay unit norm over training',
    (kind) => {
      const cfg = configs[kind];
      const trainer = new SaeTrainer(cfg, { seed: 4, adam: { lr: 1e-2 } });
      for (let s = 0; s < 5; s++) {
        const r = trainer.step(normalBatch(32, cfg.dIn, 100 + s));
        expect(Number.isFinite(r.loss)).toBe(true);
      }
      for (const norm of rowNorms(trainer.params.wDec, cfg.dSae, cfg.dIn)) expect(norm).toBeCloseTo(1, 5);
    },
  );
});

describe('SaeTrainer', () => {
  it.each(['relu', 'topk', 'jumprelu', 'batchtopk'] as const)(
    '%s: same seed and data give bit-identical parameters',
    (kind) => {
      const cfg = configs[kind];
      const run = (seed: number) => {
        const trainer = new SaeTrainer(cfg, { seed, adam: { lr: 3e-3 } });
        const results = [];
        for (let s = 0; s < 4; s++) results.push(trainer.step(normalBatch(40, cfg.dIn, 7 + s)));
        return { params: bytes(trainer.params), results };
      };
      const a = run(1);
      const b = run(1);
      expect(b.params).toEqual(a.params);
      expect(b.results).toEqual(a.results);
      expect(run(2).params[0]).not.toEqual(a.params[0]);
    },
  );

  it('counts tokens since each latent fired and reports the dead fraction', () => {
    const cfg: SaeConfig = { ...configs.topk, k: 1, deadAfterTokens: 50 };
    const trainer = new SaeTrainer(cfg, { seed: 3, adam: { lr: 1e-3 } });
    const r1 = trainer.step(normalBatch(20, cfg.dIn, 1));
    expect(r1.deadFraction).toBe(0); // 20 tokens ≤ 50
    let fired = 0;
    for (const t of trainer.tokensSinceFired) {
      if (t === 0) fired++;
      else expect(t).toBe(20);
    }
    expect(fired).toBeGreaterThan(0);
    expect(fired).toBeLessThanOrEqual(20);
    trainer.step(normalBatch(20, cfg.dIn, 2));
    const r3 = trainer.step(normalBatch(20, cfg.dIn, 3));
    const dead = Array.from(trainer.deadMask()).filter((v) => v).length;
    expect(r3.deadFraction).toBe(dead / cfg.dSae);
    expect(r3.auxLoss).toBeDefined();
  });

  it('learns synthetic sparse data with TopK: explained variance ≥ 0.9 in 300 steps', () => {
    const dIn = 32;
    const dSae = 128;
    const batch = 256;
    const steps = 300;
    const dirs = randomDirections(64, dIn, 1);
    const data = sparseData(dirs, dIn, batch * steps, 2, { maxActive: 4, offset: 0.5 });
    const held = sparseData(dirs, dIn, 2048, 3, { maxActive: 4, offset: 0.5 });
    const cfg: SaeConfig = {
      kind: 'topk',
      dIn,
      dSae,
      k: 4,
      deadAfterTokens: 2048,
      hookName: 'h',
      normalizeDecoder: true,
    };
    const bDec = initDecoderBias(data.subarray(0, 2048 * dIn), dIn, 'geometric-median');
    const trainer = new SaeTrainer(cfg, { seed: 1, adam: { lr: 3e-3 }, bDec });
    const first = trainer.step(data.subarray(0, batch * dIn));
    let last = first;
    for (let s = 1; s < steps; s++)
      last = trainer.step(data.subarray(s * batch * dIn, (s + 1) * batch * dIn));
    expect(last.mse).toBeLessThan(first.mse / 5);

    const acc = new SaeEvalAccumulator(dIn, dSae);
    const f = forward(trainer.params, trainer.cfg, held);
    acc.add(held, f.reconstruction, f.latents);
    const r = acc.result();
    console.log(
      `TopK synthetic: EV ${r.explainedVariance.toFixed(4)}, L0 ${r.l0.toFixed(2)}, dead ${r.deadFraction}`,
    );
    expect(r.explainedVariance).toBeGreaterThanOrEqual(0.9);
    expect(r.l0).toBeLessThanOrEqual(4);
    expect(r.l0).toBeGreaterThan(3);
  });
});
