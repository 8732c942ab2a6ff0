/**
 * One transformer block on a Backend, composed from the architecture's declaration (block-spec.ts)
 * with its TransformerLens hook points: norm (RMS or Layer) → attention (biases, qk-norm, rotary or
 * none, GQA, scale, soft-cap, window) → optional output norm → residual add (scaled), then the same
 * for the FFN (gated or plain, or a sparse mixture of experts: moe-block.ts); or, with a parallel
 * residual, x + attn(ln1 x) + mlp(ln2 x). For llama2.c checkpoints this is run.c's `forward`.
 */
import type { Backend, MoeRouteOptions } from '../../kernels/backend';
import type { AttentionProbeOptions } from './llama';
import type { FloatDType, Tensor } from '../../kernels/tensor';
import { weightLength, type WeightArray } from '../../kernels/weight-dtype';
import { patternOfScores, runHook, type Hooks } from '../hooks';
import type { BlockSpec } from './block-spec';
import {
  blockOf,
  optionalPartLength,
  qDimOf,
  requiredOptionalParts,
  type LlamaConfig,
  type LlamaLayerWeights,
  type OptionalLayerPart,
} from './llama-config';
import { checkMoeWeights, moeFfn, moeTensors, uploadMoeWeights, type DeviceMoeWeights } from './moe-block';
import type { TensorScope } from './tensor-scope';

type SharedKey = 'wq' | 'wk' | 'wv' | 'wo';

/**
 * A block's weights uploaded to a backend: attention and norms (absent where the architecture has
 * none), optional biases and extra norms, then a dense or an MoE FFN (w3 absent for a plain FFN).
 */
export type DeviceLayerWeights = { readonly [K in SharedKey]: Tensor<FloatDType> } & {
  readonly attentionNorm?: Tensor<'f32'>;
  readonly ffnNorm?: Tensor<'f32'>;
} & { readonly [K in OptionalLayerPart]?: Tensor<'f32'> } & (
    | {
        readonly kind: 'dense';
        readonly w1: Tensor<FloatDType>;
        readonly w2: Tensor<FloatDType>;
        readonly w3?: Tensor<FloatDType>;
      }
    | { readonly kind: 'moe'; readonly moe: DeviceMoeWeights }
  );

/**
 * How a host weight array becomes a backend tensor: `b.weightTensor`, copied or adopted. Float32
 * data (norm scales, biases, f32 checkpoints) give f32 tensors; matrices may be 16-bit.
 */
export interface WeightUpload {
  (data: Float32Array, shape: number[]): Tensor<'f32'>;
  (data: WeightArray, shape: number[]): Tensor<FloatDType>;
}

/** `b.weightTensor` as a WeightUpload (a copy, or the array handed over with `adopt`). */
export function weightUpload(b: Backend, adopt = false): WeightUpload {
  return ((data: WeightArray, shape: number[]) => b.weightTensor(data, shape, { adopt })) as WeightUpload;
}

/**
 * Upload one layer's weights (copies, unless `upload` adopts them). With `config.moe` the experts
 * and router are uploaded and the (empty) dense w1/w2/w3 are not; call `checkLayerWeights` on
 * every layer first.
 */
export function uploadLayerWeights(
  b: Backend,
  c: LlamaConfig,
  l: LlamaLayerWeights<WeightArray>,
  upload?: WeightUpload,
): DeviceLayerWeights {
  const up: WeightUpload = upload ?? weightUpload(b);
  const block = blockOf(c);
  const qDim = qDimOf(c);
  const parts: Partial<Record<string, Tensor<FloatDType>>> = {
    wq: up(l.wq, [qDim, c.dim]),
    wk: up(l.wk, [c.kvDim, c.dim]),
    wv: up(l.wv, [c.kvDim, c.dim]),
    wo: up(l.wo, [c.dim, qDim]),
  };
  if (block.normPlacement !== 'post') {
    parts.attentionNorm = up(l.attentionNorm, [c.dim]);
    parts.ffnNorm = up(l.ffnNorm, [c.dim]);
  }
  for (const p of requiredOptionalParts(c)) parts[p] = up(l[p]!, [optionalPartLength(c, p)]);
  if (c.moe) {
    return { ...parts, kind: 'moe', moe: uploadMoeWeights(b, c, l.moe!, up) } as DeviceLayerWeights;
  }
  return {
    ...parts,
    kind: 'dense',
    w1: up(l.w1, [c.hiddenDim, c.dim]),
    w2: up(l.w2, [c.dim, c.hiddenDim]),
    ...(block.gated ? { w3: up(l.w3, [c.hiddenDim, c.dim]) } : {}),
  } as DeviceLayerWeights;
}

