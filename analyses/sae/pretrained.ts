/**
 * Pretrained SAEs and transcoders in the formats they are published in, read into the SAE shape
 * the rest of the studio uses (`LoadedSae`: encode (x − b_dec)·W_enc + b_enc, activate, decode
 * f·W_dec + b_dec), with every convention of the format honoured exactly:
 *
 * | format | files | encoder input | activation |
 * |---|---|---|---|
 * | SAELens | cfg.json + sae_weights.safetensors | x − b_dec when `apply_b_dec_to_input` (default), else x | standard (ReLU or TopK by `activation_fn`), topk, jumprelu, gated |
 * | Gemma Scope | params.npz (W_enc, W_dec, b_enc, b_dec, threshold) | x (no b_dec subtraction) | JumpReLU |
 * | Gemma Scope 2 | params.safetensors (w_enc, w_dec, b_enc, b_dec, threshold) [+ config.json] | x | JumpReLU |
 * | EleutherAI sparsify | cfg.json + sae.safetensors (encoder.weight [d_sae, d_in], encoder.bias, W_dec, b_dec) | x − b_dec (x for transcoders) | TopK of ReLU |
 *
 * How each convention becomes our shape (exact, not approximate):
 * - no b_dec subtraction: b_enc' = b_enc + b_dec·W_enc, since x·W_enc + b_enc = (x − b_dec)·W_enc + b_enc'.
 * - `normalize_activations: expected_average_only_in` with the dataset factor f (from
 *   --norm-scaling-factor, cfg.json's `norm_scaling_factor` or the release table): W_enc·f,
 *   W_dec/f, b_dec/f, as SAELens' `fold_activation_norm_scaling_factor`.
 * - `constant_norm_rescale`, `layer_norm`, and TransformerLens' `center_writing_weights`
 *   (`model_from_pretrained_kwargs`): per-row input transforms (input-transform.ts).
 * - `finetuning_scaling_factor`: latents are multiplied by it before decoding, so it is folded
 *   into W_dec's rows (latent values stay what SAELens' `encode` gives).
 * - gated (gate: x'·W_enc + b_gate > 0; magnitude ReLU(x'·(W_enc ⊙ exp(r_mag)) + b_mag)) is a
 *   JumpReLU: with W' = W_enc ⊙ exp(r_mag), b' = b_mag, θ = max(0, b_mag − exp(r_mag)·b_gate),
 *   because gate > 0 ⟺ magnitude pre-activation > b_mag − exp(r_mag)·b_gate.
 * - a negative JumpReLU threshold acts as 0 (ReLU comes first), so it is clamped to 0.
 * - `rescale_acts_by_decoder_norm` (SAELens 6 TopK: pre-activations times ‖W_dec[j]‖, latents
 *   divided by it before decoding): W_enc columns and b_enc times ‖W_dec[j]‖, W_dec rows divided.
 *
 * Hooks are TransformerLens names (SAELens' `hook_name`, our hook points). attn.hook_z is
 * [T, n_heads·d_head] head-major in both; SAEs on one head (`hook_head_index`) are refused.
 * Gemma Scope files do not name their hook: it comes from the caller (--hook), the release
 * table, or the repository and path (gemma-scope-2b-pt-res + layer_20 → blocks.20.hook_resid_post).
 *
 * Transcoders (SAELens transcoder / skip_transcoder / jumprelu_transcoder, sparsify
 * `transcode`) read one hook and write another; they load into `LoadedTranscoder` with both hooks
 * recorded and every shape checked. Splicing them into a model is not done here.
 *
 * `ignore` reads a file as a reader that misses a convention would; it exists so tests (and a
 * curious user) can see what each convention is worth.
 */
import { CompatibilityError, ModelFormatError } from '../../runtime/errors';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { firstNonFinite } from '../../runtime/numeric';
import type { LlamaModel } from '../../runtime/model/llama';
import { blockOf, type LlamaConfig } from '../../runtime/model/llama-config';
import type { LoadedSae, SaeSource } from './codec';
import { checkSaeHook } from './collect';
import { describeTransform, type SaeInputTransform } from './input-transform';
import { parseNpz } from './npy';
import type { SaeRelease } from './releases';
import { widthAt } from './train';
import type { SaeConfig, SaeKind, SaeParams } from './types';

export type SaeFormat = 'saelens' | 'gemma-scope' | 'gemma-scope-2' | 'sparsify';

/** The file names each format uses. */
export const SAE_FILE_NAMES = {
  saelensCfg: 'cfg.json',
  saelensWeights: 'sae_weights.safetensors',
  sparsifyWeights: 'sae.safetensors',
  gemmaScope: 'params.npz',
  gemmaScope2: 'params.safetensors',
  gemmaScope2Cfg: 'config.json',
} as const;

/** Every file name a pretrained SAE folder may hold that the loader reads. */
export const PRETRAINED_SAE_FILES: readonly string[] = Object.values(SAE_FILE_NAMES);

/** Conventions `ignore` can switch off (to show what reading a file without them does). */
export type SaeConvention =
  | 'apply_b_dec_to_input'
  | 'normalize_activations'
  | 'finetuning_scaling_factor'
  | 'threshold'
  | 'gate'
  | 'center_writing_weights'
  | 'rescale_acts_by_decoder_norm';

export interface PretrainedOptions {
  /** The hook the SAE reads (--hook); wins over what the file or the release says. */
  hook?: string;
  /** A transcoder's output hook, when its file does not name one. */
  hookOut?: string;
  /** The release-table entry the files came from (hook, norm factor, centring, Neuronpedia id). */
  release?: SaeRelease;
  /** The dataset factor of `expected_average_only_in` SAEs. */
  normScalingFactor?: number;
  /** Where the files came from: a hub repository and the path inside it, or a local folder path. */
  location?: { repo?: string; path?: string };
  /** How a file is named in messages (default: its name), e.g. `hf:org/repo/layer_3/params.npz`. */
  label?: (file: string) => string;
  /** Read as if these conventions did not exist (tests, diagnosis). */
  ignore?: readonly SaeConvention[];
}

