/**
 * Evaluate an SAE (or ITDA dictionary) on a model and text: reconstruction metrics over the
 * activations at its hook and the model's loss with the reconstruction spliced in.
 *
 * Each window runs three forward passes: clean (the hook only reads the activation), spliced (the
 * hook returns `backend.tensor(reconstruction)`), zero-ablated (the hook returns zeros). The hook
 * reads with `backend.read` and uploads with `backend.tensor`, so it works on the CPU and WebGPU
 * backends alike. Windows are the loss evaluation's (runtime/windows.ts), and the losses are mean
 * cross-entropy over every target of the windows evaluated.
 *
 * loss_recovered = (zero − spliced) / (zero − clean) (`lossRecovered`): 1 = the SAE costs nothing.
 * SAELens's scores beside it: ce_loss_score (the same ratio under SAELens's name) and
 * kl_div_score = (KL_ablation − KL_sae) / KL_ablation, where KL_x is the mean over tokens of
 * KL(clean next-token distribution ‖ the distribution with x spliced in) (SAELens `evals.py`).
 */
import type { Hook, Hooks } from '../../runtime/hooks';
import { crossEntropyRows } from '../../runtime/eval/loss';
import type { LlamaModel } from '../../runtime/model/llama';
import { buildTokenStream } from '../../runtime/text';
import { eachWindow, lossWindows } from '../../runtime/windows';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { saeCodec, type LoadedSae } from './codec';
import { applyInputTransforms } from './input-transform';
import { transcoderForward, type LoadedTranscoder } from './pretrained';
import { checkSaeHook } from './collect';
import { lossRecovered, SaeEvalAccumulator, type DensityHistogram } from './metrics';
import { CompatibilityError } from '../../runtime/errors';
import { widthAt } from './train';

