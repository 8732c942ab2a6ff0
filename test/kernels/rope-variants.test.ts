import { describe, expect, it } from 'vitest';
import type { RopeOptions, RopeScaling } from '../../kernels/backend';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { ropeCpu, ropeInvFreq } from '../../kernels/rope.cpu';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randn } from './harness';

/** Llama 3.1's rope_scaling (config.json), with its theta 500000. */
const LLAMA31: RopeScaling = {
  type: 'llama3',
  factor: 8,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositions: 8192,
};

function reference(X: Float32Array, shape: number[], o: RopeOptions): Float32Array {
  return cpu(ropeCpu(f32(X, shape), o)).data;
}

/**
 * Per head, the index in the interleaved layout of each dim of the half layout: half dim i and
 * i + r/2 (i < r/2) are interleaved dims 2i and 2i + 1; pass-through dims stay in place.
 */
function halfToInterleaved(cols: number, headDim: number, rotaryDim: number): Int32Array {
  const map = new Int32Array(cols);
  const h = rotaryDim / 2;
  for (let c = 0; c < cols; c++) {
    const head = c - (c % headDim);
    const d = c % headDim;
    map[c] = head + (d >= rotaryDim ? d : d < h ? 2 * d : 2 * (d - h) + 1);
  }
  return map;
}

function permuteRows(X: Float32Array, cols: number, map: Int32Array, inverse: boolean): Float32Array {
  const out = new Float32Array(X.length);
  for (let r = 0; r < X.length; r += cols) {
    for (let c = 0; c < cols; c++) {
      if (inverse) out[r + c] = X[r + map[c]!]!;
      else out[r + map[c]!] = X[r + c]!;
    }
  }
  return out;
}

/**
 * HF's Llama 3 inverse frequencies as modeling_rope_utils computes them, in float32 (each
 * operation rounded with Math.fround), for the float32-vs-float64 comparison.
 */
function hfInvFreqF32(theta: number, dim: number, s: RopeScaling & { type: 'llama3' }): Float32Array {
  const F = Math.fround;
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = F(1 / F(Math.pow(theta, F((2 * i) / dim))));
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  const out = new Float32Array(inv.length);
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i]!;
    const wavelen = F(F(2 * Math.PI) / f);
    const llama = wavelen > lowFreqWavelen ? F(f / s.factor) : f;
    const smooth = F(
      F(F(s.originalMaxPositions / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor),
    );
    const smoothed = F(F(F((1 - smooth) * llama) / s.factor) + F(smooth * llama));
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    out[i] = medium ? smoothed : llama;
  }
  return out;
}

