/**
 * The sparse MoE FFN of a Mixtral-style block on a Backend: router linear → softmax → top-k →
 * optional renormalisation → SwiGLU experts, each run only on the tokens routed to it.
 *
 * Dispatch: the chosen experts [T, k] are read back to the host (one small readback per layer;
 * the GPU waits for the router there), which builds each expert's token list. Expert e gathers its
 * rows of the normalised stream (a row gather is exactly an `embedding` lookup with the token
 * indices as ids), runs its FFN on just those rows (matmul + swiglu),
 * and writes the result into its own row range of one [T·k, dim] buffer; `moeCombine` then sums
 * each token's k rows with its gates. Every output row is written once by its own threads, so two
 * experts never race on a token and the sum order is fixed.
 */
import type { ActivationKind, Backend, MoeRouteOptions } from '../../kernels/backend';
import type { FloatDType, Tensor } from '../../kernels/tensor';
import { runIndexHook, type Hooks } from '../hooks';
import type { ExpertWeights, LlamaConfig, MoeLayerWeights } from './llama-config';
import { weightLength, type WeightArray } from '../../kernels/weight-dtype';
import type { TensorScope } from './tensor-scope';

/** One expert's SwiGLU matrices on a backend (same layout as the dense FFN). */
export interface DeviceExpert {
  readonly w1: Tensor<FloatDType>;
  readonly w2: Tensor<FloatDType>;
  readonly w3: Tensor<FloatDType>;
}

/** A MoE layer's weights on a backend. */
export interface DeviceMoeWeights {
  /** [nExperts, dim] */
  readonly router: Tensor<FloatDType>;
  readonly experts: readonly DeviceExpert[];
  /** Qwen2-MoE's shared expert and its [1, dim] sigmoid gate. */
  readonly shared?: { readonly expert: DeviceExpert; readonly gate: Tensor<FloatDType> };
}

/**
 * Throw a clear error unless layer `l`'s host MoE weights fit `config` (checked for every layer
 * before anything is uploaded, so a bad checkpoint leaks no tensors).
 */
export function checkMoeWeights(
  config: LlamaConfig,
  moe: MoeLayerWeights<WeightArray> | undefined,
  l: number,
): void {
  const { dim, hiddenDim } = config;
  const E = config.moe!.nExperts;
  if (!moe)
    throw new Error(`layer ${l}: the config is a mixture of experts but the layer has no MoE weights`);
  const expect = (what: string, a: WeightArray | undefined, n: number) => {
    const length = a ? weightLength(a) : undefined;
    if (length !== n) throw new Error(`layer ${l}: ${what} has ${length ?? 'no'} elements, expected ${n}`);
  };
  expect('the router', moe.router, E * dim);
  if (moe.experts.length !== E) {
    throw new Error(`layer ${l}: ${moe.experts.length} experts, the config says ${E}`);
  }
  moe.experts.forEach((x, e) => {
    expect(`expert ${e} w1`, x.w1, hiddenDim * dim);
    expect(`expert ${e} w2`, x.w2, dim * hiddenDim);
    expect(`expert ${e} w3`, x.w3, hiddenDim * dim);
  });
  const shared = config.moe!.sharedExpert;
  if (shared) {
    if (!moe.shared) throw new Error(`layer ${l}: the config has a shared expert but the layer has none`);
    const h = shared.hiddenDim;
    expect('shared expert w1', moe.shared.expert.w1, h * dim);
    expect('shared expert w2', moe.shared.expert.w2, dim * h);
    expect('shared expert w3', moe.shared.expert.w3, h * dim);
    expect('shared expert gate', moe.shared.gate, dim);
  } else if (moe.shared) throw new Error(`layer ${l} has a shared expert, but the config has none`);
}