/** What was loaded, for reports. */
export interface PretrainedInfo {
  format: SaeFormat;
  /** The architecture as the file names it. */
  architecture: string;
  /** How it encodes here (gated SAEs become jumprelu). */
  kind: SaeKind;
  transcoder: boolean;
  /** A skip transcoder (output adds x·W_skipᵀ). */
  skip: boolean;
  hookIn: string;
  hookOut: string;
  dIn: number;
  dOut: number;
  dSae: number;
  k?: number;
  modelName?: string;
  neuronpedia?: string;
  release?: string;
  /** Each convention honoured (or ignored), as a sentence. */
  conventions: string[];
  /** The files read, as labelled. */
  files: string[];
}

/** A transcoder: latents from the activation at `hookIn`, a prediction of the one at `hookOut`. */
export interface LoadedTranscoder {
  kind: SaeKind;
  k?: number;
  dIn: number;
  dOut: number;
  dSae: number;
  hookIn: string;
  hookOut: string;
  params: {
    /** [dIn, dSae] */
    wEnc: Float32Array;
    /** [dSae] */
    bEnc: Float32Array;
    /** [dSae, dOut] */
    wDec: Float32Array;
    /** [dOut] */
    bDec: Float32Array;
    /** [dSae] JumpReLU thresholds θ ≥ 0. */
    threshold?: Float32Array;
    /** [dOut, dIn] skip connection: output += x·W_skipᵀ. */
    wSkip?: Float32Array;
  };
  input?: readonly SaeInputTransform[];
}

export type PretrainedLoad =
  | { type: 'sae'; sae: LoadedSae; info: PretrainedInfo }
  | { type: 'transcoder'; transcoder: LoadedTranscoder; info: PretrainedInfo };

/**
 * Which format a set of file names is.
 *
 * @example
 * detectSaeFormat(['params.npz']); // 'gemma-scope'
 * @throws ModelFormatError listing what a folder should hold.
 */
export function detectSaeFormat(names: readonly string[], where = 'the SAE folder'): SaeFormat {
  const has = (n: string) => names.includes(n);
  const F = SAE_FILE_NAMES;
  if (has(F.saelensWeights)) return 'saelens';
  if (has(F.sparsifyWeights)) return 'sparsify';
  if (has(F.gemmaScope)) return 'gemma-scope';
  if (has(F.gemmaScope2)) return 'gemma-scope-2';
  throw new ModelFormatError(
    where,
    `no SAE weights found (it has ${names.length ? names.join(', ') : 'no files'}); expected ${F.saelensCfg} + ${F.saelensWeights} (SAELens), ${F.saelensCfg} + ${F.sparsifyWeights} (EleutherAI sparsify), ${F.gemmaScope} (Gemma Scope) or ${F.gemmaScope2} (Gemma Scope 2)`,
  );
}

/**
 * Read a pretrained SAE or transcoder from its files (name → bytes).
 *
 * @example
 * const r = loadPretrainedSae({ 'params.npz': bytes }, { hook: 'blocks.20.hook_resid_post' });
 * if (r.type === 'sae') await evaluateSae(model, tok, text, r.sae);
 * @throws ModelFormatError naming the file for anything malformed or unsupported.
 */
export function loadPretrainedSae(
  files: Readonly<Record<string, Uint8Array>>,
  opts: PretrainedOptions = {},
): PretrainedLoad {
  const label = opts.label ?? ((f: string) => f);
  const format = detectSaeFormat(Object.keys(files), label('') || 'the SAE folder');
  const F = SAE_FILE_NAMES;
  const need = (name: string) => {
    const b = files[name];
    if (!b) throw new ModelFormatError(label(name), `missing (a ${format} SAE needs it)`);
    return b;
  };
  let raw: Raw;
  if (format === 'saelens') {
    raw = readSaeLens(need(F.saelensCfg), need(F.saelensWeights), label);
  } else if (format === 'sparsify') {
    raw = readSparsify(need(F.saelensCfg), need(F.sparsifyWeights), label, opts);
  } else if (format === 'gemma-scope') {
    raw = readGemmaScope(need(F.gemmaScope), label, opts, 'gemma-scope');
  } else {
    raw = readGemmaScope(need(F.gemmaScope2), label, opts, 'gemma-scope-2', files[F.gemmaScope2Cfg]);
  }
  return finish(raw, opts);
}

/**
 * Latents and output of a transcoder on rows x [n, dIn] (CPU reference).
 *
 * @example
 * const { output } = transcoderForward(t, x); // [n, dOut]
 */
export function transcoderForward(
  t: LoadedTranscoder,
  x: Float32Array,
): { latents: Float32Array; output: Float32Array } {
  const { dIn, dOut, dSae, params: p } = t;
  const n = x.length / dIn;
  const latents = new Float32Array(n * dSae);
  const output = new Float32Array(n * dOut);
  const pre = new Float64Array(dSae);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dSae; j++) pre[j] = p.bEnc[j]!;
    for (let d = 0; d < dIn; d++) {
      const v = x[i * dIn + d]!;
      if (v !== 0) for (let j = 0; j < dSae; j++) pre[j]! += v * p.wEnc[d * dSae + j]!;
    }
    const keep = new Uint8Array(dSae);
    if (t.kind === 'topk') {
      const order = Array.from(pre.keys()).sort((a, b) => pre[b]! - pre[a]!);
      for (const j of order.slice(0, t.k ?? 0)) keep[j] = 1;
    } else keep.fill(1);
    for (let j = 0; j < dSae; j++) {
      const v = pre[j]!;
      const on = keep[j] && v > 0 && (!p.threshold || v > p.threshold[j]!);
      latents[i * dSae + j] = on ? v : 0;
    }
    for (let o = 0; o < dOut; o++) {
      let acc = p.bDec[o]!;
      if (p.wSkip) for (let d = 0; d < dIn; d++) acc += x[i * dIn + d]! * p.wSkip[o * dIn + d]!;
      output[i * dOut + o] = acc;
    }
    for (let j = 0; j < dSae; j++) {
      const f = latents[i * dSae + j]!;
      if (f !== 0) for (let o = 0; o < dOut; o++) output[i * dOut + o]! += f * p.wDec[j * dOut + o]!;
    }
  }
  return { latents, output };
}

