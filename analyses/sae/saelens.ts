/**
 * Export and import in SAELens' on-disk layout: `cfg.json` plus `sae_weights.safetensors` holding
 * W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in] and, for JumpReLU,
 * threshold [d_sae] (θ itself; we train log θ). `cfg.json` carries both the SAELens 5 top-level
 * fields (model_name, hook_name, activation_fn_str, activation_fn_kwargs) and the SAELens 6 ones
 * (metadata.{model_name, hook_name}, top-level k for TopK) so either version loads it.
 *
 * Import is strict: every problem is an error naming the file and what is wrong with it, e.g.
 * `sae_weights.safetensors: W_enc is [64, 512], expected [48, 512] (d_in 48 from cfg.json)`.
 * F32, F16, BF16 and F64 weights are accepted (the safetensors reader converts to float32).
 */
import { CompatibilityError, ModelFormatError } from '../../runtime/errors';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { SAELENS_CFG_FILE, SAELENS_WEIGHTS_FILE } from './catalogue';
import type { SaeSource } from './codec';

export { SAELENS_CFG_FILE, SAELENS_WEIGHTS_FILE };
import type { SaeInputTransform } from './input-transform';
import { readSaeLensFiles } from './pretrained';
import { resolveConfig, type SaeConfig, type SaeKind, type SaeParams } from './types';

/** BatchTopK is exported as SAELens does for inference: a JumpReLU (batchTopKToJumpRelu). */
const ARCHITECTURE: Record<Exclude<SaeKind, 'batchtopk'>, string> = {
  relu: 'standard',
  topk: 'topk',
  jumprelu: 'jumprelu',
};
const DTYPE_NAME = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** The two files of an SAELens SAE folder. */
export interface SaeLensFiles {
  /** Contents of `cfg.json`. */
  cfgJson: string;
  /** Contents of `sae_weights.safetensors`. */
  weights: Uint8Array;
}

/**
 * Serialise an SAE as SAELens files. A pretrained SAE's input transforms are written as SAELens
 * records them (normalize_activations, model_from_pretrained_kwargs.center_writing_weights), and
 * its Neuronpedia id as neuronpedia_id, so the files load back the same.
 *
 * @example
 * const { cfgJson, weights } = exportSaeLens(cfg, params, { modelName: 'stories15M' });
 */
export function exportSaeLens(
  cfg: SaeConfig,
  params: SaeParams,
  opts: {
    modelName: string;
    dtype?: 'F32' | 'F16' | 'BF16';
    input?: readonly SaeInputTransform[];
    neuronpedia?: string;
  },
): SaeLensFiles {
  const c = resolveConfig(cfg);
  const { dIn, dSae, kind } = c;
  if (kind === 'batchtopk') {
    throw new Error('exportSaeLens: convert a BatchTopK SAE with batchTopKToJumpRelu before export');
  }
  const dtype = opts.dtype ?? 'F32';
  const tensors = [
    { name: 'W_enc', dtype, shape: [dIn, dSae], data: params.wEnc },
    { name: 'b_enc', dtype, shape: [dSae], data: params.bEnc },
    { name: 'W_dec', dtype, shape: [dSae, dIn], data: params.wDec },
    { name: 'b_dec', dtype, shape: [dIn], data: params.bDec },
  ];
  if (kind === 'jumprelu') {
    if (!params.logThreshold) throw new Error('exportSaeLens: a JumpReLU SAE needs logThreshold');
    tensors.push({ name: 'threshold', dtype, shape: [dSae], data: params.logThreshold.map(Math.exp) });
  }
  const layer = /(?:^|\.)blocks\.(\d+)\./.exec(c.hookName);
  const json: Record<string, unknown> = {
    architecture: ARCHITECTURE[kind],
    d_in: dIn,
    d_sae: dSae,
    dtype: DTYPE_NAME[dtype],
    device: 'cpu',
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    finetuning_scaling_factor: false,
    model_name: opts.modelName,
    hook_name: c.hookName,
    hook_layer: layer ? Number(layer[1]) : null,
    hook_head_index: null,
    activation_fn_str: kind === 'topk' ? 'topk' : 'relu',
    activation_fn_kwargs: kind === 'topk' ? { k: c.k } : {},
    metadata: { model_name: opts.modelName, hook_name: c.hookName, hook_head_index: null },
  };
  if (kind === 'topk') json.k = c.k;
  const input = opts.input ?? [];
  const norm = input.find((t) => t.kind !== 'center');
  if (norm) json.normalize_activations = norm.kind;
  if (input.some((t) => t.kind === 'center')) {
    const kwargs = { center_writing_weights: true };
    json.model_from_pretrained_kwargs = kwargs;
    (json.metadata as Record<string, unknown>).model_from_pretrained_kwargs = kwargs;
  }
  if (input.length > (norm ? 1 : 0) + (input.some((t) => t.kind === 'center') ? 1 : 0)) {
    throw new Error('exportSaeLens: SAELens records one normalisation and centring at most');
  }
  if (opts.neuronpedia) json.neuronpedia_id = opts.neuronpedia;
  return { cfgJson: JSON.stringify(json, null, 2), weights: writeSafetensors(tensors, { format: 'pt' }) };
}

