import { describe, expect, it } from 'vitest';
import type { ActivationKind } from '../../kernels/backend';
import {
  ACTIVATION_KINDS,
  activationCpu,
  activationFn,
  erf,
  erfc,
  gatedActivationCpu,
} from '../../kernels/activation.cpu';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { describeBackends, expectClose, randn } from './harness';
import { expectRelClose } from './rel-close';

/** Python 3's math.erf / math.erfc (C libm, an implementation independent of ours). */
const ERF_TABLE: [z: number, erf: number, erfc: number][] = [
  [0, 0.0, 1.0],
  [1e-8, 1.1283791670955126e-8, 0.9999999887162083],
  [0.1, 0.1124629160182849, 0.8875370839817152],
  [0.5, 0.5204998778130465, 0.4795001221869535],
  [1, 0.8427007929497149, 0.15729920705028513],
  [1.5, 0.9661051464753108, 0.033894853524689274],
  [1.99, 0.995111413199617, 0.004888586800383003],
  [2, 0.9953222650189527, 0.004677734981047265],
  [3, 0.9999779095030014, 2.2090496998585438e-5],
  [5, 0.9999999999984626, 1.5374597944280351e-12],
  [10, 1.0, 2.088487583762545e-45],
  [26, 1.0, 5.663192408856143e-296],
  [-0.5, -0.5204998778130465, 1.5204998778130465],
  [-3, -0.9999779095030014, 1.9999779095030015],
];

/**
 * Reference values: gelu and gelu_tanh from mpmath at 100 digits (0.5x(1 + erf(x/√2)) and
 * 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) as written), silu and sigmoid from Python floats; the
 * task's gelu(1) = 0.8413447460685429 and gelu_tanh(1) = 0.8411919906082768 among them.
 */
const HAND: Record<ActivationKind, [x: number, y: number][]> = {
  gelu: [
    [1, 0.8413447460685429],
    [-1, -0.15865525393145705],
    [0.5, 0.34573123063700656],
    [3, 2.99595030590511],
    [-3, -0.0040496940948902835],
    [5, 4.999998566742141],
    [-5, -1.4332578593959695e-6],
    [-10, -7.619853024160526e-23],
    [0, 0],
  ],
  gelu_tanh: [
    [1, 0.8411919906082767],
    [-1, -0.1588080093917233],
    [0.5, 0.34571400982514394],
    [3, 2.996362607918227],
    [-3, -0.0036373920817730186],
    [5, 4.999999770820381],
    [-5, -2.291796196629506e-7],
    [-10, -1.204092348209806e-37],
    [0, 0],
  ],
  silu: [
    [1, 0.7310585786300049],
    [-1, -0.2689414213699951],
    [3, 2.8577223804672998],
    [-3, -0.14227761953270035],
    [-10, -0.0004539786870243439],
    [0, 0],
  ],
  sigmoid: [
    [1, 0.7310585786300049],
    [-1, 0.2689414213699951],
    [3, 0.9525741268224334],
    [-10, 4.5397868702434395e-5],
    [0, 0.5],
  ],
  relu: [
    [1.5, 1.5],
    [-1.5, 0],
    [0, 0],
  ],
};

/** Values at |x| = 30 and beyond (Python floats / exact limits). */
const LARGE: Record<ActivationKind, [x: number, y: number][]> = {
  gelu: [
    [30, 30],
    [-30, 0], // −1.47e-196
    [1000, 1000],
    [-1000, 0],
    [3e38, 3e38],
    [-3e38, 0],
  ],
  gelu_tanh: [
    [30, 30],
    [-30, 0],
    [1000, 1000],
    [-1000, 0],
    [3e38, 3e38],
    [-3e38, 0],
  ],
  silu: [
    [30, 29.999999999997197],
    [-30, -2.8072868906517896e-12],
    [1000, 1000],
    [-1000, 0],
    [3e38, 3e38],
    [-3e38, 0],
  ],
  sigmoid: [
    [30, 1],
    [-30, 9.357622968839299e-14],
    [1000, 1],
    [-1000, 0],
    [3e38, 1],
    [-3e38, 0],
  ],
  relu: [
    [30, 30],
    [-30, 0],
    [3e38, 3e38],
    [-3e38, 0],
  ],
};