/**
 * Check a loaded SAE or transcoder against a model: its hooks exist there and the activations
 * have the widths it reads (and, for a transcoder, writes).
 *
 * @example
 * await checkPretrainedForModel(model, load);
 * @throws HookError for a hook the model lacks (listing the valid ones); CompatibilityError naming
 *   the file when a width differs, e.g. `cfg.json: d_in is 768 but the activations at
 *   blocks.8.hook_resid_pre have width 32 (this SAE was trained on gpt2-small)`.
 */
export async function checkPretrainedForModel(
  model: LlamaModel,
  load: PretrainedLoad,
  probe: Int32Array = new Int32Array([0]),
): Promise<void> {
  const { info } = load;
  const file = info.files[0] ?? 'the SAE';
  const sides: [string, number, string][] = [[info.hookIn, info.dIn, 'd_in']];
  if (info.transcoder) sides.push([info.hookOut, info.dOut, 'd_out']);
  for (const [hook, width, what] of sides) {
    const got = await widthAt(model, checkSaeHook(model.config, hook), probe);
    if (got !== width) {
      const z = hook.endsWith('attn.hook_z')
        ? ` (attn.hook_z is [T, n_heads·d_head] = [T, ${model.config.nHeads}·${model.config.headDim}])`
        : '';
      const trained = info.modelName ? ` (this SAE was trained on ${info.modelName})` : '';
      throw new CompatibilityError(
        file,
        `${what} is ${width} but the activations at ${hook} have width ${got}${z}${trained}`,
      );
    }
  }
}

/**
 * The loaded SAE as it applies to a model of this config: TransformerLens centres the residual
 * stream only for LayerNorm models (GPT-2, Pythia); for RMSNorm ones its `center_writing_weights`
 * does nothing, so the centring transform is dropped (with a note).
 *
 * @example
 * const load = adaptPretrainedToModel(loadPretrainedSae(files), model.config);
 */
export function adaptPretrainedToModel(load: PretrainedLoad, config: LlamaConfig): PretrainedLoad {
  const input = load.type === 'sae' ? load.sae.input : load.transcoder.input;
  if (!input?.some((t) => t.kind === 'center') || blockOf(config).norm === 'layer') return load;
  const kept = input.filter((t) => t.kind !== 'center');
  const info: PretrainedInfo = {
    ...load.info,
    conventions: [
      ...load.info.conventions.filter((c) => !c.startsWith('center_writing_weights:')),
      `center_writing_weights not applied: TransformerLens centres the residual stream of LayerNorm models only, and ${config.architecture ?? 'this model'} uses RMSNorm`,
    ],
  };
  const withInput = <T extends { input?: readonly SaeInputTransform[] }>(o: T): T => {
    const { input: _, ...rest } = o;
    return (kept.length ? { ...rest, input: kept } : rest) as T;
  };
  return load.type === 'sae'
    ? { type: 'sae', sae: withInput(load.sae), info }
    : { type: 'transcoder', transcoder: withInput(load.transcoder), info };
}

/**
 * Our hook point for a TransformerLens hook name (what SAELens records). Names that exist in both
 * pass through; `hook_mlp_in` (TransformerLens: the residual before ln2) is our hook_resid_mid,
 * and `mlp.hook_in` (the MLP's input) our ln2.hook_normalized.
 *
 * @example
 * mapHookName('blocks.3.hook_mlp_in', 'cfg.json'); // 'blocks.3.hook_resid_mid'
 * @throws ModelFormatError naming `file` for a hook with no counterpart here.
 */
export function mapHookName(name: string, file: string): string {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (!m) return name;
  const [, layer, point] = m;
  const alias: Record<string, string> = {
    hook_mlp_in: 'hook_resid_mid',
    'mlp.hook_in': 'ln2.hook_normalized',
  };
  const unsupported = ['attn.hook_result', 'hook_attn_in', 'hook_q_input', 'hook_k_input', 'hook_v_input'];
  if (unsupported.includes(point!)) {
    throw new ModelFormatError(
      file,
      `hook "${name}" is a TransformerLens per-head hook with no counterpart here (attn.hook_z, hook_attn_out and the residual hooks are)`,
    );
  }
  return alias[point!] ? `blocks.${layer}.${alias[point!]}` : name;
}

// ————————————————————————————————————————————————————————————————————————————————————————

type Norm = 'none' | 'expected_average_only_in' | 'constant_norm_rescale' | 'layer_norm';

/** Hook points TransformerLens' center_writing_weights changes: the residual stream and its writes. */
const CENTRED_POINTS = new Set([
  'hook_resid_pre',
  'hook_resid_mid',
  'hook_resid_post',
  'hook_attn_out',
  'hook_mlp_out',
  'hook_embed',
  'hook_pos_embed',
]);

/** A file's contents before the conventions are applied. */
interface Raw {
  format: SaeFormat;
  architecture: string;
  activation: 'relu' | 'topk' | 'jumprelu' | 'gated';
  k?: number;
  transcoder: boolean;
  dIn: number;
  dSae: number;
  dOut: number;
  wEnc: Float32Array;
  bEnc: Float32Array;
  wDec: Float32Array;
  bDec: Float32Array;
  threshold?: Float32Array;
  gate?: { bGate: Float32Array; rMag: Float32Array; bMag: Float32Array };
  scaling?: Float32Array;
  wSkip?: Float32Array;
  applyBDec: boolean;
  /** SAELens 6 TopK: latents are measured against unit-norm decoder rows. */
  rescaleByDecoderNorm?: boolean;
  normalize: Norm;
  normFactor?: number;
  center: boolean;
  hookIn?: string;
  hookOut?: string;
  /** Where hookIn came from, for the report. */
  hookFrom?: string;
  modelName?: string;
  neuronpedia?: string;
  /** The file conventions errors name (cfg.json, or the weights when there is none). */
  cfgFile: string;
  files: string[];
  notes: string[];
}

type Label = (file: string) => string;

/** Tensors of one file by name, read as float32 copies with their shapes checked. */
interface Tensors {
  file: string;
  names: string[];
  shape(name: string): readonly number[] | undefined;
  data(name: string): Float32Array;
}

