/**
 * `blocks.{l}.attn.hook_attn_scores` (TransformerLens' pre-softmax scores) on the Gemma 2 fixture,
 * whose attention scales by query_pre_attn_scalar^−½, soft-caps the scores and alternates sliding
 * window (16) and global layers: the documented shape, the −∞ mask, the scores against q·k from
 * hook_rot_q / hook_rot_k, softmax(scores) = pattern, and replacement (identity, a blocked key,
 * flowing into hook_pattern, a fully masked row).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionOptions, Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { Tensor } from '../../kernels/tensor';
import { HookError, type Hook, type Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import { blockOf } from '../../runtime/model/llama-config';
import { loadFixtureModel, readArchFixture, type ArchFixture } from '../helpers/arch-fixtures';
import { maxAbsDiff } from '../kernels/harness';
import { trackingBackend } from './tracking-backend';

const root = path.resolve(import.meta.dirname, '../..');
const read = async (rel: string) => new Uint8Array(await readFile(path.join(root, rel)));

/** Every attention call's options, so the tests can tell what the kernel was asked for. */
const calls: AttentionOptions[] = [];
const inner = createCpuBackend();
const backend: Backend = {
  ...inner,
  attention: (q, k, v, opts) => (calls.push(opts), inner.attention(q, k, v, opts)),
};

const T = 24; // longer than the sliding window (16)
let f: ArchFixture;
let model: LlamaModel;
let tokens: Int32Array;

beforeAll(async () => {
  f = await readArchFixture('gemma2', read);
  model = loadFixtureModel(f, backend);
  tokens = f.tokens.subarray(0, T);
});

async function logitsWith(hooks: Hooks = {}, m: LlamaModel = model): Promise<Float32Array> {
  const t = await m.forward(tokens, { hooks });
  const data = await m.backend.read(t);
  m.backend.dispose(t);
  return data;
}

/** Row-wise float64 softmax over rows of `n`; −∞ gets exactly 0. */
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

const copy: Hook = async (t, ctx) => ctx.backend.tensor(await ctx.backend.read(t), t.shape);

