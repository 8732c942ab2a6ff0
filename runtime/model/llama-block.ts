/**
 * One Llama transformer block on a Backend, with its hook points. The math is llama2.c run.c
 * `forward` for a batch of rows: pre-norm attention with rope and GQA, residual add, pre-norm
 * SwiGLU FFN (dense, or a Mixtral-style sparse mixture of experts: moe-block.ts), residual add.
 */
import type { Backend, MoeRouteOptions } from '../../kernels/backend';
import type { AttentionProbeOptions } from './llama';
import type { Tensor } from '../../kernels/tensor';
import { runHook, type Hooks } from '../hooks';
import type { LlamaConfig, LlamaLayerWeights } from './llama-config';
import { checkMoeWeights, moeFfn, moeTensors, uploadMoeWeights, type DeviceMoeWeights } from './moe-block';
import type { TensorScope } from './tensor-scope';

type SharedKey = 'attentionNorm' | 'wq' | 'wk' | 'wv' | 'wo' | 'ffnNorm';

/** A block's weights uploaded to a backend: attention and norms, then a dense or an MoE FFN. */
export type DeviceLayerWeights = { readonly [K in SharedKey]: Tensor<'f32'> } & (
  | {
      readonly kind: 'dense';
      readonly w1: Tensor<'f32'>;
      readonly w2: Tensor<'f32'>;
      readonly w3: Tensor<'f32'>;
    }
  | { readonly kind: 'moe'; readonly moe: DeviceMoeWeights }
);

/**
 * Upload one layer's weights. With `config.moe` the experts and router are uploaded and the (empty)
 * dense w1/w2/w3 are not; call `checkLayerWeights` on every layer first.
 */
export function uploadLayerWeights(b: Backend, c: LlamaConfig, l: LlamaLayerWeights): DeviceLayerWeights {
  const up = (data: Float32Array, shape: number[]) => b.tensor<'f32'>(data, shape);
  const shared = {
    attentionNorm: up(l.attentionNorm, [c.dim]),
    wq: up(l.wq, [c.dim, c.dim]),
    wk: up(l.wk, [c.kvDim, c.dim]),
    wv: up(l.wv, [c.kvDim, c.dim]),
    wo: up(l.wo, [c.dim, c.dim]),
    ffnNorm: up(l.ffnNorm, [c.dim]),
  };
  if (c.moe) return { ...shared, kind: 'moe', moe: uploadMoeWeights(b, c, l.moe!) };
  return {
    ...shared,
    kind: 'dense',
    w1: up(l.w1, [c.hiddenDim, c.dim]),
    w2: up(l.w2, [c.dim, c.hiddenDim]),
    w3: up(l.w3, [c.hiddenDim, c.dim]),
  };
}

/** Throw a clear error when layer `index` does not match the config's FFN kind (before uploads). */
export function checkLayerWeights(c: LlamaConfig, l: LlamaLayerWeights, index: number): void {
  if (c.moe) checkMoeWeights(c, l.moe, index);
  else if (l.moe) throw new Error(`layer ${index} has MoE weights, but the config describes a dense model`);
}

/** Every tensor of a layer, for dispose. */
export function layerTensors(w: DeviceLayerWeights): Tensor<'f32'>[] {
  const shared = [w.attentionNorm, w.wq, w.wk, w.wv, w.wo, w.ffnNorm];
  return w.kind === 'moe' ? [...shared, ...moeTensors(w.moe)] : [...shared, w.w1, w.w2, w.w3];
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

/**
 * Run block `c.layer` on the residual stream x [T, dim]. Consumes x (disposes it) and returns the
 * new residual stream, owned by `c.scope`.
 */
export async function llamaBlock(x: Tensor<'f32'>, c: BlockContext): Promise<Tensor<'f32'>> {
  const { backend: b, config, weights: w, scope, layer, pos0 } = c;
  const { nHeads, nKvHeads, headDim } = config;
  const hook = (point: string, t: Tensor<'f32'>) =>
    runHook(c.hooks, `blocks.${layer}.${point}`, t, { layer, pos0, backend: b }, (o, r) =>
      scope.replace(o, r),
    );
  const mm = (a: Tensor<'f32'>, weight: Tensor<'f32'>) =>
    scope.own(b.matmul(a, weight, { transposeB: true }));

  x = await hook('hook_resid_pre', x);

  // Attention.
  const h = await hook('ln1.hook_normalized', scope.own(b.rmsnorm(x, w.attentionNorm, config.normEps)));
  const q0 = await hook('attn.hook_q', mm(h, w.wq));
  const k0 = await hook('attn.hook_k', mm(h, w.wk));
  const v = await hook('attn.hook_v', mm(h, w.wv));
  scope.drop(h);
  let q = scope.own(b.rope(q0, { headDim, pos0, theta: config.ropeTheta }));
  let k = scope.own(b.rope(k0, { headDim, pos0, theta: config.ropeTheta }));
  scope.drop(q0, k0);
  q = await hook('attn.hook_rot_q', q);
  k = await hook('attn.hook_rot_k', k);

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
    returnProbs: wantPattern,
    returnRowStats: hooked('attn.hook_row_stats'),
    ...(c.probe ? { probe: c.probe.spec } : {}),
  });
  if (att.probe) c.probe!.consume(layer, att.probe);
  let z = scope.own(att.out);
  const rowStats = att.rowStats ? scope.own(att.rowStats) : undefined;
  scope.drop(q);
  if (att.probs) {
    const probs = scope.own(att.probs);
    const pattern = await hook('attn.hook_pattern', probs);
    // A replaced pattern means different mixing weights: recompute z from it.
    if (pattern !== probs) {
      scope.drop(z);
      z = scope.own(b.attentionApply(pattern, values, heads));
    }
    scope.drop(pattern);
  }
  if (rowStats) scope.drop(await hook('attn.hook_row_stats', rowStats));
  scope.drop(k, v); // no-ops when they went into the cache
  z = await hook('attn.hook_z', z);

  let attnOut = mm(z, w.wo);
  scope.drop(z);
  attnOut = await hook('hook_attn_out', attnOut);
  let mid = scope.own(b.add(x, attnOut));
  scope.drop(x, attnOut);
  mid = await hook('hook_resid_mid', mid);

  // Feed-forward: w2(silu(w1 x) * w3 x), or the gate-weighted sum of the chosen experts' FFNs.
  const h2 = await hook('ln2.hook_normalized', scope.own(b.rmsnorm(mid, w.ffnNorm, config.normEps)));
  let mlpOut: Tensor<'f32'>;
  if (w.kind === 'moe') {
    if (!c.route) throw new Error(`block ${layer}: an MoE layer needs its routing options`);
    mlpOut = await moeFfn(h2, { ...c, weights: w.moe, route: c.route, hook });
    scope.drop(h2);
  } else {
    let gate = mm(h2, w.w1);
    gate = await hook('mlp.hook_pre', gate);
    const up = mm(h2, w.w3);
    scope.drop(h2);
    let act = scope.own(b.swiglu(gate, up));
    scope.drop(gate, up);
    act = await hook('mlp.hook_post', act);
    mlpOut = mm(act, w.w2);
    scope.drop(act);
  }
  mlpOut = await hook('hook_mlp_out', mlpOut);
  let out = scope.own(b.add(mid, mlpOut));
  scope.drop(mid, mlpOut);
  out = await hook('hook_resid_post', out);
  return out;
}
