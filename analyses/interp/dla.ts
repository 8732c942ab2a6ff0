/**
 * Direct logit attribution (METHODS.md): the final residual stream at one position is a sum of
 * parts — the embeddings, each attention head's output (or each layer's attention output where a
 * post-attention norm makes heads non-additive: Gemma 2/3, OLMo 2), the attention output bias,
 * and each MLP/MoE output — and with the final norm's scale frozen at its value on that stream,
 * each part's projection on the unembedding direction answer − wrong is its share of the logit
 * difference. The parts sum to the logit difference before any final soft-cap.
 */
import type { Tensor } from '../../kernels/tensor';
import type { Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import { blockOf } from '../../runtime/model/llama-config';

export interface DlaPart {
  /** `embed`, `L{l}.H{h}`, `L{l}.attn` (whole layer), `L{l}.attn_bias`, `L{l}.mlp`, `final_norm_bias`. */
  name: string;
  layer: number | null;
  head: number | null;
  kind: 'embed' | 'head' | 'attn' | 'attn_bias' | 'mlp' | 'norm_bias';
  /** Contribution to logit(answer) − logit(wrong). */
  value: number;
}

export interface DlaResult {
  position: number;
  answer: number;
  wrong: number;
  parts: DlaPart[];
  /** Σ parts. */
  total: number;
  /** The model's logit difference at the position (after any final soft-cap). */
  logitDiff: number;
  /** The same before the soft-cap (equal to logitDiff without one): what the parts sum to. */
  logitDiffBeforeSoftcap: number;
  /** False where a post-attention norm makes per-head parts inexact (whole-layer parts given). */
  perHead: boolean;
}

/**
 * DLA of the logit difference answer − wrong at `position` (default: the last token) of `tokens`.
 *
 * @example
 * const r = await directLogitAttribution(model, tokens, { answer, wrong });
 * Math.abs(r.total - r.logitDiffBeforeSoftcap) < 1e-4; // the parts sum to the logit difference
 */
export async function directLogitAttribution(
  model: LlamaModel,
  tokens: Int32Array,
  options: { answer: number; wrong: number; position?: number },
): Promise<DlaResult> {
  const c = model.config;
  const { nLayers: L, dim, nHeads, headDim, vocabSize: V } = c;
  const T = tokens.length;
  const position = options.position ?? T - 1;
  if (!(Number.isInteger(position) && position >= 0 && position < T)) {
    throw new RangeError(`position ${position} is outside the ${T} tokens`);
  }
  for (const [name, id] of [
    ['answer', options.answer],
    ['wrong', options.wrong],
  ] as const) {
    if (!(Number.isInteger(id) && id >= 0 && id < V))
      throw new RangeError(`the ${name} token ${id} is outside the vocabulary [0, ${V})`);
  }
  const block = blockOf(c);
  const parallel = block.residual === 'parallel';
  const perHead = block.normPlacement === 'pre';
  const scale = parallel ? 1 : (block.residualScale ?? 1);
  const b = model.backend;
  const rowAt = async (t: Tensor<'f32'>) => {
    const a = await b.read(t);
    const w = a.length / T;
    return a.slice(position * w, (position + 1) * w);
  };
  const embed: Float32Array[] = [];
  const finalResid: Float32Array[] = [];
  const attnOut: Float32Array[] = [];
  const mlpOut: Float32Array[] = [];
  const z: Float32Array[] = [];
  const hooks: Record<string, Hooks[string]> = {
    'blocks.0.hook_resid_pre': async (t) => void (embed[0] = await rowAt(t)),
    [`blocks.${L - 1}.hook_resid_post`]: async (t) => void (finalResid[0] = await rowAt(t)),
  };
  for (let l = 0; l < L; l++) {
    hooks[`blocks.${l}.hook_attn_out`] = async (t) => void (attnOut[l] = await rowAt(t));
    hooks[`blocks.${l}.hook_mlp_out`] = async (t) => void (mlpOut[l] = await rowAt(t));
    if (perHead) hooks[`blocks.${l}.attn.hook_z`] = async (t) => void (z[l] = await rowAt(t));
  }
  const out = await model.forward(tokens, { hooks });
  let logits: Float32Array;
  try {
    logits = (await b.read(out)).subarray(position * V, (position + 1) * V);
  } finally {
    b.dispose(out);
  }
  const head = await model.readHead([options.answer, options.wrong]);
  // g: the frozen-norm linear map from a residual vector to the logit difference.
  const x = finalResid[0]!;
  const g = new Float64Array(dim);
  let mean = 0;
  if (head.norm === 'layer') for (let i = 0; i < dim; i++) mean += x[i]! / dim;
  let sq = 0;
  for (let i = 0; i < dim; i++) sq += (x[i]! - mean) ** 2;
  const inv = 1 / Math.sqrt(sq / dim + head.eps);
  for (let i = 0; i < dim; i++) {
    const d = head.unembedding[i]! - head.unembedding[dim + i]!;
    g[i] = head.weight[i]! * d * inv * head.logitScale;
  }
  if (head.norm === 'layer') {
    // LayerNorm centres its input: project(v) = Σ (v_i − mean v)·g_i = Σ v_i·(g_i − mean g).
    const gMean = g.reduce((a, v) => a + v, 0) / dim;
    for (let i = 0; i < dim; i++) g[i]! -= gMean;
  }
  const project = (v: ArrayLike<number>, s = 1) => {
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += v[i]! * g[i]!;
    return s * sum;
  };
  const parts: DlaPart[] = [
    { name: 'embed', layer: null, head: null, kind: 'embed', value: project(embed[0]!) },
  ];
  for (let l = 0; l < L; l++) {
    if (perHead) {
      // Head h writes Wo[:, h-slice]·z_h; its projection is z_h · (Wo_hᵀ g).
      const wo = await model.readWeight(l, 'wo');
      const qDim = nHeads * headDim;
      const woTg = new Float64Array(qDim);
      for (let i = 0; i < dim; i++) for (let j = 0; j < qDim; j++) woTg[j]! += wo[i * qDim + j]! * g[i]!;
      let heads = 0;
      for (let h = 0; h < nHeads; h++) {
        let v = 0;
        for (let j = h * headDim; j < (h + 1) * headDim; j++) v += z[l]![j]! * woTg[j]!;
        heads += scale * v;
        parts.push({ name: `L${l}.H${h}`, layer: l, head: h, kind: 'head', value: scale * v });
      }
      if (block.biases.o) {
        parts.push({
          name: `L${l}.attn_bias`,
          layer: l,
          head: null,
          kind: 'attn_bias',
          value: project(attnOut[l]!, scale) - heads,
        });
      }
    } else {
      parts.push({
        name: `L${l}.attn`,
        layer: l,
        head: null,
        kind: 'attn',
        value: project(attnOut[l]!, scale),
      });
    }
    parts.push({ name: `L${l}.mlp`, layer: l, head: null, kind: 'mlp', value: project(mlpOut[l]!, scale) });
  }
  if (head.bias) {
    let v = 0;
    for (let i = 0; i < dim; i++)
      v += head.bias[i]! * (head.unembedding[i]! - head.unembedding[dim + i]!) * head.logitScale;
    parts.push({ name: 'final_norm_bias', layer: null, head: null, kind: 'norm_bias', value: v });
  }
  const logitDiff = logits[options.answer]! - logits[options.wrong]!;
  const cap = head.finalSoftcap;
  const uncap = (l: number) => (cap === undefined ? l : cap * Math.atanh(l / cap));
  return {
    position,
    answer: options.answer,
    wrong: options.wrong,
    parts,
    total: parts.reduce((s, p) => s + p.value, 0),
    logitDiff,
    logitDiffBeforeSoftcap: uncap(logits[options.answer]!) - uncap(logits[options.wrong]!),
    perHead,
  };
}
