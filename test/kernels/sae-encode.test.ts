/**
 * SAE forward ops on both backends: matmul with transposeA (every kernel variant forced on
 * WebGPU), saeEncode for each kind against analyses/sae/forward.ts, and saeAuxLatents; edge cases:
 * k = dSae, exact ties in TopK, rows with no positive pre-activation, no / all latents dead.
 */
import { describe, expect, it } from 'vitest';
import { encode } from '../../analyses/sae/forward';
import { topKIndices } from '../../analyses/sae/topk';
import type { SaeKind } from '../../analyses/sae/types';
import type { Backend } from '../../kernels/backend';
import { matmulGpu, type MatmulVariant } from '../../kernels/matmul';
import { describeBackends, expectClose, randn, rng, TOL_REDUCTION, useWebGpu } from './harness';

/** Plain-loop aᵀ·b for a [K, M], b [K, N]. */
function naiveAtB(a: Float32Array, b: Float32Array, k: number, m: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[p * m + i]! * b[p * n + j]!;
      out[i * n + j] = s;
    }
  }
  return out;
}

async function encodeOn(
  be: Backend,
  kind: Exclude<SaeKind, 'batchtopk'>,
  x: Float32Array,
  w: Float32Array,
  bE: Float32Array,
  bD: Float32Array,
  dIn: number,
  dSae: number,
  extra: { k?: number; logThreshold?: Float32Array } = {},
) {
  const n = x.length / dIn;
  const t = [
    be.tensor(x, [n, dIn]),
    be.tensor(w, [dIn, dSae]),
    be.tensor(bE, [1, dSae]),
    be.tensor(bD, [dIn]),
  ];
  const lt = extra.logThreshold ? be.tensor(extra.logThreshold, [dSae]) : undefined;
  const r = be.saeEncode(t[0]!, t[1]!, t[2]!, t[3]!, {
    kind,
    k: extra.k,
    ...(lt ? { logThreshold: lt } : {}),
  });
  const out = { pre: await be.read(r.pre), latents: await be.read(r.latents) };
  be.dispose(...t, lt, r.pre, r.latents);
  return out;
}

describeBackends('matmul transposeA', ({ b, checked }) => {
  for (const [k, m, n, tb] of [
    [1, 1, 1, false],
    [64, 16, 64, false],
    [37, 5, 9, false],
    [64, 64, 16, false],
    [30, 7, 11, true],
  ] as const) {
    it(`aᵀ·b${tb ? 'ᵀ' : ''} for a [${k}, ${m}], ${n} columns`, async () => {
      const A = randn(k + m, k * m);
      const B = randn(n + 1, k * n);
      // b given as [N, K] for transposeB: transpose the plain layout.
      const Bt = new Float32Array(k * n);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) Bt[j * k + p] = B[p * n + j]!;
      const got = await checked(async () => {
        const a = b().tensor(A, [k, m]);
        const bb = tb ? b().tensor(Bt, [n, k]) : b().tensor(B, [k, n]);
        const z = b().matmul(a, bb, { transposeA: true, transposeB: tb });
        expect(z.shape).toEqual([m, n]);
        const r = await b().read(z);
        b().dispose(a, bb, z);
        return r;
      });
      expectClose(got, naiveAtB(A, B, k, m, n), TOL_REDUCTION);
    });
  }

  it('rejects mismatched inner dimensions, naming the transposed operand', () => {
    const a = b().tensor(new Float32Array(6), [2, 3]);
    const c = b().tensor(new Float32Array(6), [3, 2]);
    expect(() => b().matmul(a, c, { transposeA: true })).toThrow(/a is \[2, 3\] \(transposed\)/);
    b().dispose(a, c);
  });
});

describe('matmul transposeA kernels [webgpu]', () => {
  const gpu = useWebGpu();
  const VARIANTS: MatmulVariant[] = [
    { kernel: 'tiled', sm: 8, sn: 8, tk: 32 },
    { kernel: 'direct', wg: 64 },
    { kernel: 'gemv', wg: 64 },
  ];
  for (const v of VARIANTS) {
    for (const tb of [false, true]) {
      it(`${v.kernel}${tb ? ' (transposeB)' : ''} matches plain loops`, async () => {
        for (const [k, m, n] of [
          [33, 3, 7],
          [70, 45, 66],
        ] as const) {
          const A = randn(k * m, k * m);
          const B = randn(k * n, k * n);
          const Bt = new Float32Array(k * n);
          for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) Bt[j * k + p] = B[p * n + j]!;
          const got = await gpu().ctx.checked(async () => {
            const a = gpu().tensor(A, [k, m]);
            const bb = tb ? gpu().tensor(Bt, [n, k]) : gpu().tensor(B, [k, n]);
            const z = matmulGpu(gpu().ctx, a, bb, tb, v, true);
            const r = await gpu().read(z);
            gpu().dispose(a, bb, z);
            return r;
          });
          expectClose(got, naiveAtB(A, B, k, m, n), TOL_REDUCTION, `${v.kernel} [${k},${m},${n}]`);
        }
      });
    }
  }
});