function safetensorsTensors(bytes: Uint8Array, file: string): Tensors {
  const st = parseSafetensors(bytes, file);
  return {
    file,
    names: [...st.tensors.keys()],
    shape: (n) => st.tensors.get(n)?.shape,
    data: (n) => st.float32(n).slice(), // a copy: F32 data may be a view into the caller's bytes
  };
}

function npzTensors(bytes: Uint8Array, file: string): Tensors {
  const arrays = parseNpz(bytes, file);
  return {
    file,
    names: [...arrays.keys()],
    shape: (n) => arrays.get(n)?.shape,
    data: (n) => arrays.get(n)!.data,
  };
}

/**
 * Read tensor `names[0]` (or an alias) of the given dims, checking its shape and finiteness; the
 * sizes are named after where they came from (`d_in 48 from cfg.json`).
 */
function take(
  ts: Tensors,
  names: readonly string[],
  dims: readonly (readonly [string, number])[],
  sizeFrom: string,
  what: string,
  used: Set<string>,
): Float32Array {
  const name = names.find((n) => ts.names.includes(n));
  if (name === undefined) {
    throw new ModelFormatError(ts.file, `missing tensor "${names[0]}" (a ${what} needs it)`);
  }
  used.add(name);
  const got = ts.shape(name)!;
  const want = dims.map(([, n]) => n);
  const same = got.length === want.length && got.every((d, i) => d === want[i]);
  if (!same) {
    const wrong = dims.filter(([, n], i) => got[i] !== n);
    const why = (wrong.length ? wrong : dims).map(([d, n]) => `${d} ${n}`).join(', ');
    throw new ModelFormatError(
      ts.file,
      `${name} is [${got.join(', ')}], expected [${want.join(', ')}] (${why} from ${sizeFrom})`,
    );
  }
  const data = ts.data(name);
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    throw new ModelFormatError(ts.file, `${name} holds a non-finite value (${data[bad]}) at index ${bad}`);
  }
  return data;
}

/** Tensors nobody asked for change what the file means: refuse them by name. */
function noExtras(ts: Tensors, used: Set<string>, what: string): void {
  const extra = ts.names.filter((n) => !used.has(n));
  if (extra.length) {
    throw new ModelFormatError(
      ts.file,
      `unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.map((n) => `"${n}"`).join(', ')} (a ${what} has ${[...used].join(', ')})`,
    );
  }
}

function parseJsonObject(bytes: Uint8Array | string, file: string): Record<string, unknown> {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(file, 'expected a JSON object');
  }
  return raw as Record<string, unknown>;
}

function positiveInt(file: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new ModelFormatError(file, `${name} is ${JSON.stringify(v)}, expected a positive integer`);
  }
  return v;
}

const TRANSCODER_ARCHS: Record<string, Raw['activation']> = {
  transcoder: 'relu',
  skip_transcoder: 'relu',
  jumprelu_transcoder: 'jumprelu',
  jumprelu_skip_transcoder: 'jumprelu',
};