/** Upload one layer's router and experts (see `checkMoeWeights`). */
export function uploadMoeWeights(
  b: Backend,
  config: LlamaConfig,
  moe: MoeLayerWeights<WeightArray>,
  upload?: (data: WeightArray, shape: number[]) => Tensor<FloatDType>,
): DeviceMoeWeights {
  const { dim, hiddenDim } = config;
  const up = upload ?? ((data: WeightArray, shape: number[]) => b.weightTensor(data, shape));
  const expert = (x: ExpertWeights<WeightArray>, h: number) => ({
    w1: up(x.w1, [h, dim]),
    w2: up(x.w2, [dim, h]),
    w3: up(x.w3, [h, dim]),
  });
  const shared = config.moe?.sharedExpert;
  return {
    router: up(moe.router, [moe.experts.length, dim]),
    experts: moe.experts.map((x) => expert(x, hiddenDim)),
    ...(shared && moe.shared
      ? {
          shared: {
            expert: expert(moe.shared.expert, shared.hiddenDim),
            gate: up(moe.shared.gate, [1, dim]),
          },
        }
      : {}),
  };
}

/** Every tensor of a MoE layer, for dispose. */
export function moeTensors(w: DeviceMoeWeights): Tensor<FloatDType>[] {
  const experts = w.shared ? [...w.experts, w.shared.expert] : w.experts;
  return [w.router, ...experts.flatMap((x) => [x.w1, x.w2, x.w3]), ...(w.shared ? [w.shared.gate] : [])];
}

/** Each expert's tokens, and where each (token, choice) finds its expert's output row. */
export interface ExpertDispatch {
  /** Token indices, expert by expert (ascending within an expert): length T·k. */
  order: Int32Array;
  /** [nExperts + 1]: expert e owns order[offsets[e]..offsets[e+1]). */
  offsets: Int32Array;
  /** [T·k]: slots[t·k + j] = the position in `order` (= row of the expert outputs) of choice j of token t. */
  slots: Int32Array;
}

/**
 * Group the chosen experts [T, k] by expert (a counting sort, stable in token order).
 *
 * @example
 * planExpertDispatch(Int32Array.of(1, 0, 1, 2), 2, 3);
 * // order [0, 0, 1, 1], offsets [0, 1, 3, 4], slots [1, 0, 2, 3]
 */
export function planExpertDispatch(experts: Int32Array, k: number, nExperts: number): ExpertDispatch {
  const offsets = new Int32Array(nExperts + 1);
  for (const e of experts) {
    if (!(e >= 0 && e < nExperts))
      throw new Error(`expert dispatch: expert id ${e} outside [0, ${nExperts})`);
    offsets[e + 1]!++;
  }
  for (let e = 0; e < nExperts; e++) offsets[e + 1]! += offsets[e]!;
  const next = offsets.slice(0, nExperts);
  const order = new Int32Array(experts.length);
  const slots = new Int32Array(experts.length);
  for (let i = 0; i < experts.length; i++) {
    const p = next[experts[i]!]!++;
    order[p] = Math.floor(i / k);
    slots[i] = p;
  }
  return { order, offsets, slots };
}

export interface MoeFfnContext {
  backend: Backend;
  config: LlamaConfig;
  weights: DeviceMoeWeights;
  /** This layer's routing (config + interventions). */
  route: MoeRouteOptions;
  scope: TensorScope;
  hooks: Hooks | undefined;
  layer: number;
  pos0: number;
  /** Run the f32 hook at `blocks.{layer}.{point}` (the block's hook runner). */
  hook: (point: string, t: Tensor<'f32'>) => Promise<Tensor<'f32'>>;
  /** The experts' gated activation (silu for every MoE here). */
  activation: ActivationKind;
}

/**
 * The MoE FFN output [T, dim] for the normalised stream h [T, dim] (not consumed; owned by
 * `c.scope` like every intermediate).
 */