/**
 * Relative tolerance of the GPU at hand-checked values, tails included (gelu(−10) ≈ −7.6e-23):
 * there the rounding of the f32 exponent fed to exp dominates (see the sweep test).
 */
const TAIL_RTOL_GPU = 1e-5;

/** Inputs of the sweeps: a dense grid over [−12, 12], tiny values, and scaled normals. */
function sweep(): Float32Array {
  const xs: number[] = [];
  for (let i = -12 * 256; i <= 12 * 256; i++) xs.push(i / 256);
  for (let e = -38; e <= -1; e++) xs.push(10 ** e, -(10 ** e), 3 * 10 ** e, -3 * 10 ** e);
  xs.push(...randn(42, 3000, 4));
  return Float32Array.from(xs);
}

describe('erf / erfc (float64 reference)', () => {
  it('match Python math.erf / math.erfc to 2e-13 relative', () => {
    for (const [z, e, c] of ERF_TABLE) {
      expect(Math.abs(erf(z) - e), `erf(${z}) = ${erf(z)}, expected ${e}`).toBeLessThanOrEqual(
        2e-13 * Math.abs(e) + 1e-300,
      );
      expect(Math.abs(erfc(z) - c), `erfc(${z}) = ${erfc(z)}, expected ${c}`).toBeLessThanOrEqual(
        2e-13 * Math.abs(c) + 1e-320,
      );
    }
  });

  it('satisfy erf(z) + erfc(z) = 1 and oddness', () => {
    for (let z = -6; z <= 6; z += 0.0625) {
      expect(Math.abs(erf(z) + erfc(z) - 1)).toBeLessThanOrEqual(1e-15);
      expect(erf(-z) + erf(z)).toBe(0);
    }
  });
});

