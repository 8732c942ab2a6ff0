/**
 * Activation patching (causal tracing; METHODS.md): run a clean and a corrupted prompt of equal
 * token length, then rerun the corrupted one with one activation replaced by its clean value — a
 * hook at one layer, at every position or at one position, or one head of `attn.hook_z` /
 * `attn.hook_pattern` — and measure how much of the clean metric it restores:
 * restored = (patched − corrupted) / (clean − corrupted).
 */
import { parseHookName, type Hook, type Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import { createYielder } from '../../runtime/scheduling';

/** Logit difference answer − wrong at the last position, or the loss of the answer there. */
export type PatchMetric =
  { kind: 'logit-diff'; answer: number; wrong: number } | { kind: 'loss'; answer: number };

export interface PatchingRequest {
  clean: Int32Array;
  corrupted: Int32Array;
  metric: PatchMetric;
  /** A block hook point without the layer, e.g. `hook_resid_pre`, `attn.hook_z`, `hook_mlp_out`. */
  point: string;
  /** Patch every position at once ('all') or each position on its own ('each'). */
  positions: 'all' | 'each';
  /** For `attn.hook_z` and `attn.hook_pattern`: patch each head on its own (all positions). */
  perHead?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface PatchingResult {
  clean: number;
  corrupted: number;
  point: string;
  /** Per layer: restored with all positions patched ('all'). */
  all?: number[];
  /** [layer][position] restored ('each'). */
  byPosition?: number[][];
  /** [layer][head] restored (perHead). */
  byHead?: number[][];
}

/** Metric of the last position's logits [V] (the model's output). */
export function metricOf(lastLogits: Float32Array, metric: PatchMetric): number {
  if (metric.kind === 'logit-diff') return lastLogits[metric.answer]! - lastLogits[metric.wrong]!;
  let max = -Infinity;
  for (const v of lastLogits) max = Math.max(max, v);
  let sum = 0;
  for (const v of lastLogits) sum += Math.exp(v - max);
  return max + Math.log(sum) - lastLogits[metric.answer]!;
}

/**
 * Patch `point` at every layer, for every position or head as asked.
 *
 * @example
 * const r = await activationPatching(model, { clean, corrupted, metric: { kind: 'logit-diff', answer, wrong }, point: 'hook_resid_pre', positions: 'each' });
 * r.byPosition![3]![5]; // restored by patching layer 3, position 5
 * @throws RangeError for prompts of different lengths, token ids outside the vocabulary, a head
 *   split of a point without heads, or runs whose metric does not differ.
 */
export async function activationPatching(model: LlamaModel, req: PatchingRequest): Promise<PatchingResult> {
  const { nLayers: L, nHeads, headDim, vocabSize: V } = model.config;
  const T = req.clean.length;
  if (req.corrupted.length !== T) {
    throw new RangeError(
      `activation patching needs clean and corrupted prompts of equal token length; they have ${T} and ${req.corrupted.length} tokens`,
    );
  }
  for (const [name, id] of Object.entries(req.metric)) {
    if (name !== 'kind' && !(Number.isInteger(id) && (id as number) >= 0 && (id as number) < V)) {
      throw new RangeError(`the ${name} token ${String(id)} is outside the vocabulary [0, ${V})`);
    }
  }
  if (req.perHead && req.point !== 'attn.hook_z' && req.point !== 'attn.hook_pattern') {
    throw new RangeError(`patching per head needs attn.hook_z or attn.hook_pattern, not ${req.point}`);
  }
  const hookAt = (l: number) => `blocks.${l}.${req.point}`;
  if (parseHookName(hookAt(0)) === null) {
    throw new RangeError(
      `${req.point} is not a block hook point (e.g. hook_resid_pre, attn.hook_z, hook_mlp_out)`,
    );
  }
  const b = model.backend;
  const run = async (tokens: Int32Array, hooks?: Hooks) => {
    const out = await model.forward(tokens, { hooks });
    try {
      const logits = await b.read(out);
      return metricOf(logits.subarray((T - 1) * V, T * V), req.metric);
    } finally {
      b.dispose(out);
    }
  };
  // The clean activations at every layer, and the two reference metrics.
  const cleanActs: Float32Array[] = [];
  const shapes: number[][] = [];
  const readAll: Record<string, Hooks[string]> = {};
  for (let l = 0; l < L; l++) {
    readAll[hookAt(l)] = async (t) => {
      cleanActs[l] = await b.read(t);
      shapes[l] = [...t.shape];
    };
  }
  const clean = await run(req.clean, readAll);
  const corrupted = await run(req.corrupted);
  const gap = clean - corrupted;
  if (!(Math.abs(gap) > 1e-9)) {
    throw new RangeError(
      `the clean and corrupted prompts give the same metric (${clean}); nothing can be restored`,
    );
  }
  /** Restored share when the selected entries of layer l's activation take their clean values. */
  const patched = async (l: number, select: (shape: number[]) => (i: number) => boolean) => {
    const replace: Hook = async (t) => {
      const a = await b.read(t);
      const keep = select([...t.shape]);
      const src = cleanActs[l]!;
      for (let i = 0; i < a.length; i++) if (keep(i)) a[i] = src[i]!;
      return b.tensor<'f32'>(a, [...t.shape]);
    };
    const hooks: Hooks = { [hookAt(l)]: replace };
    return ((await run(req.corrupted, hooks)) - corrupted) / gap;
  };
  const jobs: (() => Promise<void>)[] = [];
  const result: PatchingResult = { clean, corrupted, point: req.point };
  const rowOf = (shape: number[]) => (i: number) => Math.floor(i / shape[shape.length - 1]!) % T;
  if (req.positions === 'all') {
    result.all = new Array(L);
    for (let l = 0; l < L; l++)
      jobs.push(async () => void (result.all![l] = await patched(l, () => () => true)));
  } else {
    // 'each': position p = the token axis (rows of [T, C]; the query axis of [H, T, Tk]).
    result.byPosition = Array.from({ length: L }, () => new Array(T));
    for (let l = 0; l < L; l++) {
      for (let p = 0; p < T; p++) {
        jobs.push(async () => {
          result.byPosition![l]![p] = await patched(l, (shape) => {
            const row = rowOf(shape);
            return (i) => row(i) === p;
          });
        });
      }
    }
  }
  if (req.perHead) {
    result.byHead = Array.from({ length: L }, () => new Array(nHeads));
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < nHeads; h++) {
        jobs.push(async () => {
          result.byHead![l]![h] = await patched(l, (shape) =>
            req.point === 'attn.hook_z'
              ? (i) => Math.floor((i % shape[1]!) / headDim) === h
              : (i) => Math.floor(i / (shape[1]! * shape[2]!)) === h,
          );
        });
      }
    }
  }
  const maybeYield = createYielder();
  for (const [i, job] of jobs.entries()) {
    req.signal?.throwIfAborted();
    await job();
    req.onProgress?.({ done: i + 1, total: jobs.length });
    await maybeYield();
  }
  return result;
}
