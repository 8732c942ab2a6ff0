/**
 * Feature browsing and intervention data for the SAE studio, computed on the CPU from a model run
 * on either backend (hooks read with `backend.read`, replacements uploaded with `backend.tensor`).
 *
 * - `browseFeatures`: one streaming pass over a text (the loss evaluation's windows) giving, per
 *   latent, its firing density, max and mean activation (the sortable feature list, an Arrow
 *   table), its top-N activating contexts (a bounded heap per feature; each context carries a few
 *   tokens either side, decoded, with the feature's activation on each so a UI can colour them),
 *   and an activation histogram over fixed log10 bins (so it can be filled while streaming).
 * - `logitEffects`: a decoder direction read through the final RMSNorm weight and the unembedding,
 *   W_U · (W_dec[f] ⊙ g). This is the direct path only: it ignores the later blocks and the norm's
 *   1/rms(x) factor — a positive per-token scalar, so it rescales but does not reorder the effects.
 *   Meaningful for hooks in the residual basis (hook_resid_*, hook_attn_out, hook_mlp_out).
 * - `nearestFeatures`: other latents by cosine of decoder rows.
 * - `promptLatents`: per-token active latents of a typed text.
 * - `steeringHook` / `clampHook` / `ablationHook` and `generateWithHook`, `featureAblationLoss`.
 *   Clamping keeps the SAE's error term: x' = x + (v − f_j(x))·W_dec[j], exactly
 *   decode(f with f_j = v) + (x − decode(f)), so only feature j changes.
 */
import { Field, Float32, Float64, Int32, Schema, type Table } from 'apache-arrow';
import type { Tensor } from '../../kernels/tensor';
import { windowLosses } from '../../runtime/eval/loss';
import { generate, type GenerateOptions, type GenerateResult } from '../../runtime/generate';
import type { Hook } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import { TABLE_KIND_KEY, tableFromRows } from '../../runtime/tables';
import { buildTokenStream } from '../../runtime/text';
import { eachWindow, lossWindows } from '../../runtime/windows';
import { tokenPiece, type Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { saeCodec, type LoadedSae, type SaeCodec } from './codec';
import { checkSaeHook, type SaeHook } from './collect';

/** Columns of the feature list (`sparsebook.table` = `sae-features`), one row per latent. */
export const FEATURE_LIST_SCHEMA = new Schema(
  [
    new Field('feature', new Int32(), false),
    new Field('density', new Float64(), false),
    new Field('max_activation', new Float32(), false),
    new Field('mean_activation', new Float32(), false),
    new Field('fired', new Int32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'sae-features']]),
);

/** One top-activating context of a feature. */
export interface FeatureContext {
  activation: number;
  window: number;
  /** Position of the activating token in its window. */
  position: number;
  /** Stream index of the activating token. */
  streamIndex: number;
  /** The activating token's document in the text and its position there (0 = the document token). */
  document: number;
  documentPosition: number;
  /** Context token ids, decoded pieces and the feature's activation on each. */
  tokenIds: number[];
  tokens: string[];
  activations: number[];
  /** Index in `tokens` of the activating token. */
  center: number;
}

/**
 * The document a stream index falls in (the last start at or before it) and its position there.
 *
 * @example
 * documentOf([0, 5, 9], 7); // { document: 1, documentPosition: 2 }
 */
export function documentOf(
  starts: readonly number[],
  index: number,
): { document: number; documentPosition: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return { document: lo, documentPosition: index - (starts[lo] ?? 0) };
}

/** Fixed log10 bins of |activation| used by every feature's histogram. */
export const ACTIVATION_HISTOGRAM = { lo: -3, hi: 3, bins: 24 } as const;

export interface FeatureBrowser {
  /** feature, density, max_activation, mean_activation, fired (FEATURE_LIST_SCHEMA). */
  list: Table;
  density: Float64Array;
  maxActivation: Float32Array;
  /** Top contexts per feature, highest activation first. */
  topContexts: FeatureContext[][];
  /** Edges (log10 |a|) of the histogram bins; bins 0 and last also take values below / above. */
  histogramEdges: Float64Array;
  /** [dSae, bins] counts of non-zero activations per bin. */
  histograms: Int32Array;
  tokens: number;
  windows: number;
}

export interface BrowseOptions {
  firstWindow?: number;
  /** Windows to scan (default 16). */
  maxWindows?: number;
  /** Contexts kept per feature (default 10). */
  topN?: number;
  /** Tokens of context on each side (default 8). */
  contextTokens?: number;
  fileName?: string;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** Bounded min-heap of the top-N contexts of one feature (by activation). */
class TopN {
  readonly items: FeatureContext[] = [];
  constructor(readonly cap: number) {}
  /** The activation a new item must beat to enter. */
  floor(): number {
    return this.items.length < this.cap ? -Infinity : this.items[0]!.activation;
  }
  push(c: FeatureContext): void {
    const h = this.items;
    if (h.length < this.cap) {
      h.push(c);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]!.activation <= h[i]!.activation) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return;
    }
    if (c.activation <= h[0]!.activation) return;
    h[0] = c;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.activation < h[m]!.activation) m = l;
      if (r < h.length && h[r]!.activation < h[m]!.activation) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
  sorted(): FeatureContext[] {
    return [...this.items].sort((a, b) => b.activation - a.activation);
  }
}