export async function moeFfn(h: Tensor<'f32'>, c: MoeFfnContext): Promise<Tensor<'f32'>> {
  const { backend: b, scope, weights: w, route } = c;
  const [T, dim] = h.shape as [number, number];
  const E = w.experts.length;
  const k = route.topK;
  const mm = (a: Tensor<'f32'>, weight: Tensor<FloatDType>) =>
    scope.own(b.matmul(a, weight, { transposeB: true }));

  // A replaced logits tensor is what gets routed (interventions still apply on top of it).
  const logits = await c.hook('moe.hook_router_logits', mm(h, w.router));
  const r = b.moeRoute(logits, route);
  const [experts, probs] = [scope.own(r.experts), scope.own(r.probs)];
  let gates = scope.own(r.gates);
  scope.drop(logits);
  scope.drop(await c.hook('moe.hook_router_probs', probs));
  const name = `blocks.${c.layer}.moe.hook_selected_experts`;
  await runIndexHook(c.hooks, name, experts, { layer: c.layer, pos0: c.pos0, backend: b });
  const ids = await b.read(experts);
  scope.drop(experts);
  gates = await c.hook('moe.hook_gate_weights', gates);

  const plan = planExpertDispatch(ids, k, E);
  const ys = scope.own(b.zeros([T * k, dim]) as Tensor<'f32'>);
  for (let e = 0; e < E; e++) {
    const start = plan.offsets[e]!;
    const n = plan.offsets[e + 1]! - start;
    if (n === 0) continue; // an expert nobody chose costs nothing
    const x = w.experts[e]!;
    const rows = scope.own(b.tensor<'i32'>(plan.order.subarray(start, start + n), [n]));
    const xe = scope.own(b.embedding(h, rows));
    scope.drop(rows);
    const y = expertFfn(xe, x, c);
    scope.drop(xe);
    b.writeRows(ys, y, start);
    scope.drop(y);
  }
  const slots = scope.own(b.tensor<'i32'>(plan.slots, [T, k]));
  const out = scope.own(b.moeCombine(ys, slots, gates));
  scope.drop(ys, slots, gates);
  return w.shared ? addSharedExpert(h, out, w.shared, c) : out;
}

/** One expert's gated FFN on its rows x: w2(act(w1 x) · w3 x), owned by the scope. */
function expertFfn(x: Tensor<'f32'>, e: DeviceExpert, c: MoeFfnContext): Tensor<'f32'> {
  const { backend: b, scope } = c;
  const mm = (a: Tensor<'f32'>, weight: Tensor<FloatDType>) =>
    scope.own(b.matmul(a, weight, { transposeB: true }));
  const gate = mm(x, e.w1);
  const up = mm(x, e.w3);
  const act = scope.own(b.gatedActivation(gate, up, c.activation));
  scope.drop(gate, up);
  const y = mm(act, e.w2);
  scope.drop(act);
  return y;
}

/**
 * routed + sigmoid(h · g) · shared(h) (Qwen2-MoE). The per-row gate multiplies through
 * `moeCombine` with one slot per row, so no new kernel is needed. Consumes `routed`.
 */
async function addSharedExpert(
  h: Tensor<'f32'>,
  routed: Tensor<'f32'>,
  shared: NonNullable<DeviceMoeWeights['shared']>,
  c: MoeFfnContext,
): Promise<Tensor<'f32'>> {
  const { backend: b, scope } = c;
  const T = h.shape[0]!;
  const y = await c.hook('moe.hook_shared_expert_out', expertFfn(h, shared.expert, c));
  const logit = scope.own(b.matmul(h, shared.gate, { transposeB: true }));
  const gate = scope.own(b.activation(logit, 'sigmoid'));
  scope.drop(logit);
  const rows = scope.own(
    b.tensor<'i32'>(
      Int32Array.from({ length: T }, (_, i) => i),
      [T, 1],
    ),
  );
  const gated = scope.own(b.moeCombine(y, rows, gate));
  scope.drop(y, rows, gate);
  const out = scope.own(b.add(routed, gated));
  scope.drop(routed, gated);
  return out;
}