/**
 * Throw a clear error when layer `index` does not match the config (FFN kind, sizes, the parts
 * the architecture needs), before anything is uploaded.
 */
export function checkLayerWeights(c: LlamaConfig, l: LlamaLayerWeights<WeightArray>, index: number): void {
  const block = blockOf(c);
  const qDim = qDimOf(c);
  const expect = (what: string, a: WeightArray | undefined, n: number) => {
    const length = a ? weightLength(a) : undefined;
    if (length !== n) throw new Error(`layer ${index}: ${what} has ${length ?? 'no'} values, expected ${n}`);
  };
  expect('wq', l.wq, qDim * c.dim);
  expect('wk', l.wk, c.kvDim * c.dim);
  expect('wv', l.wv, c.kvDim * c.dim);
  expect('wo', l.wo, c.dim * qDim);
  if (block.normPlacement !== 'post') {
    expect('attentionNorm', l.attentionNorm, c.dim);
    expect('ffnNorm', l.ffnNorm, c.dim);
  }
  for (const p of requiredOptionalParts(c)) expect(p, l[p], optionalPartLength(c, p));
  if (c.moe) checkMoeWeights(c, l.moe, index);
  else {
    if (l.moe) throw new Error(`layer ${index} has MoE weights, but the config describes a dense model`);
    expect('w1', l.w1, c.hiddenDim * c.dim);
    expect('w2', l.w2, c.dim * c.hiddenDim);
    if (block.gated) expect('w3', l.w3, c.hiddenDim * c.dim);
  }
}

/** Every tensor of a layer, for dispose. */
export function layerTensors(w: DeviceLayerWeights): Tensor<FloatDType>[] {
  const { kind: _kind, ...rest } = w;
  const own = Object.entries(rest).flatMap(([k, v]) => (k === 'moe' ? [] : [v as Tensor<FloatDType>]));
  return w.kind === 'moe' ? [...own, ...moeTensors(w.moe)] : own;
}

export interface BlockContext {
  backend: Backend;
  config: LlamaConfig;
  weights: DeviceLayerWeights;
  layer: number;
  hooks: Hooks | undefined;
  scope: TensorScope;
  /** Absolute position of the first row (rope angle, hook context). */
  pos0: number;
  /** This layer's KV cache; without it the rows attend only to each other. */
  cache: { k: Tensor<'f32'>; v: Tensor<'f32'> } | undefined;
  /** This layer's MoE routing (config + interventions); set for MoE layers. */
  route?: MoeRouteOptions;
  /** Probe this layer's attention pattern (`ForwardOptions.attentionProbe`). */
  probe?: AttentionProbeOptions;
}

type Hook = (point: string, t: Tensor<'f32'>) => Promise<Tensor<'f32'>>;

interface Ops {
  b: Backend;
  block: BlockSpec;
  scope: TensorScope;
  hook: Hook;
  /** x · Wᵀ (+ bias), owned by the scope. */
  linear: (x: Tensor<'f32'>, w: Tensor<FloatDType>, bias?: Tensor<'f32'>) => Tensor<'f32'>;
  norm: (x: Tensor<'f32'>, w: Tensor<'f32'>, bias?: Tensor<'f32'>) => Tensor<'f32'>;
}

/**
 * Run block `c.layer` on the residual stream x [T, dim]. Consumes x (disposes it) and returns the
 * new residual stream, owned by `c.scope`.
 */