describe('ropeInvFreq', () => {
  it('is theta^(−2i/rotaryDim) without scaling (the original expression)', () => {
    const inv = ropeInvFreq(10000, 64);
    for (let i = 0; i < 32; i++) expect(inv[i]).toBe(1 / Math.pow(10000, (2 * i) / 64));
    expect(ropeInvFreq(100, 4)[1]).toBeCloseTo(0.1, 15);
  });

  it('divides every frequency by factor with linear scaling', () => {
    const plain = ropeInvFreq(10000, 16);
    const lin = ropeInvFreq(10000, 16, { type: 'linear', factor: 4 });
    for (let i = 0; i < 8; i++) expect(lin[i]).toBe(plain[i]! / 4);
  });

  it('applies Llama 3.1 scaling band by band (HF _compute_llama3_parameters)', () => {
    const plain = ropeInvFreq(500000, 128);
    const scaled = ropeInvFreq(500000, 128, LLAMA31);
    let kept = 0;
    let divided = 0;
    let blended = 0;
    for (let i = 0; i < 64; i++) {
      const f = plain[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 8192 / 4) {
        expect(scaled[i]).toBe(f); // high frequencies: unchanged
        kept++;
      } else if (wavelen > 8192 / 1) {
        expect(scaled[i]).toBe(f / 8); // low frequencies: interpolated by factor
        divided++;
      } else {
        // In between: (1 − s)·f/8 + s·f with s = (8192/wavelen − 1)/(4 − 1), strictly between f/8 and f.
        const s = (8192 / wavelen - 1) / 3;
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        expect(scaled[i]).toBeCloseTo(((1 - s) * f) / 8 + s * f, 15);
        expect(scaled[i]!).toBeGreaterThan(f / 8);
        expect(scaled[i]!).toBeLessThan(f);
        blended++;
      }
    }
    // Llama 3.1 8B (head_dim 128, theta 500000): 29 kept, 6 blended, 29 divided.
    expect([kept, blended, divided]).toEqual([29, 6, 29]);
    // Scaled frequencies still decrease with the pair index.
    for (let i = 1; i < 64; i++) expect(scaled[i]!).toBeLessThan(scaled[i - 1]!);
  });

  it('differs from HF float32 frequencies by ~1e-7 relative; at positions < 512 the outputs by < 1e-4', () => {
    const [theta, headDim, rows, heads] = [500000, 64, 512, 2];
    const s = LLAMA31 as RopeScaling & { type: 'llama3' };
    const inv64 = ropeInvFreq(theta, headDim, s);
    const inv32 = hfInvFreqF32(theta, headDim, s);
    let freqRel = 0;
    for (let i = 0; i < inv32.length; i++)
      freqRel = Math.max(freqRel, Math.abs(inv32[i]! - inv64[i]!) / inv64[i]!);
    // HF's rotate_half application in float32: angle = f32(pos · inv), cos/sin of it rounded to f32.
    const F = Math.fround;
    const cols = heads * headDim;
    const h = headDim / 2;
    const X = randn(99, rows * cols);
    const hf = new Float32Array(X.length);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < h; i++) {
        const angle = F(r * inv32[i]!);
        const c = F(Math.cos(angle));
        const sn = F(Math.sin(angle));
        for (let base = r * cols; base < (r + 1) * cols; base += headDim) {
          const a = X[base + i]!;
          const b = X[base + i + h]!;
          hf[base + i] = F(F(a * c) - F(b * sn));
          hf[base + i + h] = F(F(b * c) + F(a * sn));
        }
      }
    }
    const ours = reference(X, [rows, cols], { headDim, theta, style: 'half', scaling: s });
    // Relative to each pair's length (the rotation's scale).
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      for (let base = r * cols; base < (r + 1) * cols; base += headDim) {
        for (let i = 0; i < h; i++) {
          const norm = Math.hypot(X[base + i]!, X[base + i + h]!);
          for (const j of [base + i, base + i + h])
            worst = Math.max(worst, Math.abs(ours[j]! - hf[j]!) / norm);
        }
      }
    }
    expect(freqRel).toBeLessThan(5e-7); // measured 2.65e-7
    // Measured 3.4e-5: well inside 1e-4.
    expect(worst).toBeLessThan(5e-5);
  });
});