/** SAELens: cfg.json (SAELens 3–6 field names) + sae_weights.safetensors. */
function readSaeLens(cfgBytes: Uint8Array | string, weights: Uint8Array, label: Label): Raw {
  const CFG = label(SAE_FILE_NAMES.saelensCfg);
  const bad = (problem: string): never => {
    throw new ModelFormatError(CFG, problem);
  };
  const j = parseJsonObject(cfgBytes, CFG);
  const metaOf = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});
  const meta = { ...metaOf(j.meta), ...metaOf(j.metadata) } as Record<string, unknown>;
  const pick = (key: string) => j[key] ?? meta[key];
  const dIn = positiveInt(CFG, 'd_in', j.d_in);
  const dSae = positiveInt(CFG, 'd_sae', j.d_sae);
  const architecture = String(j.architecture ?? 'standard');
  const transcoder = architecture in TRANSCODER_ARCHS;
  const skip = architecture.includes('skip');
  let activation: Raw['activation'];
  const fn = j.activation_fn ?? j.activation_fn_str ?? 'relu';
  if (architecture === 'jumprelu') activation = 'jumprelu';
  else if (architecture === 'topk') activation = 'topk';
  else if (architecture === 'gated') activation = 'gated';
  else if (
    architecture === 'standard' ||
    architecture === 'transcoder' ||
    architecture === 'skip_transcoder'
  ) {
    if (fn !== 'relu' && fn !== 'topk') {
      bad(`activation_fn_str ${JSON.stringify(fn)} is not supported; expected "relu" or "topk"`);
    }
    activation = fn as 'relu' | 'topk';
  } else if (transcoder) activation = TRANSCODER_ARCHS[architecture]!;
  else {
    return bad(
      `architecture ${JSON.stringify(j.architecture)} is not supported; expected standard, topk, jumprelu, gated, transcoder, skip_transcoder or jumprelu_transcoder`,
    );
  }
  const kwargs = metaOf(j.activation_fn_kwargs) as Record<string, unknown>;
  let k: number | undefined;
  if (activation === 'topk') {
    k = positiveInt(CFG, 'k', kwargs.k ?? j.k);
    if (k > dSae) bad(`k is ${k}, more than d_sae ${dSae}`);
  }
  const dOut = transcoder && j.d_out !== undefined ? positiveInt(CFG, 'd_out', j.d_out) : dIn;
  const applyRaw = j.apply_b_dec_to_input ?? true;
  if (typeof applyRaw !== 'boolean')
    bad(`apply_b_dec_to_input is ${JSON.stringify(applyRaw)}, expected true or false`);
  let normRaw = j.normalize_activations ?? 'none';
  if (normRaw === true) normRaw = 'expected_average_only_in'; // SAELens < 3 wrote a boolean
  if (normRaw === false) normRaw = 'none';
  const norms: Norm[] = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'];
  if (!norms.includes(normRaw as Norm)) {
    bad(
      `normalize_activations ${JSON.stringify(normRaw)} is not supported; expected one of ${norms.join(', ')}`,
    );
  }
  const normFactorRaw = pick('norm_scaling_factor');
  let normFactor: number | undefined;
  if (normFactorRaw !== undefined && normFactorRaw !== null) {
    if (typeof normFactorRaw !== 'number' || !(normFactorRaw > 0) || !Number.isFinite(normFactorRaw)) {
      bad(`norm_scaling_factor is ${JSON.stringify(normFactorRaw)}, expected a positive number`);
    }
    normFactor = normFactorRaw as number;
  }
  const finetuning = j.finetuning_scaling_factor ?? false;
  if (typeof finetuning !== 'boolean') {
    bad(`finetuning_scaling_factor is ${JSON.stringify(finetuning)}, expected true or false`);
  }
  const hookRaw = pick('hook_name') ?? pick('hook_point');
  if (hookRaw !== undefined && (typeof hookRaw !== 'string' || !hookRaw)) bad('hook_name is not a hook name');
  for (const key of ['hook_head_index', 'hook_point_head_index', 'hook_head_index_out']) {
    const h = pick(key);
    if (h !== undefined && h !== null) {
      bad(
        `${key} is ${JSON.stringify(h)}: this SAE reads one attention head; per-head SAEs are not supported (SAEs over all heads of attn.hook_z, [T, n_heads·d_head], are)`,
      );
    }
  }
  const rescale = j.rescale_acts_by_decoder_norm ?? false;
  if (typeof rescale !== 'boolean') {
    bad(`rescale_acts_by_decoder_norm is ${JSON.stringify(rescale)}, expected true or false`);
  }
  if (rescale && activation !== 'topk') {
    bad(
      `rescale_acts_by_decoder_norm: true on a ${architecture} (${activation}) SAE is not supported (only TopK)`,
    );
  }
  const hookOutRaw = pick('hook_name_out');
  const kwargsModel = metaOf(pick('model_from_pretrained_kwargs')) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

  const W = label(SAE_FILE_NAMES.saelensWeights);
  const ts = safetensorsTensors(weights, W);
  const used = new Set<string>();
  const kindName = transcoder ? architecture : activation;
  const t = (names: string[], dims: [string, number][]) =>
    take(ts, names, dims, CFG, `${kindName} SAE`, used);
  const dimIn: [string, number] = ['d_in', dIn];
  const dimSae: [string, number] = ['d_sae', dSae];
  const dimOut: [string, number] = [transcoder ? 'd_out' : 'd_in', dOut];
  const raw: Raw = {
    format: 'saelens',
    architecture,
    activation,
    ...(k !== undefined ? { k } : {}),
    transcoder,
    dIn,
    dSae,
    dOut,
    wEnc: t(['W_enc'], [dimIn, dimSae]),
    bEnc: activation === 'gated' ? new Float32Array(dSae) : t(['b_enc'], [dimSae]),
    wDec: t(['W_dec'], [dimSae, dimOut]),
    bDec: t(['b_dec'], [dimOut]),
    applyBDec: transcoder ? false : (applyRaw as boolean),
    ...(rescale ? { rescaleByDecoderNorm: true } : {}),
    normalize: normRaw as Norm,
    ...(normFactor !== undefined ? { normFactor } : {}),
    center: kwargsModel.center_writing_weights === true,
    ...(str(hookRaw) ? { hookIn: mapHookName(str(hookRaw)!, CFG), hookFrom: CFG } : {}),
    ...(str(hookOutRaw) ? { hookOut: mapHookName(str(hookOutRaw)!, CFG) } : {}),
    ...(str(pick('model_name')) ? { modelName: str(pick('model_name'))! } : {}),
    ...(str(pick('neuronpedia_id')) ? { neuronpedia: str(pick('neuronpedia_id'))! } : {}),
    cfgFile: CFG,
    files: [CFG, W],
    notes: [],
  };
  if (activation === 'jumprelu') {
    if (ts.names.includes('threshold') || !ts.names.includes('log_threshold')) {
      raw.threshold = t(['threshold'], [dimSae]);
    } else {
      raw.threshold = t(['log_threshold'], [dimSae]).map(Math.exp);
      raw.notes.push('threshold = exp(log_threshold)');
    }
  }
  if (activation === 'gated') {
    raw.gate = {
      bGate: t(['b_gate'], [dimSae]),
      rMag: t(['r_mag'], [dimSae]),
      bMag: t(['b_mag'], [dimSae]),
    };
  }
  if (skip) raw.wSkip = t(['W_skip'], [dimOut, dimIn]);
  const scaleName = ['finetuning_scaling_factor', 'scaling_factor'].find((n) => ts.names.includes(n));
  if (scaleName) {
    const s = t([scaleName], [dimSae]);
    const allOnes = s.every((v) => v === 1);
    if (!allOnes && !finetuning) {
      throw new ModelFormatError(
        W,
        `${scaleName} is present and not all ones, but ${SAE_FILE_NAMES.saelensCfg} says finetuning_scaling_factor: false`,
      );
    }
    if (!allOnes) raw.scaling = s;
  } else if (finetuning) {
    throw new ModelFormatError(
      W,
      `missing tensor "finetuning_scaling_factor" (cfg.json says finetuning_scaling_factor: true)`,
    );
  }
  noExtras(ts, used, `${kindName} SAE`);
  if (transcoder && raw.normalize !== 'none') {
    bad(`normalize_activations "${raw.normalize}" on a transcoder is not supported`);
  }
  if (j.apply_b_dec_to_input === true && transcoder) {
    raw.notes.push(
      'apply_b_dec_to_input ignored: a transcoder never subtracts b_dec (it is in the output space)',
    );
  }
  return raw;
}