describeBackends('activation', ({ b, checked }) => {
  async function run(X: Float32Array, shape: number[], kind: ActivationKind): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const y = b().activation(x, kind);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, y);
      return r;
    });
  }

  async function runGated(
    G: Float32Array,
    U: Float32Array,
    shape: number[],
    kind: ActivationKind,
  ): Promise<Float32Array> {
    return checked(async () => {
      const g = b().tensor(G, shape);
      const u = b().tensor(U, shape);
      const y = b().gatedActivation(g, u, kind);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(g, u, y);
      return r;
    });
  }

  for (const kind of ACTIVATION_KINDS) {
    it(`${kind}: hand-checked values`, async () => {
      const cases = HAND[kind];
      const got = await run(Float32Array.from(cases.map((c) => c[0])), [cases.length], kind);
      expectRelClose(
        got,
        cases.map((c) => c[1]),
        b().kind === 'cpu' ? 2 ** -24 : TAIL_RTOL_GPU,
        2 ** -126,
        kind,
      );
    });

    it(`${kind}: finite and right at large |x| (±30, ±1000, ±3e38)`, async () => {
      const cases = LARGE[kind];
      const got = await run(Float32Array.from(cases.map((c) => c[0])), [cases.length], kind);
      for (const v of got) expect(Number.isFinite(v), `${kind} gave ${v}`).toBe(true);
      expectRelClose(
        got,
        cases.map((c) => c[1]),
        b().kind === 'cpu' ? 2 ** -24 : TAIL_RTOL_GPU,
        2 ** -126,
        kind,
      );
    });

    it(`${kind}: matches the float64 reference on a sweep of [−12, 12], tiny and random values`, async () => {
      const X = sweep();
      const got = await run(X, [X.length], kind);
      const exact = Array.from(X, activationFn(kind));
      const ref = cpu(activationCpu(f32(X, [X.length]), kind)).data;
      if (b().kind === 'cpu') {
        // The float64 value rounded once to float32: within half an ulp.
        expectClose(got, ref, 0);
        expectRelClose(got, exact, 2 ** -24, 2 ** -126, kind);
      } else {
        // Within ~1.5 f32 ulps of |y| + 1 everywhere (measured ≤ 1.1e-7). Relative to |y| alone
        // the tails (|y| < 1e-4) lose more: the f32 exponent −x²/2 or −2|u| of up to ~70, rounded
        // and passed to exp, carries ~70·2^-24 ≈ 4e-6 (measured ≤ 2.1e-6 down to |y| ≈ 1e-6,
        // ≤ 1.4e-5 at |y| ≈ 1e-29), all far below 1e-11 in absolute terms.
        expectRelClose(got, exact, 4e-6, 1e-6, kind);
        expectRelClose(got, exact, 2e-7, 1, kind);
      }
    });

    it(`${kind}: gatedActivation is act(gate)·up`, async () => {
      const [rows, cols] = [7, 173];
      const G = randn(rows + cols, rows * cols, 3);
      const U = randn(11, rows * cols);
      const got = await runGated(G, U, [rows, cols], kind);
      const ref = cpu(gatedActivationCpu(f32(G, [rows, cols]), f32(U, [rows, cols]), kind)).data;
      const act = activationFn(kind);
      expectRelClose(
        ref,
        Array.from(G, (g, i) => act(g) * U[i]!),
        6e-8,
        1e-30,
      );
      expectRelClose(got, ref, b().kind === 'cpu' ? 0 : 4e-6, 1e-6, kind);
      expectRelClose(got, ref, b().kind === 'cpu' ? 0 : 2e-7, 1, kind);
    });
  }

  it('gelu is close to x/2 + x²/√(2π) and gelu_tanh to the same near 0', async () => {
    const X = Float32Array.from([1e-30, -1e-30, 1e-7, -1e-7, 1e-4, -1e-4, 1e-3, -1e-3]);
    const near0 = Array.from(X, (x) => x / 2 + (x * x) / Math.sqrt(2 * Math.PI));
    expectRelClose(await run(X, [X.length], 'gelu'), near0, 4e-7, 1e-38);
    expectRelClose(await run(X, [X.length], 'gelu_tanh'), near0, 4e-7, 1e-38);
  });

  it('gated silu equals swiglu exactly', async () => {
    const [rows, cols] = [9, 300];
    const G = randn(5, rows * cols, 4);
    const U = randn(6, rows * cols);
    const gated = await runGated(G, U, [rows, cols], 'silu');
    const swiglu = await checked(async () => {
      const g = b().tensor(G, [rows, cols]);
      const u = b().tensor(U, [rows, cols]);
      const y = b().swiglu(g, u);
      const r = await b().read(y);
      b().dispose(g, u, y);
      return r;
    });
    expect(Array.from(gated)).toEqual(Array.from(swiglu));
  });

  it('handles empty tensors', async () => {
    expect(Array.from(await run(new Float32Array(0), [0, 4], 'gelu'))).toEqual([]);
    expect(Array.from(await runGated(new Float32Array(0), new Float32Array(0), [3, 0], 'silu'))).toEqual([]);
  });

  it('rejects unknown kinds and mismatched shapes', () => {
    const x = b().tensor(new Float32Array(6), [2, 3]);
    const y = b().tensor(new Float32Array(6), [3, 2]);
    expect(() => b().activation(x, 'swish' as ActivationKind)).toThrow(
      /activation: unknown activation 'swish' \(expected one of silu, gelu_tanh, gelu, relu, sigmoid\)/,
    );
    expect(() => b().gatedActivation(x, y, 'gelu')).toThrow(
      /gatedActivation: shapes differ: \[2, 3\] vs \[3, 2\]/,
    );
    expect(() => b().gatedActivation(x, x, 'tanh' as ActivationKind)).toThrow(
      /gatedActivation: unknown activation 'tanh'/,
    );
    b().dispose(x, y);
  });
});