/** Run one window and read the activation at the SAE's hook. */
async function windowActivations(
  model: LlamaModel,
  hook: SaeHook,
  inputs: Int32Array,
): Promise<Float32Array> {
  let x: Float32Array | undefined;
  const logits = await model.forward(inputs, {
    hooks: {
      [hook]: async (t: Tensor<'f32'>) => {
        x = await model.backend.read(t);
      },
    },
  });
  model.backend.dispose(logits);
  if (!x) throw new Error(`hook ${hook} did not run`);
  return x;
}

/**
 * Decoded text of each token (with the token before as context, as run.c prints it); special
 * tokens as written ("<s>", "<|endoftext|>").
 */
function pieces(tokenizer: Tokenizer, ids: ArrayLike<number>, prevFirst: number): string[] {
  return Array.from({ length: ids.length }, (_, i) =>
    tokenizer.isSpecial(ids[i]!)
      ? tokenizer.piece(ids[i]!).trim()
      : tokenizer.decode(i === 0 ? prevFirst : ids[i - 1]!, ids[i]!),
  );
}

/**
 * Feature list, top contexts and activation histograms in one pass over the text.
 *
 * @example
 * const b = await browseFeatures(model, tok, text, sae, { maxWindows: 16 });
 * b.topContexts[42][0].tokens.join(''); // the context of feature 42's strongest activation
 */
export async function browseFeatures(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  sae: LoadedSae,
  opts: BrowseOptions = {},
): Promise<FeatureBrowser> {
  const hook = checkSaeHook(model.config, sae.cfg.hookName);
  const codec = saeCodec(sae);
  const { dSae } = codec;
  const topN = opts.topN ?? 10;
  const ctx = opts.contextTokens ?? 8;
  const stream = buildTokenStream(tokenizer, text, opts.fileName);
  const windows = lossWindows(stream.tokens.length, model.config.seqLen, {
    first: opts.firstWindow,
    maxWindows: opts.maxWindows ?? 16,
  });
  const { lo, hi, bins } = ACTIVATION_HISTOGRAM;
  const width = (hi - lo) / bins;
  const fired = new Int32Array(dSae);
  const sum = new Float64Array(dSae);
  const maxAct = new Float32Array(dSae);
  const hist = new Int32Array(dSae * bins);
  const heaps = Array.from({ length: dSae }, () => new TopN(topN));
  let tokens = 0;
  for await (const w of eachWindow(stream.tokens, windows, opts)) {
    const { inputs } = w;
    const x = await windowActivations(model, hook, inputs);
    const { latents } = codec.run(x);
    const T = w.length;
    for (let t = 0; t < T; t++) {
      const row = t * dSae;
      for (let j = 0; j < dSae; j++) {
        const a = latents[row + j]!;
        if (a === 0) continue;
        fired[j]!++;
        sum[j]! += a;
        if (a > maxAct[j]!) maxAct[j] = a;
        const b = Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(Math.abs(a)) - lo) / width)));
        hist[j * bins + b]!++;
        const heap = heaps[j]!;
        if (a <= heap.floor()) continue;
        const from = Math.max(0, t - ctx);
        const to = Math.min(T, t + ctx + 1);
        const ids = Array.from(inputs.subarray(from, to));
        heap.push({
          activation: a,
          window: w.index,
          position: t,
          streamIndex: w.start + t,
          ...documentOf(stream.documentStarts, w.start + t),
          tokenIds: ids,
          tokens: pieces(tokenizer, ids, from > 0 ? inputs[from - 1]! : tokenizer.documentToken),
          activations: Array.from({ length: to - from }, (_, i) => latents[(from + i) * dSae + j]!),
          center: t - from,
        });
      }
    }
    tokens += T;
  }
  const density = Float64Array.from(fired, (c) => (tokens ? c / tokens : 0));
  const list = tableFromRows(
    FEATURE_LIST_SCHEMA,
    Array.from({ length: dSae }, (_, j) => ({
      feature: j,
      density: density[j]!,
      max_activation: maxAct[j]!,
      mean_activation: fired[j]! ? sum[j]! / fired[j]! : 0,
      fired: fired[j]!,
    })),
  );
  return {
    list,
    density,
    maxActivation: maxAct,
    topContexts: heaps.map((h) => h.sorted()),
    histogramEdges: Float64Array.from({ length: bins + 1 }, (_, b) => lo + b * width),
    histograms: hist,
    tokens,
    windows: windows.length,
  };
}