/** EleutherAI sparsify: cfg.json + sae.safetensors, TopK over ReLU pre-activations. */
function readSparsify(cfgBytes: Uint8Array, weights: Uint8Array, label: Label, opts: PretrainedOptions): Raw {
  const CFG = label(SAE_FILE_NAMES.saelensCfg);
  const bad = (problem: string): never => {
    throw new ModelFormatError(CFG, problem);
  };
  const j = parseJsonObject(cfgBytes, CFG);
  const dIn = positiveInt(CFG, 'd_in', j.d_in);
  const dSae =
    j.num_latents !== undefined && j.num_latents !== null && j.num_latents !== 0
      ? positiveInt(CFG, 'num_latents', j.num_latents)
      : dIn * positiveInt(CFG, 'expansion_factor', j.expansion_factor);
  const k = positiveInt(CFG, 'k', j.k);
  if (k > dSae) bad(`k is ${k}, more than the ${dSae} latents`);
  const activation = j.activation ?? 'topk';
  if (activation !== 'topk')
    bad(`activation ${JSON.stringify(activation)} is not supported; expected "topk"`);
  if (j.signed === true) bad('signed: true (TopK by magnitude with signed latents) is not supported');
  const transcode = j.transcode === true;
  const skip = j.skip_connection === true;
  const W = label(SAE_FILE_NAMES.sparsifyWeights);
  const ts = safetensorsTensors(weights, W);
  const used = new Set<string>();
  const what = transcode ? 'sparsify transcoder' : 'sparsify SAE';
  const t = (names: string[], dims: [string, number][]) => take(ts, names, dims, CFG, what, used);
  const dimIn: [string, number] = ['d_in', dIn];
  const dimSae: [string, number] = ['num_latents', dSae];
  const encT = t(['encoder.weight'], [dimSae, dimIn]); // nn.Linear: [out, in]
  const wEnc = new Float32Array(dIn * dSae);
  for (let s = 0; s < dSae; s++) for (let d = 0; d < dIn; d++) wEnc[d * dSae + s] = encT[s * dIn + d]!;
  const raw: Raw = {
    format: 'sparsify',
    architecture: transcode ? (skip ? 'skip_transcoder' : 'transcoder') : 'topk',
    activation: 'topk',
    k,
    transcoder: transcode,
    dIn,
    dSae,
    dOut: dIn,
    wEnc,
    bEnc: t(['encoder.bias'], [dimSae]),
    wDec: t(['W_dec'], [dimSae, dimIn]),
    bDec: t(['b_dec'], [dimIn]),
    applyBDec: !transcode,
    normalize: 'none',
    center: false,
    cfgFile: CFG,
    files: [CFG, W],
    notes: ['encoder.weight [d_sae, d_in] transposed into W_enc [d_in, d_sae]'],
  };
  if (skip) raw.wSkip = t(['W_skip'], [dimIn, dimIn]);
  noExtras(ts, used, what);
  const point = (opts.location?.path ?? '').split('/').filter(Boolean).at(-1) ?? '';
  const m = /(?:^|\.)layers[._](\d+)(?:\.(mlp|self_attn|attention|attn))?$/.exec(point);
  if (point === 'embed_tokens' || point.endsWith('.embed_tokens')) raw.hookIn = 'hook_embed';
  else if (m) {
    const [, l, sub] = m;
    if (!sub) raw.hookIn = `blocks.${l}.hook_resid_post`;
    else if (sub === 'mlp') {
      raw.hookIn = transcode ? `blocks.${l}.ln2.hook_normalized` : `blocks.${l}.hook_mlp_out`;
      if (transcode) raw.hookOut = `blocks.${l}.hook_mlp_out`;
    } else raw.hookIn = `blocks.${l}.hook_attn_out`;
  }
  if (raw.hookIn) raw.hookFrom = `the folder name "${point}"`;
  if (transcode && !raw.hookOut && raw.hookIn) raw.hookOut = raw.hookIn;
  return raw;
}