export async function llamaBlock(x: Tensor<'f32'>, c: BlockContext): Promise<Tensor<'f32'>> {
  const { backend: b, config, weights: w, scope, layer, pos0 } = c;
  const block = blockOf(config);
  const hook: Hook = (point, t) =>
    runHook(c.hooks, `blocks.${layer}.${point}`, t, { layer, pos0, backend: b }, (o, r) =>
      scope.replace(o, r),
    );
  const ops: Ops = {
    b,
    block,
    scope,
    hook,
    linear: (a, weight, bias) =>
      scope.own(b.matmul(a, weight, bias ? { transposeB: true, bias } : { transposeB: true })),
    norm: (a, weight, bias) =>
      scope.own(
        block.norm === 'layer'
          ? b.layernorm(a, weight, bias, config.normEps)
          : b.rmsnorm(a, weight, config.normEps),
      ),
  };

  x = await hook('hook_resid_pre', x);
  // The sublayer inputs: normalised (pre/sandwich) or the stream itself (OLMo 2's post-norm).
  const preNorm = async (
    point: string,
    input: Tensor<'f32'>,
    weight?: Tensor<'f32'>,
    bias?: Tensor<'f32'>,
  ) => (weight ? hook(point, ops.norm(input, weight, bias)) : input);

  if (block.residual === 'parallel') {
    const h = await preNorm('ln1.hook_normalized', x, w.attentionNorm, w.attentionNormBias);
    const attnOut = await hook('hook_attn_out', await attention(h, c, ops));
    if (h !== x) scope.drop(h);
    const h2 = await preNorm('ln2.hook_normalized', x, w.ffnNorm, w.ffnNormBias);
    const mlpOut = await hook('hook_mlp_out', await feedForward(h2, c, ops));
    if (h2 !== x) scope.drop(h2);
    const partial = scope.own(b.add(x, attnOut));
    scope.drop(x, attnOut);
    const out = scope.own(b.add(partial, mlpOut));
    scope.drop(partial, mlpOut);
    return hook('hook_resid_post', out);
  }

  const h = await preNorm('ln1.hook_normalized', x, w.attentionNorm, w.attentionNormBias);
  let attnOut = await attention(h, c, ops);
  if (h !== x) scope.drop(h);
  attnOut = await hook('hook_attn_out', postNorm(attnOut, w.postAttentionNorm, ops));
  const mid = await hook('hook_resid_mid', residualAdd(x, attnOut, ops));

  const h2 = await preNorm('ln2.hook_normalized', mid, w.ffnNorm, w.ffnNormBias);
  let mlpOut = await feedForward(h2, c, ops);
  if (h2 !== mid) scope.drop(h2);
  mlpOut = await hook('hook_mlp_out', postNorm(mlpOut, w.postFfnNorm, ops));
  return hook('hook_resid_post', residualAdd(mid, mlpOut, ops));
}

/** A sublayer output's own norm (Gemma's post norms, OLMo 2), or the output as it is. */
function postNorm(y: Tensor<'f32'>, weight: Tensor<'f32'> | undefined, ops: Ops): Tensor<'f32'> {
  if (!weight) return y;
  const n = ops.norm(y, weight);
  ops.scope.drop(y);
  return n;
}

/** x + s·y (s = Granite's residual_multiplier, else 1); consumes both. */
function residualAdd(x: Tensor<'f32'>, y: Tensor<'f32'>, ops: Ops): Tensor<'f32'> {
  const { b, scope } = ops;
  const s = ops.block.residualScale;
  let add = y;
  if (s !== undefined && s !== 1) {
    add = scope.own(b.rowAffine(y, { scale: s }));
    scope.drop(y);
  }
  const out = scope.own(b.add(x, add));
  scope.drop(x, add);
  return out;
}