/** The final norm weight and the unembedding, read back once from a dense model. */
export interface Unembedding {
  dim: number;
  vocabSize: number;
  /** [dim] final RMSNorm weight g. */
  normWeight: Float32Array;
  /** [vocabSize, dim] classifier W_U (the embedding when shared). */
  wU: Float32Array;
}

/** @throws for an MoE model (its weights cannot be read back yet). */
export async function readUnembedding(model: LlamaModel): Promise<Unembedding> {
  const w = await model.readWeights();
  return {
    dim: model.config.dim,
    vocabSize: model.config.vocabSize,
    normWeight: w.norm,
    wU: w.output ?? w.tokEmbeddings,
  };
}

export interface LogitEffect {
  tokenId: number;
  token: string;
  logit: number;
}

/**
 * Top positive and negative direct logit effects of feature j: W_U · (W_dec[j] ⊙ g).
 *
 * @example
 * const { positive, negative } = logitEffects(sae, await readUnembedding(model), tok, 42);
 */
export function logitEffects(
  sae: LoadedSae,
  unembed: Unembedding,
  tokenizer: Tokenizer,
  feature: number,
  topN = 10,
): { positive: LogitEffect[]; negative: LogitEffect[]; logits: Float32Array } {
  const codec = saeCodec(sae);
  const { dim, vocabSize, normWeight, wU } = unembed;
  if (codec.dIn !== dim) {
    throw new Error(
      `logit effects need an SAE on the residual stream (width ${dim}); this one reads ${codec.hookName} (width ${codec.dIn})`,
    );
  }
  const dir = codec.direction(feature);
  const v = Float64Array.from(dir, (x, d) => x * normWeight[d]!);
  const logits = new Float32Array(vocabSize);
  for (let t = 0; t < vocabSize; t++) {
    let s = 0;
    const o = t * dim;
    for (let d = 0; d < dim; d++) s += wU[o + d]! * v[d]!;
    logits[t] = s;
  }
  const order = Array.from({ length: vocabSize }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  const entry = (t: number): LogitEffect => ({
    tokenId: t,
    token: tokenPiece(tokenizer, t),
    logit: logits[t]!,
  });
  return {
    positive: order.slice(0, topN).map(entry),
    negative: order.slice(-topN).reverse().map(entry),
    logits,
  };
}

/**
 * The n latents whose decoder rows have the highest cosine with feature j's.
 *
 * @example
 * nearestFeatures(sae, 42, 5); // [{ feature: 17, cosine: 0.61 }, …]
 */
export function nearestFeatures(
  sae: LoadedSae,
  feature: number,
  n = 10,
): { feature: number; cosine: number }[] {
  const codec = saeCodec(sae);
  const { dIn, dSae } = codec;
  const a = codec.direction(feature);
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const na = norm(a);
  const out: { feature: number; cosine: number }[] = [];
  for (let j = 0; j < dSae; j++) {
    if (j === feature) continue;
    const b = codec.direction(j);
    let dot = 0;
    for (let d = 0; d < dIn; d++) dot += a[d]! * b[d]!;
    const nb = norm(b);
    out.push({ feature: j, cosine: na > 0 && nb > 0 ? dot / (na * nb) : 0 });
  }
  return out.sort((x, y) => y.cosine - x.cosine).slice(0, n);
}

/** One token of the prompt view. */
export interface PromptToken {
  position: number;
  tokenId: number;
  token: string;
  /** Active latents, strongest first (at most `top`). */
  features: { feature: number; activation: number }[];
}

/**
 * Which features fire on each token of a typed text (BOS + the text, cut to seqLen).
 *
 * @example
 * (await promptLatents(model, tok, sae, 'Once upon a time'))[1].features[0].feature;
 */
export async function promptLatents(
  model: LlamaModel,
  tokenizer: Tokenizer,
  sae: LoadedSae,
  prompt: string,
  opts: { top?: number } = {},
): Promise<PromptToken[]> {
  const hook = checkSaeHook(model.config, sae.cfg.hookName);
  const codec = saeCodec(sae);
  const ids = tokenizer.encode(prompt, { bos: true }).subarray(0, model.config.seqLen);
  const x = await windowActivations(model, hook, ids);
  const { latents } = codec.run(x);
  const top = opts.top ?? 8;
  const texts = pieces(tokenizer, ids, tokenizer.documentToken);
  return Array.from(ids, (id, t) => {
    const fs: { feature: number; activation: number }[] = [];
    for (let j = 0; j < codec.dSae; j++) {
      const a = latents[t * codec.dSae + j]!;
      if (a !== 0) fs.push({ feature: j, activation: a });
    }
    fs.sort((p, q) => Math.abs(q.activation) - Math.abs(p.activation));
    return { position: t, tokenId: id, token: texts[t]!, features: fs.slice(0, top) };
  });
}

/** x + Δ(x) at the SAE's hook, computed on the host and uploaded as the replacement. */
function rowHook(codec: SaeCodec, delta: (x: Float32Array, n: number) => void): Hook {
  return async (t, ctx) => {
    const x = await ctx.backend.read(t);
    const n = x.length / codec.dIn;
    const y = x.slice();
    delta(y, n);
    return ctx.backend.tensor<'f32'>(y, t.shape);
  };
}

/**
 * A hook adding α·W_dec[j] to every row at the SAE's hook (steering).
 *
 * @example
 * await generate(model, tok, { steps: 64, hooks: { [sae.cfg.hookName]: steeringHook(sae, 42, 8) } });
 */
export function steeringHook(sae: LoadedSae, feature: number, alpha: number): Hook {
  const codec = saeCodec(sae);
  const dir = codec.direction(feature);
  return rowHook(codec, (y, n) => {
    for (let i = 0; i < n; i++) for (let d = 0; d < codec.dIn; d++) y[i * codec.dIn + d]! += alpha * dir[d]!;
  });
}

/**
 * A hook clamping feature j to `value` on every row: x + (value − f_j(x))·W_dec[j], i.e. the SAE
 * reconstruction with f_j set, plus the SAE's error term, so nothing else changes.
 */
export function clampHook(sae: LoadedSae, feature: number, value: number): Hook {
  const codec = saeCodec(sae);
  const dir = codec.direction(feature);
  const { dIn, dSae } = codec;
  return rowHook(codec, (y, n) => {
    const { latents } = codec.run(y);
    for (let i = 0; i < n; i++) {
      const c = value - latents[i * dSae + feature]!;
      if (c === 0) continue;
      for (let d = 0; d < dIn; d++) y[i * dIn + d]! += c * dir[d]!;
    }
  });
}

/** Zero-ablation of feature j (clamp to 0, error term kept). */
export function ablationHook(sae: LoadedSae, feature: number): Hook {
  return clampHook(sae, feature, 0);
}

/**
 * Generate with and without a hook at the SAE's hook point (same seed), for a before/after view.
 *
 * @example
 * const { baseline, steered } = await generateWithHook(model, tok, sae, steeringHook(sae, 42, 8), { prompt: 'Once', steps: 48 });
 */
export async function generateWithHook(
  model: LlamaModel,
  tokenizer: Tokenizer,
  sae: LoadedSae,
  hook: Hook,
  options: Omit<GenerateOptions, 'hooks'>,
): Promise<{ baseline: GenerateResult; steered: GenerateResult }> {
  const baseline = await generate(model, tokenizer, options);
  const steered = await generate(model, tokenizer, { ...options, hooks: { [sae.cfg.hookName]: hook } });
  return { baseline, steered };
}

/**
 * The loss with feature j zero-ablated (error term kept) against the clean loss, over the same
 * windows; also how often j fired there.
 *
 * @example
 * const r = await featureAblationLoss(model, tok, text, sae, 42, { maxWindows: 4 }); // r.delta > 0
 */
export async function featureAblationLoss(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  sae: LoadedSae,
  feature: number,
  opts: { firstWindow?: number; maxWindows?: number; fileName?: string; signal?: AbortSignal } = {},
): Promise<{ lossClean: number; lossAblated: number; delta: number; fired: number; tokens: number }> {
  const hook = checkSaeHook(model.config, sae.cfg.hookName);
  const codec = saeCodec(sae);
  const stream = buildTokenStream(tokenizer, text, opts.fileName);
  const windows = lossWindows(stream.tokens.length, model.config.seqLen, {
    first: opts.firstWindow,
    maxWindows: opts.maxWindows ?? 4,
  });
  let clean = 0;
  let ablated = 0;
  let targets = 0;
  let fired = 0;
  const counting: Hook = async (t, ctx) => {
    const x = await ctx.backend.read(t);
    const { latents } = codec.run(x);
    for (let i = 0; i < x.length / codec.dIn; i++) if (latents[i * codec.dSae + feature] !== 0) fired++;
  };
  const ablate = ablationHook(sae, feature);
  for await (const w of eachWindow(stream.tokens, windows, opts)) {
    const lossOf = async (h: Hook) =>
      (await windowLosses(model, w, { hooks: { [hook]: h } })).reduce((a, b) => a + b, 0);
    clean += await lossOf(counting);
    ablated += await lossOf(ablate);
    targets += w.targets.length;
  }
  return {
    lossClean: clean / targets,
    lossAblated: ablated / targets,
    delta: (ablated - clean) / targets,
    fired,
    tokens: targets,
  };
}