/** Gemma Scope (params.npz) and Gemma Scope 2 (params.safetensors): JumpReLU, no b_dec subtraction. */
function readGemmaScope(
  bytes: Uint8Array,
  label: Label,
  opts: PretrainedOptions,
  format: 'gemma-scope' | 'gemma-scope-2',
  configBytes?: Uint8Array,
): Raw {
  const file = label(format === 'gemma-scope' ? SAE_FILE_NAMES.gemmaScope : SAE_FILE_NAMES.gemmaScope2);
  const ts = format === 'gemma-scope' ? npzTensors(bytes, file) : safetensorsTensors(bytes, file);
  const used = new Set<string>();
  const names = (n: string) => [n, n.toLowerCase(), n.replace(/^w/, 'W')];
  const enc = names('W_enc').find((n) => ts.names.includes(n));
  const encShape = enc ? ts.shape(enc)! : undefined;
  if (!enc || encShape!.length !== 2) {
    throw new ModelFormatError(
      file,
      enc
        ? `${enc} is [${encShape!.join(', ')}], expected [d_in, d_sae]`
        : 'missing tensor "W_enc" (a JumpReLU SAE needs it)',
    );
  }
  const [dIn, dSae] = encShape as [number, number];
  const from = `${enc}`;
  const what = 'JumpReLU SAE';
  const t = (n: string, dims: [string, number][]) => take(ts, names(n), dims, from, what, used);
  const dimIn: [string, number] = ['d_in', dIn];
  const dimSae: [string, number] = ['d_sae', dSae];
  const raw: Raw = {
    format,
    architecture: 'jumprelu',
    activation: 'jumprelu',
    transcoder: false,
    dIn,
    dSae,
    dOut: dIn,
    wEnc: t('W_enc', [dimIn, dimSae]),
    bEnc: t('b_enc', [dimSae]),
    wDec: t('W_dec', [dimSae, dimIn]),
    bDec: t('b_dec', [dimIn]),
    threshold: t('threshold', [dimSae]),
    applyBDec: false,
    normalize: 'none',
    center: false,
    cfgFile: file,
    files: [file],
    notes: [],
  };
  noExtras(ts, used, what);
  if (configBytes) {
    const CFGF = label(SAE_FILE_NAMES.gemmaScope2Cfg);
    const c = parseJsonObject(configBytes, CFGF);
    raw.files.push(CFGF);
    if (c.width !== undefined && c.width !== dSae) {
      throw new ModelFormatError(CFGF, `width is ${JSON.stringify(c.width)} but ${file} has ${dSae} latents`);
    }
  }
  // The hook from where the files live, as SAELens' Gemma Scope loader reads it.
  const repo = opts.location?.repo ?? '';
  const path = opts.location?.path ?? '';
  const layer = /(?:^|\/)layer_(\d+)(?:[/_]|$)/.exec(path)?.[1];
  if (layer !== undefined) {
    let point: string | undefined;
    if (format === 'gemma-scope') {
      // The repository (hub ids), or a local copy's path that keeps its name.
      const sub = /gemma-scope-[\w.-]*?-(res|mlp|att)(?:[-/]|$)/.exec(repo || path)?.[1];
      point = { res: 'hook_resid_post', mlp: 'hook_mlp_out', att: 'attn.hook_z' }[sub ?? ''];
    } else if (/(?:^|\/)resid_post(?:_all)?\//.test(path)) point = 'hook_resid_post';
    else if (/(?:^|\/)mlp_out(?:_all)?\//.test(path)) point = 'hook_mlp_out';
    if (point) {
      raw.hookIn = `blocks.${layer}.${point}`;
      raw.hookFrom = `the repository and path (${[repo, path].filter(Boolean).join('/')})`;
    }
  }
  const size = /gemma-scope-(\d+b)-(pt|it)/.exec(repo || path);
  if (size && format === 'gemma-scope') raw.modelName = `gemma-2-${size[1]}${size[2] === 'it' ? '-it' : ''}`;
  return raw;
}

/** Apply the conventions (unless ignored) and build the SAE or transcoder. */
function finish(raw: Raw, opts: PretrainedOptions): PretrainedLoad {
  const ignore = new Set(opts.ignore ?? []);
  const notes = [...raw.notes];
  const { dIn, dSae, dOut } = raw;
  const rel = opts.release;
  const wEnc = raw.wEnc;
  let bEnc = raw.bEnc;
  const wDec = raw.wDec;
  const bDec = raw.bDec;
  let kind: SaeKind = raw.activation === 'gated' ? 'jumprelu' : raw.activation;
  let theta = raw.threshold;
  const ignored = (c: SaeConvention, what: string) => notes.push(`IGNORED ${c}: ${what}`);

  if (raw.rescaleByDecoderNorm) {
    if (ignore.has('rescale_acts_by_decoder_norm')) {
      ignored('rescale_acts_by_decoder_norm', 'decoder norms not applied');
    } else {
      for (let j = 0; j < dSae; j++) {
        let n2 = 0;
        for (let o = 0; o < dOut; o++) n2 += wDec[j * dOut + o]! ** 2;
        const n = Math.sqrt(n2);
        if (!(n > 0))
          throw new ModelFormatError(
            raw.cfgFile,
            `W_dec row ${j} is zero; rescale_acts_by_decoder_norm divides by it`,
          );
        for (let d = 0; d < dIn; d++) wEnc[d * dSae + j]! *= n;
        bEnc[j]! *= n;
        for (let o = 0; o < dOut; o++) wDec[j * dOut + o]! /= n;
      }
      notes.push(
        'rescale_acts_by_decoder_norm: folded (W_enc and b_enc times ‖W_dec[j]‖, W_dec rows unit norm)',
      );
    }
  }

  if (raw.gate) {
    const { bGate, rMag, bMag } = raw.gate;
    bEnc = bMag.slice();
    if (ignore.has('gate')) {
      kind = 'relu';
      ignored('gate', 'read as ReLU(x·W_enc + b_mag), without r_mag and the gate');
    } else {
      theta = new Float32Array(dSae);
      for (let j = 0; j < dSae; j++) {
        const scale = Math.exp(rMag[j]!);
        for (let d = 0; d < dIn; d++) wEnc[d * dSae + j]! *= scale;
        theta[j] = Math.max(0, bMag[j]! - scale * bGate[j]!);
      }
      notes.push(
        'gated: read as JumpReLU with W_enc·exp(r_mag), b_mag, θ = max(0, b_mag − exp(r_mag)·b_gate) (the same latents)',
      );
    }
  }
  if (kind === 'jumprelu' && theta) {
    if (ignore.has('threshold')) {
      kind = 'relu';
      theta = undefined;
      ignored('threshold', 'read as ReLU');
    } else if (!raw.gate) {
      const neg = theta.filter((v) => v < 0).length;
      if (neg) {
        theta = theta.map((v) => Math.max(0, v));
        notes.push(`${neg} negative thresholds act as 0 (ReLU comes first): clamped to 0`);
      }
      notes.push('JumpReLU: f = pre·[pre > θ] on ReLU(pre)');
    }
  }
  if (raw.scaling) {
    if (ignore.has('finetuning_scaling_factor')) ignored('finetuning_scaling_factor', 'latents not rescaled');
    else {
      for (let j = 0; j < dSae; j++) {
        const s = raw.scaling[j]!;
        for (let o = 0; o < dOut; o++) wDec[j * dOut + o]! *= s;
      }
      notes.push('finetuning_scaling_factor: latents scaled before decoding (folded into W_dec rows)');
    }
  }
  const input: SaeInputTransform[] = [];
  if (raw.center || rel?.centerWritingWeights) {
    const point =
      /^blocks\.\d+\.(.+)$/.exec(opts.hook ?? raw.hookIn ?? rel?.hook ?? '')?.[1] ??
      opts.hook ??
      raw.hookIn ??
      rel?.hook;
    if (ignore.has('center_writing_weights')) ignored('center_writing_weights', 'raw activations used');
    else if (point !== undefined && !CENTRED_POINTS.has(point)) {
      notes.push(
        `center_writing_weights leaves ${point} as it is (only what writes to the residual stream is centred)`,
      );
    } else input.push({ kind: 'center' });
  }
  if (raw.normalize === 'expected_average_only_in') {
    const f = opts.normScalingFactor ?? raw.normFactor ?? rel?.normScalingFactor;
    if (f === undefined) {
      throw new ModelFormatError(
        raw.cfgFile,
        'normalize_activations "expected_average_only_in" is not supported without its norm scaling factor (the dataset mean of √d_in/‖x‖): give --norm-scaling-factor, or load the SAE through a release that records one',
      );
    }
    if (!(f > 0 && Number.isFinite(f))) {
      throw new ModelFormatError(raw.cfgFile, `norm scaling factor ${f} is not a positive number`);
    }
    if (ignore.has('normalize_activations')) ignored('normalize_activations', `factor ${f} not applied`);
    else {
      for (let i = 0; i < wEnc.length; i++) wEnc[i]! *= f;
      for (let i = 0; i < wDec.length; i++) wDec[i]! /= f;
      for (let i = 0; i < bDec.length; i++) bDec[i]! /= f;
      notes.push(
        `normalize_activations: expected_average_only_in, factor ${f} folded (W_enc·f, W_dec/f, b_dec/f)`,
      );
    }
  } else if (raw.normalize === 'constant_norm_rescale' || raw.normalize === 'layer_norm') {
    if (ignore.has('normalize_activations')) ignored('normalize_activations', `${raw.normalize} not applied`);
    else
      input.push(
        raw.normalize === 'layer_norm'
          ? { kind: 'layer_norm', eps: 1e-5 }
          : { kind: 'constant_norm_rescale' },
      );
  }
  for (const t of input) notes.push(describeTransform(t));
  let applyBDec = raw.applyBDec;
  if (ignore.has('apply_b_dec_to_input') && !raw.transcoder) {
    applyBDec = !applyBDec;
    ignored('apply_b_dec_to_input', `read as ${applyBDec ? 'x − b_dec' : 'x'}`);
  } else if (!raw.transcoder) {
    notes.push(
      applyBDec
        ? 'encoder input x − b_dec (apply_b_dec_to_input)'
        : 'encoder input x, no b_dec subtraction (folded into b_enc)',
    );
  }
  if (!applyBDec && !raw.transcoder) {
    bEnc = bEnc.slice();
    for (let s = 0; s < dSae; s++) {
      let acc = bEnc[s]!;
      for (let d = 0; d < dIn; d++) acc += bDec[d]! * wEnc[d * dSae + s]!;
      bEnc[s] = acc;
    }
  }
  // Folding the conventions in can overflow float32 where the stored weights did not.
  const folded = { W_enc: wEnc, b_enc: bEnc, W_dec: wDec, b_dec: bDec, threshold: theta };
  for (const [name, a] of Object.entries(folded)) {
    const at = a ? firstNonFinite(a) : -1;
    if (at >= 0) {
      throw new ModelFormatError(
        raw.files.at(-1)!,
        `${name}[${at}] is ${a![at]} once the file's conventions are folded in (beyond float32)`,
      );
    }
  }

  // Hooks: --hook, then the file, then the release table, then where the files live.
  const hookFile = raw.hookIn;
  let hookIn = opts.hook ?? raw.hookIn ?? rel?.hook;
  if (opts.hook && raw.hookIn && opts.hook !== raw.hookIn) {
    notes.push(`hook ${opts.hook} from --hook (the file says ${raw.hookIn})`);
  } else if (opts.hook) notes.push(`hook ${opts.hook} from --hook`);
  else if (hookFile) notes.push(`hook ${hookFile} from ${raw.hookFrom ?? raw.cfgFile}`);
  else if (rel?.hook) notes.push(`hook ${rel.hook} from the release table (${rel.id})`);
  if (!hookIn) {
    throw new ModelFormatError(
      raw.cfgFile,
      `${raw.format === 'saelens' ? 'missing hook_name: it' : 'it'} does not say which hook it reads; give --hook (e.g. blocks.12.hook_resid_post), or load it by a hub id or release the table knows`,
    );
  }
  hookIn = mapHookName(hookIn, raw.cfgFile);
  const hookOut = raw.transcoder ? (opts.hookOut ?? raw.hookOut) : hookIn;
  if (!hookOut) {
    throw new ModelFormatError(
      raw.cfgFile,
      'a transcoder that does not name its output hook (hook_name_out)',
    );
  }
  const info: PretrainedInfo = {
    format: raw.format,
    architecture: raw.architecture,
    kind,
    transcoder: raw.transcoder,
    skip: raw.wSkip !== undefined,
    hookIn,
    hookOut,
    dIn,
    dOut,
    dSae,
    ...(raw.k !== undefined ? { k: raw.k } : {}),
    ...((raw.modelName ?? rel?.model) ? { modelName: (raw.modelName ?? rel?.model)! } : {}),
    ...((raw.neuronpedia ?? rel?.neuronpedia) ? { neuronpedia: (raw.neuronpedia ?? rel?.neuronpedia)! } : {}),
    ...(rel ? { release: rel.id } : {}),
    conventions: notes,
    files: raw.files,
  };
  if (raw.transcoder) {
    const transcoder: LoadedTranscoder = {
      kind,
      ...(raw.k !== undefined ? { k: raw.k } : {}),
      dIn,
      dOut,
      dSae,
      hookIn,
      hookOut,
      params: {
        wEnc,
        bEnc,
        wDec,
        bDec,
        ...(theta ? { threshold: theta } : {}),
        ...(raw.wSkip ? { wSkip: raw.wSkip } : {}),
      },
      ...(input.length ? { input } : {}),
    };
    return { type: 'transcoder', transcoder, info };
  }
  const cfg: SaeConfig = {
    kind,
    dIn,
    dSae,
    hookName: hookIn,
    normalizeDecoder: unitRows(wDec, dSae, dIn),
    ...(raw.k !== undefined && kind === 'topk' ? { k: raw.k } : {}),
  };
  const params: SaeParams = { wEnc, bEnc, wDec, bDec };
  if (kind === 'jumprelu') params.logThreshold = theta!.map(Math.log);
  const source: SaeSource = {
    format: raw.format,
    architecture: raw.architecture,
    ...(info.modelName ? { modelName: info.modelName } : {}),
    ...(info.neuronpedia ? { neuronpedia: info.neuronpedia } : {}),
    ...(rel ? { release: rel.id } : {}),
  };
  const sae: LoadedSae = { cfg, params, source, ...(input.length ? { input } : {}) };
  return { type: 'sae', sae, info };
}

function unitRows(wDec: Float32Array, rows: number, width: number): boolean {
  for (let s = 0; s < rows; s++) {
    let n2 = 0;
    for (let d = 0; d < width; d++) n2 += wDec[s * width + d]! ** 2;
    if (Math.abs(Math.sqrt(n2) - 1) > 1e-4) return false;
  }
  return true;
}

/** The SAELens reader on its own (used by `importSaeLens`). */
export function readSaeLensFiles(
  cfgJson: string | Uint8Array,
  weights: Uint8Array,
  opts: PretrainedOptions = {},
): PretrainedLoad {
  const label = opts.label ?? ((f: string) => f);
  return finish(readSaeLens(cfgJson, weights, label), opts);
}