/** Attention sublayer: h [T, dim] (not consumed) → output [T, dim] before any post norm. */
async function attention(h: Tensor<'f32'>, c: BlockContext, ops: Ops): Promise<Tensor<'f32'>> {
  const { backend: b, config, weights: w, layer, pos0 } = c;
  const { scope, hook, block } = ops;
  const { nHeads, nKvHeads, headDim } = config;
  const spec = block.layers[layer]!;

  let q = await hook('attn.hook_q', ops.linear(h, w.wq, w.bq));
  let k = await hook('attn.hook_k', ops.linear(h, w.wk, w.bk));
  const v = await hook('attn.hook_v', ops.linear(h, w.wv, w.bv));
  if (block.qkNorm !== 'none') {
    const group = block.qkNorm === 'head' ? { groupSize: headDim } : undefined;
    const qn = scope.own(b.rmsnorm(q, w.qNorm!, config.normEps, group));
    const kn = scope.own(b.rmsnorm(k, w.kNorm!, config.normEps, group));
    scope.drop(q, k);
    q = qn;
    k = kn;
  }
  if (block.positions.kind === 'rope') {
    const { style, rotaryDim } = block.positions;
    const rope = {
      headDim,
      pos0,
      theta: spec.ropeTheta,
      style,
      rotaryDim,
      ...(spec.ropeScaling ? { scaling: spec.ropeScaling } : {}),
    };
    const rq = scope.own(b.rope(q, rope));
    const rk = scope.own(b.rope(k, rope));
    scope.drop(q, k);
    q = await hook('attn.hook_rot_q', rq);
    k = await hook('attn.hook_rot_k', rk);
  }

  let keys = k;
  let values = v;
  // With a cache, rows attend to every cached position 0..pos0+i; without one, only to each other,
  // so the mask starts at 0 while rope still uses the absolute positions.
  let maskPos0 = 0;
  if (c.cache) {
    b.writeRows(c.cache.k, k, pos0);
    b.writeRows(c.cache.v, v, pos0);
    scope.drop(k, v);
    keys = c.cache.k;
    values = c.cache.v;
    maskPos0 = pos0;
  }

  const hooked = (point: string) => c.hooks?.[`blocks.${layer}.${point}`] !== undefined;
  const wantPattern = hooked('attn.hook_pattern');
  const heads = { nHeads, nKvHeads, headDim };
  const att = b.attention(q, keys, values, {
    ...heads,
    pos0: maskPos0,
    returnScores: hooked('attn.hook_attn_scores'),
    returnProbs: wantPattern,
    returnRowStats: hooked('attn.hook_row_stats'),
    ...(c.probe ? { probe: c.probe.spec } : {}),
    ...(block.attnScale !== undefined ? { scale: block.attnScale } : {}),
    ...(block.attnSoftcap !== undefined ? { softcap: block.attnSoftcap } : {}),
    // When sliding windows are used, the mask is relative to absolute positions.
    ...(spec.window !== null ? { window: spec.window } : {}),
  });
  if (att.probe) c.probe!.consume(layer, att.probe);
  let z = scope.own(att.out);
  const rowStats = att.rowStats ? scope.own(att.rowStats) : undefined;
  scope.drop(q);
  let probs = att.probs ? scope.own(att.probs) : undefined;
  // Whether the mixing weights differ from those z was computed with (then z is recomputed).
  let mixingReplaced = false;
  if (att.scores) {
    const raw = scope.own(att.scores);
    const scores = await hook('attn.hook_attn_scores', raw);
    if (scores !== raw) {
      // Replaced scores: the pattern is their softmax, and flows into hook_pattern.
      const name = `blocks.${layer}.attn.hook_attn_scores`;
      const pattern = scope.own(await patternOfScores(b, scores, name));
      scope.drop(probs);
      probs = pattern;
      mixingReplaced = true;
    }
    scope.drop(scores);
  }
  if (probs) {
    const pattern = wantPattern ? await hook('attn.hook_pattern', probs) : probs;
    if (pattern !== probs) mixingReplaced = true;
    if (mixingReplaced) {
      scope.drop(z);
      z = scope.own(b.attentionApply(pattern, values, heads));
    }
    scope.drop(pattern);
  }
  if (rowStats) scope.drop(await hook('attn.hook_row_stats', rowStats));
  scope.drop(k, v); // no-ops when they went into the cache
  z = await hook('attn.hook_z', z);
  const out = ops.linear(z, w.wo, w.bo);
  scope.drop(z);
  return out;
}

/** FFN sublayer: h [T, dim] (not consumed) → output [T, dim] before any post norm. */
async function feedForward(h: Tensor<'f32'>, c: BlockContext, ops: Ops): Promise<Tensor<'f32'>> {
  const { backend: b, weights: w, layer } = c;
  const { scope, hook, block } = ops;
  if (w.kind === 'moe') {
    if (!c.route) throw new Error(`block ${layer}: an MoE layer needs its routing options`);
    return moeFfn(h, { ...c, weights: w.moe, route: c.route, hook, activation: block.activation });
  }
  // Gated: w2(act(w1 x) · w3 x); plain: w2(act(w1 x)).
  const gate = await hook('mlp.hook_pre', ops.linear(h, w.w1, w.b1));
  let act: Tensor<'f32'>;
  if (w.w3) {
    const up = ops.linear(h, w.w3, w.b3);
    act = scope.own(b.gatedActivation(gate, up, block.activation));
    scope.drop(gate, up);
  } else {
    act = scope.own(b.activation(gate, block.activation));
    scope.drop(gate);
  }
  act = await hook('mlp.hook_post', act);
  const out = ops.linear(act, w.w2, w.b2);
  scope.drop(act);
  return out;
}
