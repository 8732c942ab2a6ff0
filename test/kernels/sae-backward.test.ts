/**
 * SAE backward and optimiser ops on both backends against the CPU reference (and, where the CPU
 * reference is the thing under test, hand-computed values): rowAffine, saeReconStats (with and
 * without AuxK, zero residual), saeBackward per kind (dead latents for AuxK, JumpReLU's STE
 * window), saeDecoderGrad, normalizeRows (zero rows) and adamUpdate (inputs left intact).
 */
import { expect, it } from 'vitest';
import { Adam } from '../../analyses/sae/adam';
import type { Backend } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';
import { describeBackends, expectClose, randn, TOL_ELEMENTWISE, TOL_REDUCTION } from './harness';

/** Upload, run, read every output, dispose everything. */
async function on<R extends Record<string, Tensor | undefined>>(
  be: Backend,
  inputs: Record<string, [Float32Array | Int32Array, number[]]>,
  op: (t: Record<string, Tensor<'f32'>>) => R,
): Promise<Record<keyof R, Float32Array>> {
  const t: Record<string, Tensor<'f32'>> = {};
  for (const [k, [d, s]] of Object.entries(inputs)) t[k] = be.tensor(d as Float32Array, s);
  const r = op(t);
  const out = {} as Record<keyof R, Float32Array>;
  for (const [k, v] of Object.entries(r)) if (v) out[k as keyof R] = (await be.read(v)) as Float32Array;
  for (const [k, [d]] of Object.entries(inputs)) {
    // Ops never mutate their inputs.
    expect(Array.from(await be.read(t[k]!))).toEqual(Array.from(d));
  }
  be.dispose(...Object.values(t), ...Object.values(r));
  return out;
}

