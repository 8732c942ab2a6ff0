import { expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { TOL_ELEMENTWISE, TOL_REDUCTION, describeBackends, expectClose, randInt, randn } from './harness';

async function combine(
  be: Backend,
  y: Float32Array,
  yShape: number[],
  slots: Int32Array,
  gates: Float32Array,
  k: number,
) {
  const t = slots.length / k;
  const yt = be.tensor(y, yShape);
  const st = be.tensor(slots, [t, k]);
  const gt = be.tensor(gates, [t, k]);
  const out = be.moeCombine(yt, st, gt);
  expect(out.shape).toEqual([t, yShape[1]]);
  const data = await be.read(out);
  be.dispose(yt, st, gt, out);
  return data;
}

/** out[t] = Σ_c gates[t, c] · y[slots[t, c]] (slot −1 skipped), with plain loops. */
function naiveCombine(
  y: Float32Array,
  d: number,
  slots: Int32Array,
  gates: Float32Array,
  k: number,
): Float32Array {
  const t = slots.length / k;
  const out = new Float32Array(t * d);
  for (let i = 0; i < t; i++) {
    for (let c = 0; c < k; c++) {
      const s = slots[i * k + c]!;
      if (s < 0) continue;
      for (let e = 0; e < d; e++) out[i * d + e]! += gates[i * k + c]! * y[s * d + e]!;
    }
  }
  return out;
}

describeBackends('moeCombine', ({ b, checked }) => {
  it('sums gate-weighted rows per token (hand-checked), skipping slot -1', async () => {
    // y rows: expert 0 produced rows 0..1 (tokens 0, 2), expert 1 rows 2..3 (tokens 0, 1).
    const y = new Float32Array([1, 1, 2, 2, 10, 20, 30, 40]);
    const slots = Int32Array.of(0, 2, 3, -1, 1, -1);
    const gates = Float32Array.of(0.75, 0.25, 1, 5, 0.5, 9);
    const got = await checked(() => combine(b(), y, [4, 2], slots, gates, 2));
    expectClose(got, [0.75 + 2.5, 0.75 + 5, 30, 40, 1, 1], TOL_ELEMENTWISE);
  });

  it('k = 1 and T = 1', async () => {
    const got = await checked(() =>
      combine(b(), new Float32Array([1, 2, 3]), [1, 3], Int32Array.of(0), Float32Array.of(2), 1),
    );
    expect(Array.from(got)).toEqual([2, 4, 6]);
  });

  it('an expert with no tokens leaves no trace; a token whose slots are all -1 gets zeros', async () => {
    const y = new Float32Array([1, 2, 3, 4]);
    const got = await checked(() =>
      combine(b(), y, [2, 2], Int32Array.of(1, -1, -1, -1), Float32Array.of(1, 1, 1, 1), 2),
    );
    expect(Array.from(got)).toEqual([3, 4, 0, 0]);
    const empty = await checked(() =>
      combine(b(), new Float32Array(0), [0, 2], Int32Array.of(-1, -1), Float32Array.of(1, 1), 2),
    );
    expect(Array.from(empty)).toEqual([0, 0]);
  });

  // [T, k, D]: every (token, choice) gets its own row of y, shuffled as an expert-by-expert layout.
  for (const [t, k, d] of [
    [1, 2, 8],
    [37, 2, 64],
    [64, 4, 24],
    [100, 8, 16], // k = E
  ] as const) {
    it(`matches plain loops: T=${t}, k=${k}, D=${d}`, async () => {
      const n = t * k;
      const perm = Int32Array.from({ length: n }, (_, i) => i);
      const r = randInt(t + k, n, 1 << 30);
      for (let i = n - 1; i > 0; i--) {
        const j = r[i]! % (i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const y = randn(d, n * d);
      const gates = randn(t * k + 1, t * k);
      const want = naiveCombine(y, d, perm, gates, k);
      const got = await checked(() => combine(b(), y, [n, d], perm, gates, k));
      expectClose(got, want, TOL_REDUCTION);
    });
  }

  it('rejects mismatched shapes and out-of-range slots (cpu)', async () => {
    const be = b();
    const y = be.tensor(new Float32Array(4), [2, 2]);
    const s = be.tensor(Int32Array.of(0, 1), [1, 2]);
    const g = be.tensor(Float32Array.of(1, 1, 1), [1, 3]);
    const y1 = be.tensor(new Float32Array(4), [4]);
    try {
      expect(() => be.moeCombine(y, s, g)).toThrow(
        /moeCombine slots\/gates: shapes differ: \[1, 2\] vs \[1, 3\]/,
      );
      expect(() => be.moeCombine(y1, s, g)).toThrow(/moeCombine: y must be \[n, D\], got \[4\]/);
    } finally {
      be.dispose(y, s, g, y1);
    }
    if (be.kind === 'cpu') {
      await expect(
        combine(be, new Float32Array(4), [2, 2], Int32Array.of(0, 2), Float32Array.of(1, 1), 2),
      ).rejects.toThrow(/moeCombine: slot 2 of token 0 \(choice 1\) is outside \[0, 2\) and not -1/);
    }
  });
});
