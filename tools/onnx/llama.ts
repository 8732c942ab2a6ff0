/**
 * A Llama-family forward pass (RMSNorm, RoPE, grouped-query causal attention, SwiGLU MLP) as an
 * ONNX graph for a fixed token count, from the weights in tools/onnx/weights.ts.
 */
import { causalMask, GraphBuilder, transposed } from './graph';
import type { LlamaWeights } from './weights';

export interface LlamaGraphOptions {
  tokens: number;
  /** Deliberate mistakes, for tests that show the oracle would catch them. */
  perturb?: { eps?: number; ropeStyle?: 'half' | 'interleaved' };
}

export function llamaGraph(w: LlamaWeights, opts: LlamaGraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const T = opts.tokens;
  const { dim, heads, kvHeads, headDim: hd, hidden } = w;
  const eps = opts.perturb?.eps ?? w.eps;
  const style = opts.perturb?.ropeStyle ?? w.ropeStyle;
  const half = hd / 2;

  // cos/sin per (position, pair), laid out to broadcast against q's [H, T, hd] for each style.
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < half; i++) {
      const a = t * w.invFreq[i]!;
      const slots = style === 'half' ? [i, i + half] : [2 * i, 2 * i + 1];
      for (const s of slots) {
        cos[t * hd + s] = Math.cos(a);
        sin[t * hd + s] = Math.sin(a);
      }
    }
  const cosT = g.constant('rope_cos', [T, hd], cos);
  const sinT = g.constant('rope_sin', [T, hd], sin);
  const mask = g.constant('causal_mask', [T, T], causalMask(T));

  /** x·cos + rotate(x)·sin, rotate being (−x₂, x₁) on halves or on (even, odd) pairs. */
  const rope = (x: string, h: number): string => {
    let rotated: string;
    if (style === 'half') {
      const x1 = g.slice(x, 0, half, 2);
      const x2 = g.slice(x, half, hd, 2);
      rotated = g.concat([g.op('Neg', [x2]), x1], 2);
    } else {
      const pairs = g.reshape(x, [h, T, half, 2]);
      const even = g.slice(pairs, 0, 1, 3);
      const odd = g.slice(pairs, 1, 2, 3);
      rotated = g.reshape(g.concat([g.op('Neg', [odd]), even], 3), [h, T, hd]);
    }
    return g.add(g.mul(x, cosT), g.mul(rotated, sinT));
  };
  const heads3 = (x: string, h: number) => g.transpose(g.reshape(x, [T, h, hd]), [1, 0, 2]);
  const linear = (x: string, name: string, wt: Float32Array, out: number, inp: number) =>
    g.matmul(x, g.constant(name, [inp, out], transposed(wt, out, inp)));
  /** [kvH, T, hd] → [H, T, hd], query head h reading kv head ⌊h / (H / kvH)⌋. */
  const repeatKv = (x: string) =>
    heads === kvHeads
      ? x
      : g.reshape(
          g.op('Expand', [g.reshape(x, [kvHeads, 1, T, hd]), g.ints([kvHeads, heads / kvHeads, T, hd])]),
          [heads, T, hd],
        );

  let x = g.op('Gather', [g.constant('embed', [w.vocab, dim], w.embed), 'tokens'], { axis: 0 });
  w.blocks.forEach((b, l) => {
    const p = `l${l}.`;
    const h = g.rmsNorm(x, g.constant(p + 'attn_norm', [dim], b.attnNorm), eps);
    const q = rope(heads3(linear(h, p + 'wq', b.wq, heads * hd, dim), heads), heads);
    const k = repeatKv(rope(heads3(linear(h, p + 'wk', b.wk, kvHeads * hd, dim), kvHeads), kvHeads));
    const v = repeatKv(heads3(linear(h, p + 'wv', b.wv, kvHeads * hd, dim), kvHeads));
    const att = g.reshape(g.transpose(g.causalAttention(q, k, v, hd, mask), [1, 0, 2]), [T, heads * hd]);
    x = g.add(x, linear(att, p + 'wo', b.wo, dim, heads * hd));
    const h2 = g.rmsNorm(x, g.constant(p + 'ffn_norm', [dim], b.ffnNorm), eps);
    const gate = linear(h2, p + 'gate', b.gate, hidden, dim);
    const silu = g.mul(gate, g.op('Sigmoid', [gate]));
    const act = g.mul(silu, linear(h2, p + 'up', b.up, hidden, dim));
    x = g.add(x, linear(act, p + 'down', b.down, dim, hidden));
  });
  const out = g.rmsNorm(x, g.constant('norm', [dim], w.norm), eps);
  return g.encode('llama', linear(out, 'lm_head', w.lmHead, w.vocab, dim), T, w.vocab);
}
