/**
 * `attn.hook_attn_scores` on the WebGPU backend in Chromium, on the Gemma 2 fixture (scale,
 * soft-cap, sliding window 16 over 24 tokens): the scores agree with the CPU backend's (same −∞
 * mask), their softmax is the pattern, and a replacement (identity, or a key blocked with −∞) gives
 * the logits of the CPU backend's replacement and of the renormalised-pattern route.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { Backend } from '../../kernels/backend';
import type { Hook, Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import { loadFixtureModel, readArchFixture } from '../helpers/arch-fixtures';
import { maxAbsDiff, webGpuSuite } from '../kernels/harness';

async function read(relative: string): Promise<Uint8Array> {
  const res = await fetch(`/${relative}`);
  if (!res.ok) throw new Error(`could not fetch ${relative} from the test server: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

const T = 24;

function softmaxRows(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += n) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[r + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += out[r + j] = Math.exp(x[r + j]! - max);
    for (let j = 0; j < n; j++) out[r + j]! /= sum;
  }
  return out;
}

/** Key `key`'s score set to −∞ in every query row but the first. */
const blockKey =
  (key: number): Hook =>
  async (t, ctx) => {
    const s = await ctx.backend.read(t);
    const [, t1, tk] = t.shape as [number, number, number];
    for (let r = 0; r < s.length; r += tk) if ((r / tk) % t1 !== 0) s[r + key] = -Infinity;
    return ctx.backend.tensor(s, t.shape);
  };

/** The pattern with key `key` zeroed and renormalised, in every query row but the first. */
const renormaliseWithout =
  (key: number): Hook =>
  async (t, ctx) => {
    const p = await ctx.backend.read(t);
    const [, t1, tk] = t.shape as [number, number, number];
    for (let r = 0; r < p.length; r += tk) {
      if ((r / tk) % t1 === 0) continue;
      p[r + key] = 0;
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += p[r + j]!;
      for (let j = 0; j < tk; j++) p[r + j]! /= sum;
    }
    return ctx.backend.tensor(p, t.shape);
  };

const copy: Hook = async (t, ctx) => ctx.backend.tensor(await ctx.backend.read(t), t.shape);

async function logits(model: LlamaModel, b: Backend, tokens: Int32Array, hooks: Hooks = {}) {
  const t = await model.forward(tokens, { hooks });
  const out = await b.read(t);
  b.dispose(t);
  return out;
}

describe('attn.hook_attn_scores on WebGPU', () => {
  const webgpu = webGpuSuite();

  it('gemma2: scores, softmax(scores) = pattern, and replacements match the CPU backend', async () => {
    const f = await readArchFixture('gemma2', read);
    const tokens = f.tokens.subarray(0, T);
    const gpu = webgpu();
    const cpu = createCpuBackend();
    const gm = loadFixtureModel(f, gpu);
    const cm = loadFixtureModel(f, cpu);
    const layers = Array.from({ length: gm.config.nLayers }, (_, l) => l);
    const every = (point: string, hook: (l: number) => Hook): Hooks =>
      Object.fromEntries(layers.map((l) => [`blocks.${l}.attn.${point}`, hook(l)]));
    try {
      const reads = () => {
        const got: Record<string, Float32Array> = {};
        const hooks = {
          ...every(
            'hook_attn_scores',
            (l) => async (t, ctx) => void (got[`s${l}`] = await ctx.backend.read(t)),
          ),
          ...every('hook_pattern', (l) => async (t, ctx) => void (got[`p${l}`] = await ctx.backend.read(t))),
        };
        return { got, hooks };
      };
      const g = reads();
      const c = reads();
      await gpu.ctx.checked(() => logits(gm, gpu, tokens, g.hooks));
      await logits(cm, cpu, tokens, c.hooks);
      let vsCpu = 0;
      let smx = 0;
      for (const l of layers) {
        const [gs, cs] = [g.got[`s${l}`]!, c.got[`s${l}`]!];
        expect(gs.length).toBe(gm.config.nHeads * T * T);
        const masked = [...cs.keys()].filter((x) => cs[x] === -Infinity);
        expect(masked.length).toBeGreaterThan(0);
        expect(masked.map((x) => gs[x])).toEqual(masked.map(() => -Infinity));
        for (let x = 0; x < cs.length; x++)
          if (cs[x] !== -Infinity) vsCpu = Math.max(vsCpu, Math.abs(gs[x]! - cs[x]!));
        smx = Math.max(smx, maxAbsDiff(softmaxRows(gs, T), g.got[`p${l}`]!).diff);
      }
      console.log(
        `gemma2 [webgpu]: max |scores − cpu scores| ${vsCpu.toExponential(2)}, max |softmax(scores) − pattern| ${smx.toExponential(2)}`,
      );
      expect(vsCpu).toBeLessThan(1e-4);
      expect(smx).toBeLessThan(1e-6);

      const clean = await gpu.ctx.checked(() => logits(gm, gpu, tokens));
      const identity = await gpu.ctx.checked(() =>
        logits(
          gm,
          gpu,
          tokens,
          every('hook_attn_scores', () => copy),
        ),
      );
      const viaScores = await gpu.ctx.checked(() =>
        logits(
          gm,
          gpu,
          tokens,
          every('hook_attn_scores', () => blockKey(2)),
        ),
      );
      const viaPattern = await gpu.ctx.checked(() =>
        logits(
          gm,
          gpu,
          tokens,
          every('hook_pattern', () => renormaliseWithout(2)),
        ),
      );
      const onCpu = await logits(
        cm,
        cpu,
        tokens,
        every('hook_attn_scores', () => blockKey(2)),
      );
      const d = {
        identity: maxAbsDiff(identity, clean).diff,
        moved: maxAbsDiff(viaScores, clean).diff,
        route: maxAbsDiff(viaScores, viaPattern).diff,
        cpu: maxAbsDiff(viaScores, onCpu).diff,
      };
      console.log(`gemma2 [webgpu] replacements: ${JSON.stringify(d)}`);
      expect(d.identity).toBeLessThan(1e-4);
      expect(d.moved).toBeGreaterThan(0.01);
      expect(d.route).toBeLessThan(1e-4);
      expect(d.cpu).toBeLessThan(1e-3);
    } finally {
      gm.dispose();
      cm.dispose();
    }
  });
});