describeBackends('saeEncode', ({ b, itVsCpu, checked }) => {
  const dIn = 16;
  const dSae = 64;
  const n = 40;
  const x = randn(1, n * dIn);
  const w = randn(2, dIn * dSae, 0.3);
  const bE = randn(3, dSae, 0.1);
  const bD = randn(4, dIn, 0.2);

  for (const [kind, extra] of [
    ['relu', {}],
    ['topk', { k: 5 }],
    ['topk', { k: dSae }],
    ['jumprelu', { logThreshold: Float32Array.from(randn(5, dSae), (v) => Math.log(0.1 + Math.abs(v))) }],
  ] as const) {
    const params = {
      wEnc: w,
      bEnc: bE,
      bDec: bD,
      wDec: new Float32Array(0),
      ...('logThreshold' in extra ? { logThreshold: extra.logThreshold } : {}),
    };
    const name = `${kind}${'k' in extra ? ` k=${extra.k}` : ''}`;
    it(`${name}: matches analyses/sae encode`, async () => {
      const got = await checked(() => encodeOn(b(), kind, x, w, bE, bD, dIn, dSae, extra));
      const sae = encode(params, { kind, dIn, dSae, k: 'k' in extra ? extra.k : undefined }, x);
      expectClose(got.latents, sae.latents, TOL_REDUCTION, 'latents vs analyses/sae');
    });
    itVsCpu(`${name}: matches the CPU kernel, which equals analyses/sae exactly`, async (ref) => {
      const got = await checked(() => encodeOn(b(), kind, x, w, bE, bD, dIn, dSae, extra));
      const want = await encodeOn(ref, kind, x, w, bE, bD, dIn, dSae, extra);
      expectClose(got.pre, want.pre, TOL_REDUCTION, 'pre');
      expectClose(got.latents, want.latents, TOL_REDUCTION, 'latents');
      const sae = encode(params, { kind, dIn, dSae, k: 'k' in extra ? extra.k : undefined }, x);
      expectClose(want.latents, sae.latents, 0, 'cpu reference vs analyses/sae');
    });
  }

  it('topk: exact ties go to the lower index; a row with no positive pre-activation stays zero', async () => {
    // Identity-like encoder: pre = x. Row 0 ties at 2 on columns 1, 2, 3; row 1 is all negative.
    const d = 4;
    const eye = Float32Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
    const X = Float32Array.of(1, 2, 2, 2, -1, -2, -3, -0.5);
    const got = await checked(() =>
      encodeOn(b(), 'topk', X, eye, new Float32Array(d), new Float32Array(d), d, d, { k: 2 }),
    );
    expect(Array.from(got.latents)).toEqual([0, 2, 2, 0, 0, 0, 0, 0]);
    expect(Array.from(got.pre)).toEqual(Array.from(X));
  });

  it('rejects k outside [1, dSae] and a JumpReLU without thresholds', () => {
    const t = [
      b().tensor(x, [n, dIn]),
      b().tensor(w, [dIn, dSae]),
      b().tensor(bE, [dSae]),
      b().tensor(bD, [dIn]),
    ];
    expect(() => b().saeEncode(t[0]!, t[1]!, t[2]!, t[3]!, { kind: 'topk', k: dSae + 1 })).toThrow(/k=65/);
    expect(() => b().saeEncode(t[0]!, t[1]!, t[2]!, t[3]!, { kind: 'jumprelu' })).toThrow(/logThreshold/);
    b().dispose(...t);
  });
});

describeBackends('saeAuxLatents', ({ b, checked }) => {
  const n = 24;
  const dSae = 48;
  /** Independent reference on analyses/sae/topk.ts: the auxK largest dead pre-activations, ReLU'd. */
  function expected(pre: Float32Array, dead: Int32Array, auxK: number): Float32Array {
    const out = new Float32Array(pre.length);
    const idx = new Int32Array(auxK);
    const allowed = Uint8Array.from(dead);
    for (let i = 0; i < n; i++) {
      const found = topKIndices(pre, i * dSae, dSae, auxK, idx, allowed);
      for (let s = 0; s < found; s++) out[i * dSae + idx[s]!] = Math.max(pre[i * dSae + idx[s]!]!, 0);
    }
    return out;
  }
  async function run(pre: Float32Array, dead: Int32Array, auxK: number): Promise<Float32Array> {
    return checked(async () => {
      const p = b().tensor(pre, [n, dSae]);
      const d = b().tensor(dead, [dSae]);
      const r = b().saeAuxLatents(p, d, auxK);
      const out = await b().read(r);
      b().dispose(p, d, r);
      return out;
    });
  }

  const r = rng(9);
  const pre = randn(8, n * dSae);
  for (const [what, dead, auxK] of [
    ['some dead', Int32Array.from({ length: dSae }, () => (r() < 0.3 ? 1 : 0)), 6],
    ['fewer dead than auxK', Int32Array.from({ length: dSae }, (_, j) => (j === 3 || j === 40 ? 1 : 0)), 8],
    ['none dead', new Int32Array(dSae), 4],
    ['all dead, auxK = dSae', new Int32Array(dSae).fill(1), dSae],
  ] as const) {
    it(`${what}`, async () => {
      expect(Array.from(await run(pre, dead, auxK))).toEqual(Array.from(expected(pre, dead, auxK)));
    });
  }

  it('ties among dead latents go to the lower index', async () => {
    const tied = Float32Array.from({ length: n * dSae }, (_, t) => ((t % dSae) % 3 === 0 ? 1 : -1));
    const dead = new Int32Array(dSae).fill(1);
    const got = await run(tied, dead, 2);
    for (let i = 0; i < n; i++) {
      expect(Array.from(got.subarray(i * dSae, i * dSae + 4))).toEqual([1, 0, 0, 1]);
      expect(got.subarray(i * dSae + 4, (i + 1) * dSae).every((v) => v === 0)).toBe(true);
    }
  });
});
