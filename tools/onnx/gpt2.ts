/**
 * GPT-2's forward pass (learned positions, pre-LayerNorm blocks, fused qkv Conv1D, gelu_new MLP,
 * tied unembedding) as an ONNX graph for a fixed token count, from an HF folder's own weights.
 */
import { causalMask, GraphBuilder, transposed } from './graph';
import type { Tensor } from './weights';

export interface Gpt2Config {
  n_embd: number;
  n_head: number;
  n_layer: number;
  vocab_size: number;
  layer_norm_epsilon: number;
  activation_function: string;
}

/** The graph from config.json and model.safetensors' tensors (`dir` names the folder in errors). */
export function gpt2Graph(
  c: Gpt2Config,
  t: Map<string, Tensor>,
  dir: string,
  opts: { tokens: number; perturb?: { eps?: number } },
): Uint8Array {
  if (c.activation_function !== 'gelu_new')
    throw new Error(`${dir}: activation ${c.activation_function} is not exported`);
  const get = (name: string) => {
    const x = t.get(name) ?? t.get(`transformer.${name}`);
    if (!x) throw new Error(`${dir}/model.safetensors: no tensor ${name}`);
    return x;
  };
  const g = new GraphBuilder();
  const T = opts.tokens;
  const D = c.n_embd;
  const H = c.n_head;
  const hd = D / H;
  const eps = opts.perturb?.eps ?? c.layer_norm_epsilon;
  const mask = g.constant('causal_mask', [T, T], causalMask(T));
  const param = (name: string) => {
    const x = get(name);
    return g.constant(name, x.shape, x.data);
  };
  const ln = (x: string, p: string) => g.layerNorm(x, param(p + '.weight'), param(p + '.bias'), eps);
  /** Conv1D: x W + b with W stored [in, out] — already ONNX MatMul's layout. */
  const conv1d = (x: string, p: string) => g.add(g.matmul(x, param(p + '.weight')), param(p + '.bias'));
  const heads3 = (x: string) => g.transpose(g.reshape(x, [T, H, hd]), [1, 0, 2]);
  /** gelu_new: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). */
  const gelu = (x: string) => {
    const x3 = g.mul(g.mul(x, x), x);
    const inner = g.mul(g.scalar(Math.sqrt(2 / Math.PI)), g.add(x, g.mul(g.scalar(0.044715), x3)));
    return g.mul(g.mul(g.scalar(0.5), x), g.add(g.scalar(1), g.op('Tanh', [inner])));
  };

  const wte = get('wte.weight');
  const wteName = g.constant('wte', wte.shape, wte.data);
  const positions = get('wpe.weight').data.subarray(0, T * D);
  let x = g.add(g.op('Gather', [wteName, 'tokens'], { axis: 0 }), g.constant('wpe', [T, D], positions));
  for (let l = 0; l < c.n_layer; l++) {
    const p = `h.${l}`;
    const qkv = conv1d(ln(x, `${p}.ln_1`), `${p}.attn.c_attn`);
    const [q, k, v] = [0, 1, 2].map((i) => heads3(g.slice(qkv, i * D, (i + 1) * D, 1)));
    const att = g.reshape(g.transpose(g.causalAttention(q!, k!, v!, hd, mask), [1, 0, 2]), [T, D]);
    x = g.add(x, conv1d(att, `${p}.attn.c_proj`));
    const m = conv1d(gelu(conv1d(ln(x, `${p}.ln_2`), `${p}.mlp.c_fc`)), `${p}.mlp.c_proj`);
    x = g.add(x, m);
  }
  const out = ln(x, 'ln_f');
  const head = g.constant('lm_head', [D, c.vocab_size], transposed(wte.data, c.vocab_size, D));
  return g.encode('gpt2', g.matmul(out, head), T, c.vocab_size);
}
