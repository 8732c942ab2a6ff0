import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { Tensor } from '../../kernels/tensor';
import { HookError, listHookPoints, parseHookName, type Hook } from '../../runtime/hooks';
import { loadLlama2c } from '../../runtime/index';
import { readShared, STORIES260K, TOK512 } from '../helpers/shared-paths';

const backend = createCpuBackend();
const { model, tokenizer } = loadLlama2c(
  backend,
  readShared(STORIES260K),
  'stories260K.bin',
  readShared(TOK512),
  'tok512.bin',
);
const tokens = tokenizer.encode('Once upon a time, there was a dog.');
const T = tokens.length;

async function logitsWith(hooks: Record<string, Hook> = {}): Promise<Float32Array> {
  const t = await model.forward(tokens, { hooks });
  const data = await backend.read(t);
  backend.dispose(t);
  return data;
}

/** A hook that hands back a fresh copy of the activation (same values, different tensor). */
const copy: Hook = async (t, ctx) => ctx.backend.tensor(await ctx.backend.read(t), t.shape);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('hook point names', () => {
  it('lists TransformerLens names in execution order', () => {
    const names = listHookPoints(model.config);
    expect(names.length).toBe(1 + 5 * 18 + 2);
    expect(names[0]).toBe('hook_embed');
    expect(names.slice(1, 19)).toEqual([
      'blocks.0.hook_resid_pre',
      'blocks.0.ln1.hook_normalized',
      'blocks.0.attn.hook_q',
      'blocks.0.attn.hook_k',
      'blocks.0.attn.hook_v',
      'blocks.0.attn.hook_rot_q',
      'blocks.0.attn.hook_rot_k',
      'blocks.0.attn.hook_attn_scores',
      'blocks.0.attn.hook_pattern',
      'blocks.0.attn.hook_row_stats',
      'blocks.0.attn.hook_z',
      'blocks.0.hook_attn_out',
      'blocks.0.hook_resid_mid',
      'blocks.0.ln2.hook_normalized',
      'blocks.0.mlp.hook_pre',
      'blocks.0.mlp.hook_post',
      'blocks.0.hook_mlp_out',
      'blocks.0.hook_resid_post',
    ]);
    expect(names.slice(-2)).toEqual(['ln_final.hook_normalized', 'hook_logits']);
    for (const n of names) expect(parseHookName(n)).not.toBeNull();
    expect(parseHookName('blocks.3.attn.hook_pattern')).toEqual({ layer: 3, point: 'attn.hook_pattern' });
    expect(parseHookName('hook_logits')).toEqual({ layer: null, point: 'hook_logits' });
    expect(parseHookName('blocks.01.hook_resid_pre')).toBeNull();
    expect(parseHookName('blocks.0.hook_resid')).toBeNull();
  });

  it('rejects unknown names and missing layers before running', async () => {
    await expect(model.forward(tokens, { hooks: { 'blocks.0.hook_resid': () => {} } })).rejects.toThrow(
      HookError,
    );
    await expect(model.forward(tokens, { hooks: { 'blocks.5.hook_resid_pre': () => {} } })).rejects.toThrow(
      /layer 5 does not exist \(the model has 5\)/,
    );
  });
});

