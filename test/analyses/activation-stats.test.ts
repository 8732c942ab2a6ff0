/**
 * Activation statistics against direct computations: a constructed tensor with a known massive
 * activation, outlier channel and sparsity, and a real hook tensor of the GPT-2 fixture checked
 * channel by channel against formulas written out here.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activationStats } from '../../analyses/interp';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadFixtureModel, readArchFixture } from '../helpers/arch-fixtures';

const root = path.resolve(import.meta.dirname, '../..');

describe('activation statistics', () => {
  it('flags a massive activation and an outlier channel, and counts near-zero entries', () => {
    const T = 4;
    const C = 3;
    // channel 0: small; channel 1: one 7.5 (outlier, not massive); channel 2: zeros, then 400 at token 3.
    const a = Float32Array.from([0.1, 0, 0, -0.1, 7.5, 0, 0.2, 0.005, 0, -0.2, 0.3, 400]);
    const s = activationStats(a, T, C, { nearZero: 0.01 });
    expect(s.outlierChannels).toEqual([1, 2]);
    // median |a| = 0.1 → 400 > 100 and > 1000 × 0.1.
    expect(s.medianAbs).toBeCloseTo(0.1, 6);
    expect(s.massive).toEqual([{ token: 3, channel: 2, value: 400 }]);
    expect(s.channelStats[2]!.nearZero).toBe(0.75);
    expect(s.tokenSparsity).toEqual([2 / 3, 1 / 3, 2 / 3, 0]);
    expect(() => activationStats(Float32Array.of(1, Number.NaN), 1, 2)).toThrow(/token 0, channel 1 is NaN/);
  });

  it('matches a direct computation on the GPT-2 fixture’s blocks.1.hook_resid_post', async () => {
    const f = await readArchFixture(
      'gpt2',
      async (rel) => new Uint8Array(await readFile(path.join(root, rel))),
    );
    const model = loadFixtureModel(f, createCpuBackend());
    let a!: Float32Array;
    let shape: readonly number[] = [];
    model.backend.dispose(
      await model.forward(f.tokens.slice(0, 32), {
        hooks: {
          'blocks.1.hook_resid_post': async (t) => {
            a = await model.backend.read(t);
            shape = t.shape;
          },
        },
      }),
    );
    const [T, C] = shape as [number, number];
    const s = activationStats(a, T, C, { nearZero: 0.05 });
    for (const c of [0, 7, C - 1]) {
      const col = Array.from({ length: T }, (_, t) => a[t * C + c]!);
      const mean = col.reduce((x, y) => x + y, 0) / T;
      const variance = col.reduce((x, y) => x + (y - mean) ** 2, 0) / T;
      const fourth = col.reduce((x, y) => x + (y - mean) ** 4, 0) / T;
      const st = s.channelStats[c]!;
      expect(st.meanAbs).toBeCloseTo(col.reduce((x, y) => x + Math.abs(y), 0) / T, 6);
      expect(st.maxAbs).toBeCloseTo(Math.max(...col.map(Math.abs)), 6);
      expect(st.kurtosis).toBeCloseTo(fourth / variance ** 2 - 3, 5);
      expect(st.nearZero).toBeCloseTo(col.filter((v) => Math.abs(v) <= 0.05).length / T, 12);
    }
    const sorted = Array.from(a, Math.abs).sort((x, y) => x - y);
    const mid = sorted.length / 2;
    expect(s.medianAbs).toBeCloseTo(
      sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
      6,
    );
    model.dispose();
  });
});
