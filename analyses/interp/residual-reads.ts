/**
 * Shared helpers of the interpretability tools: run one forward pass while reading the residual
 * stream at every layer boundary (TransformerLens's accumulated residual: entry i is the stream
 * entering block i, entry L the stream after the last block), and per-row log-softmax statistics.
 */
import type { Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';

/** Hook of the residual stream at boundary i of L blocks (0 = after the embeddings, L = final). */
export function residualHook(i: number, nLayers: number): string {
  return i < nLayers ? `blocks.${i}.hook_resid_pre` : `blocks.${nLayers - 1}.hook_resid_post`;
}

/**
 * One forward pass of `inputs`: its logits [T × V] and the residual stream at every layer
 * boundary (L + 1 arrays [T × dim]).
 */
export async function forwardWithResiduals(
  model: LlamaModel,
  inputs: Int32Array,
): Promise<{ logits: Float32Array; residuals: Float32Array[] }> {
  const L = model.config.nLayers;
  const residuals: Float32Array[] = new Array(L + 1);
  const hooks: Record<string, Hooks[string]> = {};
  for (let i = 0; i <= L; i++) {
    hooks[residualHook(i, L)] = async (t) => {
      residuals[i] = await model.backend.read(t);
    };
  }
  const out = await model.forward(inputs, { hooks });
  try {
    return { logits: await model.backend.read(out), residuals };
  } finally {
    model.backend.dispose(out);
  }
}

/** The model's head applied to a host residual [T × dim] (upload, readout, read back). */
export async function readoutHost(
  model: LlamaModel,
  residual: Float32Array,
  T: number,
): Promise<Float32Array> {
  const b = model.backend;
  const x = b.tensor<'f32'>(residual, [T, model.config.dim]);
  try {
    const logits = await model.readout(x);
    try {
      return await b.read(logits);
    } finally {
      b.dispose(logits);
    }
  } finally {
    b.dispose(x);
  }
}

/** log-softmax of row t of [T × V] logits, in float64. */
export function logSoftmaxRow(logits: Float32Array, V: number, t: number, out: Float64Array): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]!);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[t * V + v]! - max);
  const lse = max + Math.log(sum);
  for (let v = 0; v < V; v++) out[v] = logits[t * V + v]! - lse;
  return out;
}

/** Index of the largest entry (the first of ties). */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/**
 * Evaluation windows of a token stream per ARCHITECTURE.md "Loss over a text": window k takes
 * tokens [kS, kS + S] — the first S are inputs, the last S the targets.
 */
export function* lossWindows(
  tokens: Int32Array,
  S: number,
): Generator<{ index: number; start: number; inputs: Int32Array; targets: Int32Array }> {
  const total = Math.max(0, Math.ceil((tokens.length - 1) / S));
  for (let k = 0; k < total; k++) {
    const w = tokens.subarray(k * S, Math.min(k * S + S + 1, tokens.length));
    yield { index: k, start: k * S, inputs: w.subarray(0, w.length - 1), targets: w.subarray(1) };
  }
}