describeBackends('rowAffine', ({ b, checked }) => {
  it('scale·(x + biasScale·bias − minus), each part optional', async () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    const bias = Float32Array.of(10, 20, 30);
    const minus = Float32Array.of(1, 1, 1, 2, 2, 2);
    const r = await checked(() =>
      on(b(), { x: [x, [2, 3]], bias: [bias, [3]], minus: [minus, [2, 3]] }, (t) => ({
        all: b().rowAffine(t.x!, { bias: t.bias, biasScale: -1, minus: t.minus, scale: 0.5 }),
        plain: b().rowAffine(t.x!, { scale: 2 }),
      })),
    );
    expectClose(r.all, [-5, -9.5, -14, -4, -8.5, -13], TOL_ELEMENTWISE);
    expect(Array.from(r.plain)).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it('rejects a bias of the wrong width', () => {
    const x = b().tensor(new Float32Array(6), [2, 3]);
    const bias = b().tensor(new Float32Array(2), [2]);
    expect(() => b().rowAffine(x, { bias })).toThrow(/bias has 2 values, rows have 3/);
    b().dispose(x, bias);
  });
});

describeBackends('saeReconStats', ({ b, checked }) => {
  const err = randn(1, 50 * 16);
  const aux = randn(2, 50 * 16, 0.5);
  const inputs = { err: [err, [50, 16]], aux: [aux, [50, 16]] } as Record<string, [Float32Array, number[]]>;
  const run = (be: Backend) =>
    on(be, inputs, (t) => {
      const r = be.saeReconStats(t.err!, { auxRecon: t.aux, auxCoefficient: 1 / 32 });
      const plain = be.saeReconStats(t.err!, {});
      return { sums: r.sums, grad: r.auxGrad, plain: plain.sums };
    });

  it('sums of squares and the AuxK gradient match plain loops', async () => {
    const got = await checked(() => run(b()));
    let sse = 0;
    let a = 0;
    for (let i = 0; i < err.length; i++) {
      sse += err[i]! ** 2;
      a += (err[i]! + aux[i]!) ** 2;
    }
    const want = { sums: [sse, a], grad: Array.from(err, (e, i) => ((2 / 32) * (e + aux[i]!)) / sse) };
    expectClose(got.sums, want.sums, 1e-2 * TOL_REDUCTION * sse);
    expectClose(got.plain, [want.sums[0]!, 0], 1e-2 * TOL_REDUCTION * sse);
    expectClose(got.grad, want.grad, TOL_ELEMENTWISE);
  });

  it('a zero residual gives a zero gradient, not NaN', async () => {
    const got = await checked(() =>
      on(b(), { err: [new Float32Array(12), [3, 4]], aux: [randn(3, 12), [3, 4]] }, (t) => {
        const r = b().saeReconStats(t.err!, { auxRecon: t.aux, auxCoefficient: 0.5 });
        return { sums: r.sums, grad: r.auxGrad };
      }),
    );
    expect(Array.from(got.grad, (v) => v === 0)).toEqual(new Array(12).fill(true));
  });
});

describeBackends('saeBackward', ({ b, itVsCpu, checked }) => {
  const n = 32;
  const dSae = 40;
  const dIn = 8;
  const pre = randn(1, n * dSae);
  const relu = Float32Array.from(pre, (v) => Math.max(v, 0));
  // TopK-like: about a fifth of each row active; latent 0 never fires (dead column).
  const sparse = Float32Array.from(pre, (v, t) => (v > 0.8 && t % dSae !== 0 ? v : 0));
  const gf = randn(2, n * dSae, 0.1);
  const wDec = randn(3, dSae * dIn);
  wDec.fill(0, 5 * dIn, 6 * dIn); // a zero decoder row
  // AuxK latents on the never-firing column 0 and on column 7.
  const auxLat = Float32Array.from(pre, (v, t) => ((t % dSae === 0 || t % dSae === 7) && v > 0 ? v : 0));
  const auxGf = randn(4, n * dSae, 0.05);
  // JumpReLU: θ ≈ 0.3 with a wide window so many pre-activations fall inside it.
  const logThreshold = Float32Array.from(randn(5, dSae, 0.1), (v) => Math.log(0.3) + v);
  const jump = Float32Array.from(pre, (v, t) => (v > Math.exp(logThreshold[t % dSae]!) ? v : 0));

  const cases = {
    relu: { latents: relu, opts: { kind: 'relu', l1Coefficient: 0.1 }, extra: { wDec: [wDec, [dSae, dIn]] } },
    topk: {
      latents: sparse,
      opts: { kind: 'topk' },
      extra: { auxLat: [auxLat, [n, dSae]], auxGf: [auxGf, [n, dSae]] },
    },
    jumprelu: {
      latents: jump,
      opts: { kind: 'jumprelu', l1Coefficient: 0.05, bandwidth: 0.4 },
      extra: { logThreshold: [logThreshold, [dSae]] },
    },
  } as const;

  for (const [kind, c] of Object.entries(cases)) {
    const run = (be: Backend) =>
      on(
        be,
        {
          pre: [pre, [n, dSae]],
          latents: [c.latents, [n, dSae]],
          gf: [gf, [n, dSae]],
          ...(c.extra as unknown as Record<string, [Float32Array, number[]]>),
        },
        (t) =>
          be.saeBackward(t.pre!, t.latents!, t.gf!, {
            ...(c.opts as { kind: 'relu' }),
            ...(t.wDec ? { wDec: t.wDec } : {}),
            ...(t.logThreshold ? { logThreshold: t.logThreshold } : {}),
            ...(t.auxLat ? { aux: { latents: t.auxLat, gf: t.auxGf! } } : {}),
          }) as unknown as Record<string, Tensor>,
      );
    itVsCpu(`${kind}: matches the CPU kernel`, async (ref) => {
      const got = await checked(() => run(b()));
      const want = await run(ref);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const k of Object.keys(want)) expectClose(got[k]!, want[k]!, TOL_REDUCTION, k);
    });
    it(`${kind}: hand checks (dead column, zero decoder row, threshold gradient)`, async () => {
      const got = await checked(() => run(b()));
      // Dead column 0 gets only the AuxK term; stats columns.
      if (kind === 'topk') {
        for (let i = 0; i < n; i++) {
          expect(got.dPre![i * dSae]).toBeCloseTo(auxLat[i * dSae]! > 0 ? auxGf[i * dSae]! : 0, 6);
        }
        expect(got.latentStats![0]).toBe(0);
      }
      if (kind === 'relu') expect(got.decoderRowScale![5]).toBe(0);
      if (kind === 'jumprelu') expect(got.dLogThreshold!.some((v) => v !== 0)).toBe(true);
    });
  }
});