describe('reading activations', () => {
  it('every hook fires once, in order, with its shape and context', async () => {
    const seen: { name: string; shape: readonly number[]; layer: number | null; pos0: number }[] = [];
    const hooks: Record<string, Hook> = {};
    for (const name of listHookPoints(model.config)) {
      hooks[name] = (t, ctx) =>
        void seen.push({ name: ctx.name, shape: t.shape, layer: ctx.layer, pos0: ctx.pos0 });
    }
    await logitsWith(hooks);
    expect(seen.map((s) => s.name)).toEqual(listHookPoints(model.config));
    const shape = (n: string) => seen.find((s) => s.name === n)!.shape;
    expect(shape('blocks.0.hook_resid_pre')).toEqual([T, 64]);
    expect(shape('blocks.0.ln1.hook_normalized')).toEqual([T, 64]);
    expect(shape('blocks.3.ln2.hook_normalized')).toEqual([T, 64]);
    expect(shape('blocks.0.attn.hook_q')).toEqual([T, 64]);
    expect(shape('blocks.0.attn.hook_k')).toEqual([T, 32]);
    expect(shape('blocks.0.attn.hook_rot_q')).toEqual([T, 64]);
    expect(shape('blocks.0.attn.hook_rot_k')).toEqual([T, 32]);
    expect(shape('blocks.0.attn.hook_v')).toEqual([T, 32]);
    expect(shape('blocks.0.attn.hook_attn_scores')).toEqual([8, T, T]);
    expect(shape('blocks.0.attn.hook_pattern')).toEqual([8, T, T]);
    expect(shape('blocks.0.attn.hook_z')).toEqual([T, 64]);
    expect(shape('blocks.4.mlp.hook_pre')).toEqual([T, 172]);
    expect(shape('blocks.4.mlp.hook_post')).toEqual([T, 172]);
    expect(shape('hook_logits')).toEqual([T, 512]);
    expect(seen.find((s) => s.name === 'blocks.2.hook_mlp_out')!.layer).toBe(2);
    expect(seen.find((s) => s.name === 'ln_final.hook_normalized')!.layer).toBeNull();
  });

  it('hook_resid_pre of block 0 is the token embedding', async () => {
    let resid: Float32Array | undefined;
    await logitsWith({
      'blocks.0.hook_resid_pre': async (t, ctx) => void (resid = await ctx.backend.read(t)),
    });
    const emb = new Float32Array(readShared(STORIES260K), 28, 512 * 64);
    expect(Array.from(resid!.subarray(64, 128))).toEqual(
      Array.from(emb.subarray(tokens[1]! * 64, (tokens[1]! + 1) * 64)),
    );
  });

  it('attention patterns are causal distributions: rows sum to 1 over keys ≤ query', async () => {
    let pattern: Float32Array | undefined;
    await logitsWith({
      'blocks.2.attn.hook_pattern': async (t, ctx) => void (pattern = await ctx.backend.read(t)),
    });
    for (let h = 0; h < 8; h++) {
      for (let i = 0; i < T; i++) {
        const row = pattern!.subarray((h * T + i) * T, (h * T + i + 1) * T);
        const visible = Array.from(row.subarray(0, i + 1));
        expect(visible.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(visible.every((p) => p >= 0)).toBe(true);
        expect(Array.from(row.subarray(i + 1)).every((p) => p === 0)).toBe(true);
      }
    }
  });

  it('row statistics from inside the attention kernel agree with the pattern, and are read-only', async () => {
    let pattern: Float32Array | undefined;
    let stats: Float32Array | undefined;
    const plain = await logitsWith({});
    const withStats = await logitsWith({
      'blocks.1.attn.hook_pattern': async (t, ctx) => void (pattern = await ctx.backend.read(t)),
      'blocks.1.attn.hook_row_stats': async (t, ctx) => void (stats = await ctx.backend.read(t)),
    });
    expect(withStats).toEqual(plain);
    for (let h = 0; h < 8; h++) {
      for (let i = 0; i < T; i++) {
        const row = pattern!.subarray((h * T + i) * T, (h * T + i) * T + i + 1);
        const entropy = -Array.from(row).reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
        const distance = Array.from(row).reduce((a, p, j) => a + p * (i - j), 0);
        const o = (h * T + i) * 3;
        expect(stats![o]).toBeCloseTo(entropy, 4);
        expect(stats![o + 1]).toBeCloseTo(row[0]!, 5);
        expect(stats![o + 2]).toBeCloseTo(distance, 4);
      }
    }
    await expect(
      logitsWith({
        'blocks.0.attn.hook_row_stats': (t, ctx) => ctx.backend.zeros(t.shape, 'f32') as typeof t,
      }),
    ).rejects.toThrow(/attn.hook_row_stats is read-only/);
  });

  it('attentionProbe hands every layer its fused probe, in order, without changing the logits', async () => {
    const spec = { ks: [1, 4], nSink: 1, nBuckets: 6 };
    const seen: number[] = [];
    let pattern: Float32Array | undefined;
    let rows: Float32Array | undefined;
    const t = await model.forward(tokens, {
      hooks: { 'blocks.2.attn.hook_pattern': async (p, ctx) => void (pattern = await ctx.backend.read(p)) },
      attentionProbe: {
        spec,
        consume: (layer, probe) => {
          seen.push(layer);
          if (layer === 2) void backend.read(probe.rows).then((r) => (rows = r));
          backend.dispose(probe.lines);
        },
      },
    });
    expect(await backend.read(t)).toEqual(await logitsWith({}));
    backend.dispose(t);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const want = backend.patternProbe(backend.tensor(pattern!, [8, T, T]), spec);
    expect(Array.from(rows!).map((x) => +x.toFixed(5))).toEqual(
      Array.from(await backend.read(want.rows)).map((x) => +x.toFixed(5)),
    );
    const cache = model.createKvCache(32);
    await expect(
      model.forward(tokens.subarray(0, 2), { kvCache: cache, attentionProbe: { spec, consume: () => {} } }),
    ).rejects.toThrow(/attentionProbe needs a forward pass without a KV cache/);
    cache.dispose();
  });

  it('with a KV cache the pattern spans the cache and pos0 is absolute', async () => {
    const cache = model.createKvCache(32);
    backend.dispose(await model.forward(tokens.subarray(0, 4), { kvCache: cache }));
    let shape: readonly number[] = [];
    let pos0 = -1;
    let row: Float32Array | undefined;
    const logits = await model.forward(tokens.subarray(4, 6), {
      kvCache: cache,
      hooks: {
        'blocks.0.attn.hook_pattern': async (t, ctx) => {
          shape = t.shape;
          pos0 = ctx.pos0;
          row = (await ctx.backend.read(t)).subarray(32, 64); // head 0, second query (position 5)
        },
      },
    });
    backend.dispose(logits);
    cache.dispose();
    expect(shape).toEqual([8, 2, 32]);
    expect(pos0).toBe(4);
    expect(Array.from(row!.subarray(0, 6)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(Array.from(row!.subarray(6)).every((p) => p === 0)).toBe(true);
  });
});

describe('replacing activations', () => {
  it('zeroing mlp.hook_post changes the logits; an identity replacement does not', async () => {
    const clean = await logitsWith();
    const zeroed = await logitsWith({
      'blocks.0.mlp.hook_post': (t, ctx) => ctx.backend.zeros(t.shape) as Tensor<'f32'>,
    });
    expect(maxAbsDiff(clean, zeroed)).toBeGreaterThan(0.1);
    const identity = await logitsWith({
      'blocks.0.mlp.hook_post': copy,
      'blocks.3.hook_resid_mid': copy,
      hook_logits: copy,
    });
    expect(maxAbsDiff(clean, identity)).toBe(0);
    // Returning the same tensor, or nothing, is a no-op too.
    expect(maxAbsDiff(clean, await logitsWith({ 'blocks.1.attn.hook_z': (t) => t }))).toBe(0);
  });

  it('a returned-unchanged pattern goes through attentionApply and gives the same logits', async () => {
    const clean = await logitsWith();
    const hooks: Record<string, Hook> = {};
    for (let l = 0; l < 5; l++) hooks[`blocks.${l}.attn.hook_pattern`] = copy;
    expect(maxAbsDiff(clean, await logitsWith(hooks))).toBeLessThan(1e-6);
  });

  it('a replaced pattern changes the mixing (uniform attention over visible keys)', async () => {
    const clean = await logitsWith();
    const uniform: Hook = (t, ctx) => {
      const [h, q, k] = t.shape as [number, number, number];
      const p = new Float32Array(t.size);
      for (let a = 0; a < h; a++)
        for (let i = 0; i < q; i++) for (let j = 0; j <= i; j++) p[(a * q + i) * k + j] = 1 / (i + 1);
      return ctx.backend.tensor(p, t.shape);
    };
    expect(maxAbsDiff(clean, await logitsWith({ 'blocks.0.attn.hook_pattern': uniform }))).toBeGreaterThan(
      0.01,
    );
  });

  it('q/k/v replacements flow into attention and the KV cache', async () => {
    const clean = await logitsWith();
    const zeroK: Hook = (t, ctx) => ctx.backend.zeros(t.shape) as Tensor<'f32'>;
    expect(maxAbsDiff(clean, await logitsWith({ 'blocks.0.attn.hook_k': zeroK }))).toBeGreaterThan(0.01);
  });

  it('a replacement of the wrong shape is a clear error', async () => {
    await expect(
      logitsWith({ 'blocks.1.mlp.hook_post': (_, ctx) => ctx.backend.zeros([T, 64]) as Tensor<'f32'> }),
    ).rejects.toThrow(
      `hook "blocks.1.mlp.hook_post" returned a cpu f32 tensor of shape [${T}, 64]; expected a cpu f32 tensor of shape [${T}, 172]`,
    );
  });
});