describe('attn.hook_attn_scores (Gemma 2 fixture: scale, soft-cap, sliding window)', () => {
  it('is [nHeads, T, T], scaled and capped q·k, −∞ exactly where masked, and its softmax is the pattern', async () => {
    const c = model.config;
    const block = blockOf(c);
    expect(block.attnSoftcap).toBe(50);
    expect(block.attnScale).toBeCloseTo(24 ** -0.5, 12);
    const windows = block.layers.map((l) => l.window);
    expect(windows).toContain(16);
    expect(windows).toContain(null);

    const got: Record<string, Float32Array> = {};
    const shapes: Record<string, readonly number[]> = {};
    const hooks: Record<string, Hook> = {};
    for (let l = 0; l < c.nLayers; l++)
      for (const p of ['attn.hook_rot_q', 'attn.hook_rot_k', 'attn.hook_attn_scores', 'attn.hook_pattern']) {
        const name = `blocks.${l}.${p}`;
        hooks[name] = async (t, ctx) => {
          shapes[name] = t.shape;
          got[name] = await ctx.backend.read(t);
        };
      }
    await logitsWith(hooks);

    const { nHeads, nKvHeads, headDim } = c;
    const group = nHeads / nKvHeads;
    let worstScore = 0;
    let worstSoftmax = 0;
    for (let l = 0; l < c.nLayers; l++) {
      const at = (p: string) => got[`blocks.${l}.${p}`]!;
      expect(shapes[`blocks.${l}.attn.hook_attn_scores`]).toEqual([nHeads, T, T]);
      const scores = at('attn.hook_attn_scores');
      const [q, k] = [at('attn.hook_rot_q'), at('attn.hook_rot_k')];
      const window = windows[l] ?? Infinity;
      for (let h = 0; h < nHeads; h++)
        for (let i = 0; i < T; i++)
          for (let j = 0; j < T; j++) {
            const s = scores[(h * T + i) * T + j]!;
            if (j > i || i - j >= window) {
              expect(s, `layer ${l} head ${h} (${i}, ${j}) masked`).toBe(-Infinity);
              continue;
            }
            let dot = 0;
            for (let d = 0; d < headDim; d++)
              dot +=
                q[i * nHeads * headDim + h * headDim + d]! *
                k[j * nKvHeads * headDim + Math.floor(h / group) * headDim + d]!;
            const want = 50 * Math.tanh((dot * block.attnScale!) / 50);
            worstScore = Math.max(worstScore, Math.abs(s - want));
          }
      const d = maxAbsDiff(softmaxRows(scores, T), at('attn.hook_pattern')).diff;
      worstSoftmax = Math.max(worstSoftmax, d);
    }
    console.log(
      `gemma2 hook_attn_scores: max |score − cap·tanh(scale·q·k / cap)| ${worstScore.toExponential(2)}, max |softmax(scores) − pattern| ${worstSoftmax.toExponential(2)}`,
    );
    expect(worstScore).toBeLessThan(1e-4);
    expect(worstSoftmax).toBeLessThan(1e-6);
  });

  it('with a KV cache: [nHeads, T, capacity], pos0 absolute, the window and the cache tail at −∞', async () => {
    const cache = model.createKvCache(64);
    model.backend.dispose(await model.forward(tokens.subarray(0, 20), { kvCache: cache }));
    const scores: Record<number, { shape: readonly number[]; pos0: number; data: Float32Array }> = {};
    const patterns: Record<number, Float32Array> = {};
    const hooks: Hooks = Object.fromEntries(
      [0, 1].flatMap((l) => [
        [
          `blocks.${l}.attn.hook_attn_scores`,
          (async (t, ctx) => {
            scores[l] = { shape: t.shape, pos0: ctx.pos0, data: await ctx.backend.read(t) };
          }) as Hook,
        ],
        [
          `blocks.${l}.attn.hook_pattern`,
          (async (t, ctx) => void (patterns[l] = await ctx.backend.read(t))) as Hook,
        ],
      ]),
    );
    const logits = await model.forward(tokens.subarray(20, 24), { kvCache: cache, hooks });
    model.backend.dispose(logits);
    cache.dispose();
    const windows = blockOf(model.config).layers.map((l) => l.window);
    for (const l of [0, 1]) {
      const s = scores[l]!;
      expect(s.shape).toEqual([model.config.nHeads, 4, 64]);
      expect(s.pos0).toBe(20);
      const window = windows[l] ?? Infinity;
      for (let r = 0; r < s.data.length; r += 64) {
        const p = 20 + ((r / 64) % 4);
        for (let j = 0; j < 64; j++) {
          const masked = j > p || p - j >= window;
          expect(s.data[r + j] === -Infinity, `layer ${l}, position ${p}, key ${j}`).toBe(masked);
        }
      }
      expect(maxAbsDiff(softmaxRows(s.data, 64), patterns[l]!).diff).toBeLessThan(1e-6);
    }
  });

  it('the kernel computes scores only when the hook is registered', async () => {
    calls.length = 0;
    await logitsWith({ 'blocks.1.attn.hook_pattern': () => {} });
    expect(calls.map((o) => o.returnScores === true)).toEqual([false, false, false]);
    calls.length = 0;
    await logitsWith({ 'blocks.1.attn.hook_attn_scores': () => {} });
    expect(calls.map((o) => o.returnScores === true)).toEqual([false, true, false]);
    // Reading the scores alone does not ask for the pattern.
    expect(calls[1]!.returnProbs).toBe(false);
  });

  it('replacing the scores with themselves leaves the logits unchanged', async () => {
    const clean = await logitsWith();
    const hooks: Hooks = Object.fromEntries(
      Array.from({ length: model.config.nLayers }, (_, l) => [`blocks.${l}.attn.hook_attn_scores`, copy]),
    );
    const diff = maxAbsDiff(clean, await logitsWith(hooks)).diff;
    console.log(`gemma2: identity replacement of every layer's scores: max |Δlogit| ${diff}`);
    expect(diff).toBeLessThan(1e-6);
  });

  it('blocking a key with −∞ scores changes the logits exactly like the renormalised pattern', async () => {
    const clean = await logitsWith();
    const n = model.config.nLayers;
    const layers = Array.from({ length: n }, (_, l) => l);
    for (const key of [0, 2]) {
      const viaScores = await logitsWith(
        Object.fromEntries(layers.map((l) => [`blocks.${l}.attn.hook_attn_scores`, blockKey(key)])),
      );
      const viaPattern = await logitsWith(
        Object.fromEntries(layers.map((l) => [`blocks.${l}.attn.hook_pattern`, renormaliseWithout(key)])),
      );
      const moved = maxAbsDiff(clean, viaScores).diff;
      const diff = maxAbsDiff(viaScores, viaPattern).diff;
      console.log(
        `gemma2: blocking key ${key}: logits move by ${moved.toExponential(2)}; scores vs pattern route differ by ${diff.toExponential(2)}`,
      );
      expect(moved).toBeGreaterThan(0.01);
      expect(diff).toBeLessThan(1e-5);
    }
  });

  it('a replacement flows into hook_pattern as its softmax', async () => {
    let pattern: Float32Array | undefined;
    let replaced: Float32Array | undefined;
    await logitsWith({
      'blocks.0.attn.hook_attn_scores': async (t, ctx) => {
        const r = await blockKey(2)(t, ctx);
        replaced = await ctx.backend.read(r as Tensor<'f32'>);
        return r;
      },
      'blocks.0.attn.hook_pattern': async (t, ctx) => void (pattern = await ctx.backend.read(t)),
    });
    expect(maxAbsDiff(softmaxRows(replaced!, T), pattern!).diff).toBeLessThan(1e-6);
    for (let r = 0; r < pattern!.length; r += T) {
      const row = (r / T) % T;
      if (row >= 3) expect(pattern![r + 2]).toBe(0);
    }
  });

  it('a row of all −∞ is a HookError naming the hook; nothing leaks', async () => {
    const tb = trackingBackend(createCpuBackend());
    const m = loadFixtureModel(f, tb);
    const before = tb.live.size;
    const maskAll: Hook = async (t, ctx) => {
      const s = await ctx.backend.read(t);
      s.fill(-Infinity, 5 * T, 6 * T); // head 0, query row 5
      return ctx.backend.tensor(s, t.shape);
    };
    await expect(logitsWith({ 'blocks.1.attn.hook_attn_scores': maskAll }, m)).rejects.toThrow(
      new HookError(
        'hook "blocks.1.attn.hook_attn_scores" masked every key of head 0, query row 5 (all scores −Infinity): the softmax of that row is undefined',
      ),
    );
    const nan: Hook = async (t, ctx) => {
      const s = await ctx.backend.read(t);
      s[T + 1] = NaN;
      return ctx.backend.tensor(s, t.shape);
    };
    await expect(logitsWith({ 'blocks.2.attn.hook_attn_scores': nan }, m)).rejects.toThrow(
      /hook "blocks.2.attn.hook_attn_scores" returned a score of NaN \(head 0, query row 1, key 1\)/,
    );
    // A replaced forward leaves nothing behind either.
    await logitsWith(
      { 'blocks.0.attn.hook_attn_scores': blockKey(2), 'blocks.0.attn.hook_pattern': copy },
      m,
    );
    expect(tb.live.size).toBe(before);
    expect(tb.badDisposals).toBe(0);
    m.dispose();
  });
});

/**
 * A hook setting key `key`'s score to −∞ (a mask), except in query row 0 (where key 0 is the only
 * visible key and masking it would leave the row empty).
 */
function blockKey(key: number): Hook {
  return async (t, ctx) => {
    const s = await ctx.backend.read(t);
    const [, t1, tk] = t.shape as [number, number, number];
    for (let r = 0; r < s.length; r += tk) if ((r / tk) % t1 !== 0) s[r + key] = -Infinity;
    return ctx.backend.tensor(s, t.shape);
  };
}

/** The pattern route to the same mask: key `key`'s probability zeroed, each row renormalised. */
function renormaliseWithout(key: number): Hook {
  return async (t, ctx) => {
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
}