describeBackends('saeDecoderGrad and normalizeRows', ({ b, checked }) => {
  const rows = 20;
  const cols = 12;
  const w = randn(1, rows * cols);
  w.fill(0, 3 * cols, 4 * cols);
  const g = randn(2, rows * cols, 0.1);
  const scale = randn(3, rows, 0.01);
  const run = (be: Backend) =>
    on(be, { g: [g, [rows, cols]], w: [w, [rows, cols]], s: [scale, [rows]] }, (t) => ({
      projected: be.saeDecoderGrad(t.g!, t.w!, { rowScale: t.s, project: true }),
      scaled: be.saeDecoderGrad(t.g!, t.w!, { rowScale: t.s, project: false }),
      unit: be.normalizeRows(t.w!),
    }));

  /** Plain loops: u = g + s·w per row; projected u − (u·w / w·w)·w; w / ‖w‖ (a zero row stays 0). */
  function naive() {
    const scaled = Float32Array.from(g, (v, t) => v + scale[Math.floor(t / cols)]! * w[t]!);
    const projected = new Float32Array(rows * cols);
    const unit = new Float32Array(rows * cols);
    for (let j = 0; j < rows; j++) {
      const o = j * cols;
      let uw = 0;
      let ww = 0;
      for (let d = 0; d < cols; d++) {
        uw += scaled[o + d]! * w[o + d]!;
        ww += w[o + d]! ** 2;
      }
      for (let d = 0; d < cols; d++) {
        projected[o + d] = ww > 0 ? scaled[o + d]! - (uw / ww) * w[o + d]! : scaled[o + d]!;
        unit[o + d] = ww > 0 ? w[o + d]! / Math.sqrt(ww) : 0;
      }
    }
    return { scaled, projected, unit };
  }

  it('matches plain loops; projected rows are orthogonal to w, normalised rows unit (zero kept)', async () => {
    const got = await checked(() => run(b()));
    const want = naive();
    for (const k of ['projected', 'scaled', 'unit'] as const)
      expectClose(got[k], want[k], TOL_ELEMENTWISE, k);
    for (let j = 0; j < rows; j++) {
      let dot = 0;
      let n2 = 0;
      for (let d = 0; d < cols; d++) {
        dot += got.projected[j * cols + d]! * w[j * cols + d]!;
        n2 += got.unit[j * cols + d]! ** 2;
      }
      expect(Math.abs(dot)).toBeLessThan(1e-5);
      expect(n2).toBeCloseTo(j === 3 ? 0 : 1, 5);
    }
  });
});

describeBackends('adamUpdate', ({ b, checked }) => {
  it('matches analyses/sae Adam over three steps and leaves its inputs intact', async () => {
    const p0 = randn(1, 300);
    const grads = [randn(2, 300), randn(3, 300, 1e-3), randn(4, 300, 10)];
    grads[1]![0] = 0;
    const host = p0.slice();
    const adam = new Adam({ w: host }, { lr: 1e-2 });
    let p: Float32Array = p0.slice();
    let m: Float32Array = new Float32Array(300);
    let v: Float32Array = new Float32Array(300);
    for (const [s, g] of grads.entries()) {
      adam.step({ w: g });
      const r = await checked(() =>
        on(
          b(),
          { p: [p, [300]], g: [g, [300]], m: [m, [300]], v: [v, [300]] },
          (t) =>
            b().adamUpdate(t.p!, t.g!, t.m!, t.v!, {
              lr: 1e-2,
              beta1: 0.9,
              beta2: 0.999,
              eps: 1e-8,
              step: s + 1,
            }) as never,
        ),
      );
      ({ param: p, m, v } = r as unknown as { param: Float32Array; m: Float32Array; v: Float32Array });
      expectClose(p, host, 1e-6, `step ${s + 1}`);
      expectClose(m, adam.moments('w')!.m, 1e-6);
      expectClose(v, adam.moments('w')!.v, 1e-6);
    }
  });

  it('rejects mismatched shapes and step 0', () => {
    const t = b().tensor(new Float32Array(4), [4]);
    const u = b().tensor(new Float32Array(3), [3]);
    const o = { lr: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
    expect(() => b().adamUpdate(t, u, t, t, o)).toThrow(/shapes differ/);
    expect(() => b().adamUpdate(t, t, t, t, { ...o, step: 0 })).toThrow(/step=0/);
    b().dispose(t, u);
  });
});