export interface EvaluateSaeOptions {
  /** Skip this many windows first (default 0). */
  firstWindow?: number;
  /** Evaluate at most this many windows (default 8). */
  maxWindows?: number;
  /** A latent firing on more than this share of tokens is dense (default 0.1). */
  denseThreshold?: number;
  fileName?: string;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** What `evaluateSae` measures (snake_case, as the CLI prints it). */
export interface SaeEvaluation {
  /** Where the reconstruction is spliced in (a transcoder's output hook). */
  hook: string;
  /** A transcoder's input hook. */
  hook_in?: string;
  d_in: number;
  d_sae: number;
  windows: number;
  tokens: number;
  mse: number;
  explained_variance: number;
  l0: number;
  dead_fraction: number;
  dense_fraction: number;
  loss_clean: number;
  loss_spliced: number;
  loss_zero_ablated: number;
  loss_recovered: number;
  /** SAELens's CE loss score: (zero − spliced) / (zero − clean), = loss_recovered. */
  ce_loss_score: number;
  /** Mean over tokens of KL(clean ‖ spliced) and KL(clean ‖ zero-ablated), nats. */
  kl_div_with_sae: number;
  kl_div_with_ablation: number;
  /** SAELens's KL score: (KL_ablation − KL_sae) / KL_ablation; 1 = the SAE costs nothing. */
  kl_div_score: number;
  /** Histogram of log10 firing frequency; dead latents counted apart. */
  density_histogram: { edges: number[]; counts: number[]; dead: number };
  /** [d_sae] each latent's firing frequency on the evaluated tokens. */
  firing_frequency: Float64Array;
}

/**
 * @example
 * const r = await evaluateSae(model, tok, text, sae, { maxWindows: 4 });
 * r.explained_variance; r.loss_recovered;
 * @throws CompatibilityError when the SAE's d_in is not the hook's width; HookError for a bad hook.
 */
export async function evaluateSae(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  sae: LoadedSae,
  opts: EvaluateSaeOptions = {},
): Promise<SaeEvaluation> {
  const codec = saeCodec(sae);
  const hook = sae.cfg.hookName;
  return evaluateSplice(
    model,
    tokenizer,
    text,
    {
      hookIn: hook,
      hookOut: hook,
      dIn: codec.dIn,
      dOut: codec.dIn,
      dSae: codec.dSae,
      file: 'cfg.json',
      run: (x) => {
        const f = codec.run(x);
        return { output: f.reconstruction, latents: f.latents };
      },
    },
    opts,
  );
}

/**
 * A transcoder spliced in: its prediction from the activation at `hookIn` replaces the one at
 * `hookOut` (e.g. ln2.hook_normalized → hook_mlp_out: the MLP replaced by the transcoder).
 * explained_variance and mse compare the prediction with the real activation at `hookOut`.
 *
 * @example
 * const r = await evaluateTranscoder(model, tok, text, transcoder, { maxWindows: 4 });
 * r.loss_recovered; // with the MLP replaced, against zero-ablating its output
 * @throws CompatibilityError when d_in / d_out are not the hooks' widths.
 */
export async function evaluateTranscoder(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  t: LoadedTranscoder,
  opts: EvaluateSaeOptions = {},
): Promise<SaeEvaluation> {
  const input = t.input ?? [];
  if (input.length > 0 && t.dIn !== t.dOut) {
    throw new CompatibilityError(
      'cfg.json',
      `input normalisation of a transcoder with d_in ${t.dIn} ≠ d_out ${t.dOut} is not supported`,
    );
  }
  return evaluateSplice(
    model,
    tokenizer,
    text,
    {
      hookIn: t.hookIn,
      hookOut: t.hookOut,
      dIn: t.dIn,
      dOut: t.dOut,
      dSae: t.dSae,
      file: 'cfg.json',
      run: (x) => {
        if (input.length === 0) {
          const f = transcoderForward(t, x);
          return { output: f.output, latents: f.latents };
        }
        const a = applyInputTransforms(input, x, t.dIn);
        const f = transcoderForward(t, a.y);
        return { output: a.undo(f.output), latents: f.latents };
      },
    },
    opts,
  );
}

/** What is spliced: read at `hookIn`, replace at `hookOut` (the same point for an SAE). */
interface Splice {
  hookIn: string;
  hookOut: string;
  dIn: number;
  dOut: number;
  dSae: number;
  /** File named when a width does not fit. */
  file: string;
  run(x: Float32Array): { output: Float32Array; latents: Float32Array };
}

async function evaluateSplice(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  splice: Splice,
  opts: EvaluateSaeOptions,
): Promise<SaeEvaluation> {
  const { dIn, dOut, dSae } = splice;
  const hookIn = checkSaeHook(model.config, splice.hookIn);
  const hookOut = checkSaeHook(model.config, splice.hookOut);
  const backend = model.backend;
  const stream = buildTokenStream(tokenizer, text, opts.fileName);
  for (const [hook, d, name] of [
    [hookIn, dIn, 'd_in'],
    [hookOut, dOut, 'd_out'],
  ] as const) {
    const width = await widthAt(model, hook, stream.tokens);
    if (width !== d) {
      throw new CompatibilityError(
        splice.file,
        `${name} is ${d} but the activations at ${hook} have width ${width}`,
      );
    }
  }
  const windows = lossWindows(stream.tokens.length, model.config.seqLen, {
    first: opts.firstWindow,
    maxWindows: opts.maxWindows ?? 8,
  });
  if (windows.length === 0) throw new Error('no window to evaluate (the text is too short for firstWindow)');
  const acc = new SaeEvalAccumulator(dOut, dSae, opts.denseThreshold ?? 0.1);
  const sums = { clean: 0, spliced: 0, zero: 0 };
  let targets = 0;
  const V = model.config.vocabSize;
  const kl = { sae: 0, zero: 0 };
  /** Summed loss of a window with these hooks; `against` (clean log-probabilities) adds the KL. */
  const run = async (
    inputs: Int32Array,
    targetIds: Int32Array,
    hooks: Hooks,
    against?: Float32Array,
    into?: 'sae' | 'zero',
  ) => {
    const logits = await model.forward(inputs, { hooks });
    try {
      const data = await backend.read(logits);
      if (against && into) kl[into] += klRows(against, logSoftmaxRows(data, V), V);
      return { loss: crossEntropyRows(data, V, targetIds).reduce((a, b) => a + b, 0), data };
    } finally {
      backend.dispose(logits);
    }
  };
  for await (const { inputs, targets: targetIds } of eachWindow(stream.tokens, windows, opts)) {
    // Clean: read the input (and the real output) and run the splice on them. Upstream of hookOut
    // nothing changes when splicing, so the spliced run replaces hookOut with this same output.
    let x: Float32Array | undefined;
    let output: Float32Array | undefined;
    const readOut: Hook = async (t) => {
      if (!x) throw new Error(`${hookIn} runs after ${hookOut}: a transcoder must read before it writes`);
      const f = splice.run(x);
      acc.add(await backend.read(t), f.output, f.latents);
      output = f.output;
    };
    const readIn: Hook = async (t) => void (x = await backend.read(t));
    const cleanHooks: Hooks =
      hookIn === hookOut
        ? { [hookIn]: async (t, ctx) => (await readIn(t, ctx), readOut(t, ctx)) }
        : { [hookIn]: readIn, [hookOut]: readOut };
    const cleanRun = await run(inputs, targetIds, cleanHooks);
    sums.clean += cleanRun.loss;
    const cleanLp = logSoftmaxRows(cleanRun.data, V);
    const out = output!;
    sums.spliced += (
      await run(inputs, targetIds, { [hookOut]: (t) => backend.tensor<'f32'>(out, t.shape) }, cleanLp, 'sae')
    ).loss;
    const zeros: Hook = (t) => backend.tensor<'f32'>(new Float32Array(out.length), t.shape);
    sums.zero += (await run(inputs, targetIds, { [hookOut]: zeros }, cleanLp, 'zero')).loss;
    targets += targetIds.length;
  }
  const m = acc.result();
  const clean = sums.clean / targets;
  const spliced = sums.spliced / targets;
  const zero = sums.zero / targets;
  return {
    hook: hookOut,
    ...(hookIn !== hookOut ? { hook_in: hookIn } : {}),
    d_in: dIn,
    d_sae: dSae,
    windows: windows.length,
    tokens: m.tokens,
    mse: m.mse,
    explained_variance: m.explainedVariance,
    l0: m.l0,
    dead_fraction: m.deadFraction,
    dense_fraction: m.denseFraction,
    loss_clean: clean,
    loss_spliced: spliced,
    loss_zero_ablated: zero,
    loss_recovered: lossRecovered(clean, spliced, zero),
    ce_loss_score: lossRecovered(clean, spliced, zero),
    kl_div_with_sae: kl.sae / targets,
    kl_div_with_ablation: kl.zero / targets,
    kl_div_score: kl.zero > 0 ? (kl.zero - kl.sae) / kl.zero : 1,
    density_histogram: histogramJson(m.densityHistogram),
    firing_frequency: m.firingFrequency,
  };
}

/** Row-wise log-softmax of [T × V] logits. */
export function logSoftmaxRows(logits: Float32Array, V: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / V; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v]! - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[r * V + v] = logits[r * V + v]! - lse;
  }
  return out;
}

/** Σ over rows of KL(p ‖ q) for row-wise log-probabilities, nats (float64 accumulation). */
export function klRows(logP: Float32Array, logQ: Float32Array, V: number): number {
  let total = 0;
  for (let r = 0; r < logP.length / V; r++) {
    let kl = 0;
    for (let v = 0; v < V; v++) {
      const lp = logP[r * V + v]!;
      kl += Math.exp(lp) * (lp - logQ[r * V + v]!);
    }
    total += Math.max(0, kl);
  }
  return total;
}

function histogramJson(h: DensityHistogram) {
  return { edges: Array.from(h.edges), counts: Array.from(h.counts), dead: h.dead };
}