/** What `importSaeLens` returns. */
export interface SaeLensImport {
  cfg: SaeConfig;
  params: SaeParams;
  modelName?: string;
  /** Format, architecture and Neuronpedia id (`neuronpedia_id` in cfg.json) of the file. */
  source?: SaeSource;
}

/**
 * Read SAELens files, checking them against each other and against what the hook expects.
 * `normalizeDecoder` comes back true when every decoder row already has unit norm.
 *
 * The conventions that fit `{cfg, params}` exactly are applied (see pretrained.ts): no b_dec
 * subtraction (`apply_b_dec_to_input: false`: x·W_enc + b_enc = (x − b_dec)·W_enc + (b_enc +
 * b_dec·W_enc)), `finetuning_scaling_factor`, gated → JumpReLU, `expected_average_only_in` when
 * cfg.json records `norm_scaling_factor`. SAEs that need a per-row input transform
 * (constant_norm_rescale, layer_norm, TransformerLens centring) and transcoders are refused here:
 * `loadPretrainedSae` reads them, into a `LoadedSae` that carries its transform.
 *
 * @example
 * const { cfg, params } = importSaeLens({ cfgJson, weights }, { dIn: 64, hookName: 'blocks.3.hook_resid_post' });
 * @throws ModelFormatError for a malformed file, a missing tensor or a wrong shape;
 *   CompatibilityError when d_in or the hook disagree with `expect`.
 */
export function importSaeLens(
  files: { cfgJson: string | Uint8Array; weights: ArrayBuffer | Uint8Array },
  expect: { dIn?: number; hookName?: string } = {},
): SaeLensImport {
  const CFG = SAELENS_CFG_FILE;
  const weights = files.weights instanceof Uint8Array ? files.weights : new Uint8Array(files.weights);
  const r = readSaeLensFiles(files.cfgJson, weights);
  if (r.type === 'transcoder') {
    throw new ModelFormatError(
      CFG,
      `architecture "${r.info.architecture}" is a transcoder (reads ${r.info.hookIn}, writes ${r.info.hookOut}); it loads with loadPretrainedSae (sparsebook sae info), not as an SAE`,
    );
  }
  const { sae, info } = r;
  if (sae.input?.length) {
    throw new ModelFormatError(
      CFG,
      `this SAE needs a per-row input transform (${sae.input.map((t) => t.kind).join(', ')}); it is not supported here, only by loadPretrainedSae (the sparsebook sae commands)`,
    );
  }
  if (expect.dIn !== undefined && expect.dIn !== info.dIn) {
    throw new CompatibilityError(
      CFG,
      `d_in is ${info.dIn} but the activations at the hook have width ${expect.dIn}`,
    );
  }
  if (expect.hookName !== undefined && expect.hookName !== info.hookIn) {
    throw new CompatibilityError(
      CFG,
      `hook_name is "${info.hookIn}" but this SAE is being loaded at "${expect.hookName}"`,
    );
  }
  const out: SaeLensImport = { cfg: sae.cfg, params: sae.params };
  if (info.modelName) out.modelName = info.modelName;
  if (sae.source) out.source = sae.source;
  return out;
}

/**
 * The matching-pursuit width k of an ITDA dictionary, from its record: cfg.json's
 * `sparsebook_itda` object (`{ k, encoder }`) or the worker's ITDA file (JSON bytes `{ k }`).
 *
 * @example
 * readItdaK({ k: 8, encoder: 'matching-pursuit' }, 'cfg.json'); // 8
 * @throws ModelFormatError naming `fileName` unless k is an integer from 1 to MAX_ITDA_K.
 */
export function readItdaK(record: unknown, fileName: string): number {
  let value = record;
  if (value instanceof Uint8Array) {
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
    } catch (e) {
      throw new ModelFormatError(fileName, `not valid JSON (${(e as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFormatError(fileName, 'the ITDA record is not a JSON object with k');
  }
  const k = (value as { k?: unknown }).k;
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > MAX_ITDA_K) {
    const found = k === undefined ? 'missing' : JSON.stringify(k).slice(0, 40);
    throw new ModelFormatError(fileName, `ITDA k is ${found}, expected an integer from 1 to ${MAX_ITDA_K}`);
  }
  return k;
}

/** Largest matching-pursuit width an ITDA record may give (the app's default is 16). */
export const MAX_ITDA_K = 4096;