describeBackends('rope variants', ({ b, checked }) => {
  async function run(X: Float32Array, shape: number[], opts: RopeOptions): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const y = b().rope(x, opts);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, y);
      return r;
    });
  }

  it('keeps the original llama2.c rope as the default and as style interleaved', async () => {
    const [rows, cols, headDim, pos0] = [9, 32, 8, 17];
    const X = randn(3, rows * cols);
    const original = cpu(ropeCpu(f32(X, [rows, cols]), headDim, pos0, 10000)).data;
    expectClose(
      await run(X, [rows, cols], { headDim, pos0 }),
      original,
      b().kind === 'cpu' ? 0 : TOL_ELEMENTWISE,
    );
    expectClose(
      await run(X, [rows, cols], { headDim, pos0, style: 'interleaved', rotaryDim: headDim }),
      await run(X, [rows, cols], { headDim, pos0 }),
      0,
    );
  });

  it('rotates half-split pairs (i, i + rotaryDim/2) by pos · theta^(−2i/rotaryDim)', async () => {
    // headDim 4, theta 100: pair 0 = dims (0, 2) turns by pos rad, pair 1 = dims (1, 3) by pos/10.
    const X = new Float32Array([1, 3, 0, 4, 0.5, -1, 2, 0.25]);
    const got = await run(X, [2, 4], { headDim: 4, pos0: 3, theta: 100, style: 'half' });
    const rot = (a: number, c: number, t: number): [number, number] => [
      a * Math.cos(t) - c * Math.sin(t),
      c * Math.cos(t) + a * Math.sin(t),
    ];
    const expected: number[] = [];
    for (const [r, pos] of [
      [0, 3],
      [1, 4],
    ] as const) {
      const x = X.subarray(r * 4, r * 4 + 4);
      const [o0, o2] = rot(x[0]!, x[2]!, pos);
      const [o1, o3] = rot(x[1]!, x[3]!, pos / 10);
      expected.push(o0, o1, o2, o3);
    }
    expectClose(got, expected, 1e-6);
  });

  it('rotates only the leading rotaryDim dims of each head and copies the rest', async () => {
    // headDim 6, rotaryDim 2: the only pair (dims 0 and 1 of each head) has frequency 1.
    const X = Float32Array.from({ length: 12 }, (_, i) => i + 1);
    for (const style of ['interleaved', 'half'] as const) {
      const got = await run(X, [1, 12], { headDim: 6, rotaryDim: 2, pos0: 2, style });
      const [c, s] = [Math.cos(2), Math.sin(2)];
      expectClose(
        got,
        [1 * c - 2 * s, 1 * s + 2 * c, 3, 4, 5, 6, 7 * c - 8 * s, 7 * s + 8 * c, 9, 10, 11, 12],
        1e-6,
        style,
      );
    }
  });

  for (const [rows, heads, headDim, rotaryDim, pos0] of [
    [5, 3, 8, 8, 0],
    [7, 2, 64, 16, 100], // Pythia: rotary_pct 0.25
    [6, 2, 80, 32, 37], // Phi-2: partial_rotary_factor 0.4
    [4, 4, 10, 6, 3],
  ] as const) {
    it(`half style is interleaved rope on permuted dims [${rows}, ${heads}·${headDim}], rotaryDim ${rotaryDim}`, async () => {
      const cols = heads * headDim;
      const X = randn(rows + headDim + rotaryDim, rows * cols);
      const map = halfToInterleaved(cols, headDim, rotaryDim);
      const half = await run(X, [rows, cols], { headDim, rotaryDim, pos0, style: 'half' });
      const inter = await run(permuteRows(X, cols, map, false), [rows, cols], { headDim, rotaryDim, pos0 });
      // The same pairs, angles and products in another order: equal bit for bit.
      expectClose(half, permuteRows(inter, cols, map, true), 0);
      // The pass-through dims are untouched.
      for (let i = 0; i < X.length; i++) if (i % headDim >= rotaryDim) expect(half[i]).toBe(X[i]);
    });
  }

  it('with linear scaling by 4, position 4k equals unscaled position k', async () => {
    const [cols, headDim] = [16, 8];
    const X = randn(8, 3 * cols);
    for (const style of ['interleaved', 'half'] as const) {
      for (let r = 0; r < 3; r++) {
        const row = X.slice(r * cols, (r + 1) * cols);
        const scaled = await run(row, [1, cols], {
          headDim,
          style,
          pos0: 4 * (5 + r),
          scaling: { type: 'linear', factor: 4 },
        });
        const plain = await run(row, [1, cols], { headDim, style, pos0: 5 + r });
        expectClose(scaled, plain, 0, `${style} row ${r}`);
      }
    }
  });

  for (const [name, rows, heads, headDim, rotaryDim, pos0, theta, style, scaling] of [
    ['llama 3.1 (half)', 9, 2, 128, 128, 0, 500000, 'half', LLAMA31],
    ['llama 3.1 at pos0 8000 (interleaved)', 3, 2, 64, 64, 8000, 500000, 'interleaved', LLAMA31],
    [
      'llama 3.2-style small',
      33,
      4,
      16,
      16,
      100,
      500000,
      'half',
      { ...LLAMA31, factor: 32, originalMaxPositions: 64 },
    ],
    ['linear, partial rotary', 17, 3, 24, 12, 7, 10000, 'half', { type: 'linear', factor: 2.5 }],
    ['unscaled, half, partial rotary', 512, 2, 16, 8, 0, 10000, 'half', undefined],
  ] as const) {
    it(`matches the float64 reference: ${name}`, async () => {
      const cols = heads * headDim;
      const X = randn(rows + cols + pos0, rows * cols);
      const o: RopeOptions = { headDim, rotaryDim, pos0, theta, style, scaling };
      const got = await run(X, [rows, cols], o);
      // cos/sin rounded to f32 and two f32 products: a few ulps of values of order 1–4 (measured
      // ≤ 2.4e-7 on SwiftShader in every case).
      expectClose(got, reference(X, [rows, cols], o), 2e-6);
    });
  }

  it('keeps pair norms and agrees with one-row-at-a-time application (half, llama3 scaling)', async () => {
    const [rows, cols, headDim, pos0] = [40, 64, 32, 100];
    const o = { headDim, style: 'half', theta: 500000, scaling: LLAMA31 } as const;
    const X = randn(7, rows * cols);
    const all = await run(X, [rows, cols], { ...o, pos0 });
    for (let base = 0; base < X.length; base += headDim) {
      for (let i = 0; i < headDim / 2; i++) {
        const [a, c] = [base + i, base + i + headDim / 2];
        expect(Math.hypot(all[a]!, all[c]!)).toBeCloseTo(Math.hypot(X[a]!, X[c]!), 5);
      }
    }
    for (const r of [0, 1, 17, rows - 1]) {
      const one = await run(X.slice(r * cols, (r + 1) * cols), [1, cols], { ...o, pos0: pos0 + r });
      expectClose(one, all.subarray(r * cols, (r + 1) * cols), 0, `row ${r}`);
    }
  });

  it('rejects bad rotaryDim, theta, style and scaling', () => {
    const x = b().tensor(new Float32Array(24), [2, 12]);
    expect(() => b().rope(x, { headDim: 6, rotaryDim: 3 })).toThrow(
      /rope: rotaryDim 3 must be even and in \[2, headDim 6\]/,
    );
    expect(() => b().rope(x, { headDim: 6, rotaryDim: 8 })).toThrow(/rope: rotaryDim 8 must be even/);
    expect(() => b().rope(x, { headDim: 6, rotaryDim: 0 })).toThrow(/rope: rotaryDim 0 must be even/);
    expect(() => b().rope(x, { headDim: 6, theta: 0 })).toThrow(
      /rope: theta must be a finite number > 0, got 0/,
    );
    expect(() => b().rope(x, { headDim: 6, style: 'neox' as 'half' })).toThrow(
      /rope: style must be 'interleaved' or 'half', got 'neox'/,
    );
    expect(() => b().rope(x, { headDim: 6, scaling: { type: 'linear', factor: 0 } })).toThrow(
      /rope: scaling factor must be a finite number > 0, got 0/,
    );
    expect(() =>
      b().rope(x, { headDim: 6, scaling: { ...LLAMA31, lowFreqFactor: 4 } as RopeScaling }),
    ).toThrow(/rope: llama3 scaling needs finite 0 < lowFreqFactor < highFreqFactor, got 4 and 4/);
    expect(() =>
      b().rope(x, { headDim: 6, scaling: { ...LLAMA31, originalMaxPositions: 0 } as RopeScaling }),
    ).toThrow(/rope: llama3 scaling needs originalMaxPositions > 0, got 0/);
    expect(() =>
      b().rope(x, { headDim: 6, scaling: { type: 'yarn', factor: 2 } as unknown as RopeScaling }),
    ).toThrow(/rope: unknown scaling type 'yarn'/);
    b().dispose(x);
  });
});
