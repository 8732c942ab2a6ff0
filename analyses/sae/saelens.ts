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
import { firstNonFinite } from '../../runtime/numeric';
import { parseSafetensors, type SafetensorsFile } from '../../runtime/formats/safetensors';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { resolveConfig, type SaeConfig, type SaeKind, type SaeParams } from './types';

export const SAELENS_CFG_FILE = 'cfg.json';
export const SAELENS_WEIGHTS_FILE = 'sae_weights.safetensors';

const ARCHITECTURE: Record<SaeKind, string> = { relu: 'standard', topk: 'topk', jumprelu: 'jumprelu' };
const DTYPE_NAME = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** The two files of an SAELens SAE folder. */
export interface SaeLensFiles {
  /** Contents of `cfg.json`. */
  cfgJson: string;
  /** Contents of `sae_weights.safetensors`. */
  weights: Uint8Array;
}

/**
 * Serialise an SAE as SAELens files.
 *
 * @example
 * const { cfgJson, weights } = exportSaeLens(cfg, params, { modelName: 'stories15M' });
 */
export function exportSaeLens(
  cfg: SaeConfig,
  params: SaeParams,
  opts: { modelName: string; dtype?: 'F32' | 'F16' | 'BF16' },
): SaeLensFiles {
  const c = resolveConfig(cfg);
  const { dIn, dSae, kind } = c;
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
  return { cfgJson: JSON.stringify(json, null, 2), weights: writeSafetensors(tensors, { format: 'pt' }) };
}

/** What `importSaeLens` returns. */
export interface SaeLensImport {
  cfg: SaeConfig;
  params: SaeParams;
  modelName?: string;
}

/**
 * Read SAELens files, checking them against each other and against what the hook expects.
 * `normalizeDecoder` comes back true when every decoder row already has unit norm.
 *
 * `apply_b_dec_to_input: false` SAEs are folded exactly into our always-subtracting encoder:
 * x·W_enc + b_enc = (x − b_dec)·W_enc + (b_enc + b_dec·W_enc).
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
  const W = SAELENS_WEIGHTS_FILE;
  const bad = (problem: string): never => {
    throw new ModelFormatError(CFG, problem);
  };
  const text = typeof files.cfgJson === 'string' ? files.cfgJson : new TextDecoder().decode(files.cfgJson);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('expected a JSON object');
  const j = raw as Record<string, unknown>;
  const meta = (typeof j.metadata === 'object' && j.metadata !== null ? j.metadata : {}) as Record<
    string,
    unknown
  >;
  const int = (name: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      bad(`${name} is ${JSON.stringify(v)}, expected a positive integer`);
    }
    return v as number;
  };
  const dIn = int('d_in', j.d_in);
  const dSae = int('d_sae', j.d_sae);
  const kind = architectureKind(j, bad);
  const kwargs = (j.activation_fn_kwargs ?? {}) as Record<string, unknown>;
  const k = kind === 'topk' ? int('k', kwargs.k ?? j.k) : undefined;
  if (k !== undefined && k > dSae) bad(`k is ${k}, more than d_sae ${dSae}`);
  const norm = j.normalize_activations;
  if (norm !== undefined && norm !== null && norm !== 'none') {
    bad(
      `normalize_activations "${String(norm)}" is not supported (it needs a dataset scaling factor); expected "none"`,
    );
  }
  const hookName = j.hook_name ?? meta.hook_name;
  if (typeof hookName !== 'string' || !hookName) bad('missing hook_name');
  const hook = hookName as string;
  const modelName = j.model_name ?? meta.model_name;

  if (expect.dIn !== undefined && expect.dIn !== dIn) {
    throw new CompatibilityError(
      CFG,
      `d_in is ${dIn} but the activations at the hook have width ${expect.dIn}`,
    );
  }
  if (expect.hookName !== undefined && expect.hookName !== hook) {
    throw new CompatibilityError(
      CFG,
      `hook_name is "${hook}" but this SAE is being loaded at "${expect.hookName}"`,
    );
  }

  const st = parseSafetensors(files.weights, W);
  const size: Record<string, number> = { d_in: dIn, d_sae: dSae };
  const tensor = (name: string, dimNames: string[]) => readTensor(st, name, dimNames, size, kind);
  const params: SaeParams = {
    wEnc: tensor('W_enc', ['d_in', 'd_sae']),
    bEnc: tensor('b_enc', ['d_sae']),
    wDec: tensor('W_dec', ['d_sae', 'd_in']),
    bDec: tensor('b_dec', ['d_in']),
  };
  if (kind === 'jumprelu') {
    const theta = tensor('threshold', ['d_sae']);
    const neg = theta.findIndex((t) => !(t >= 0));
    if (neg >= 0) throw new ModelFormatError(W, `threshold[${neg}] is ${theta[neg]}, expected ≥ 0`);
    params.logThreshold = theta.map(Math.log);
  }
  if (j.apply_b_dec_to_input === false) {
    for (let s = 0; s < dSae; s++) {
      let acc = params.bEnc[s]!;
      for (let d = 0; d < dIn; d++) acc += params.bDec[d]! * params.wEnc[d * dSae + s]!;
      params.bEnc[s] = acc;
    }
  }
  const cfg: SaeConfig = {
    kind,
    dIn,
    dSae,
    hookName: hook,
    normalizeDecoder: unitRows(params.wDec, dSae, dIn),
  };
  if (k !== undefined) cfg.k = k;
  const out: SaeLensImport = { cfg, params };
  if (typeof modelName === 'string') out.modelName = modelName;
  return out;
}

/** Our kind from `architecture` (SAELens 5 TopK SAEs say "standard" with activation_fn_str "topk"). */
function architectureKind(j: Record<string, unknown>, bad: (p: string) => never): SaeKind {
  const arch = j.architecture ?? 'standard';
  if (arch === 'jumprelu') return 'jumprelu';
  if (arch === 'topk') return 'topk';
  if (arch === 'standard') {
    const fn = j.activation_fn_str ?? j.activation_fn ?? 'relu';
    if (fn === 'relu') return 'relu';
    if (fn === 'topk') return 'topk';
    return bad(`activation_fn_str "${String(fn)}" is not supported; expected "relu" or "topk"`);
  }
  return bad(`architecture "${String(arch)}" is not supported; expected "standard", "topk" or "jumprelu"`);
}

/** A float32 copy of tensor `name`, whose dims are named (d_in, d_sae) after cfg.json's sizes. */
function readTensor(
  st: SafetensorsFile,
  name: string,
  dimNames: string[],
  size: Record<string, number>,
  kind: SaeKind,
): Float32Array {
  const info = st.tensors.get(name);
  if (!info) {
    throw new ModelFormatError(st.fileName, `missing tensor "${name}" (a ${kind} SAE needs it)`);
  }
  const shape = dimNames.map((d) => size[d]!);
  const same = info.shape.length === shape.length && info.shape.every((d, i) => d === shape[i]);
  if (!same) {
    const wrong = dimNames.filter((d, i) => info.shape[i] !== size[d]);
    const why = (wrong.length ? wrong : dimNames).map((d) => `${d} ${size[d]}`).join(', ');
    throw new ModelFormatError(
      st.fileName,
      `${name} is [${info.shape.join(', ')}], expected [${shape.join(', ')}] (${why} from ${SAELENS_CFG_FILE})`,
    );
  }
  const data = st.float32(name).slice(); // a copy: F32 data may be a view into the caller's buffer
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    throw new ModelFormatError(
      st.fileName,
      `${name} holds a non-finite value (${data[bad]}) at index ${bad}`,
    );
  }
  return data;
}

function unitRows(wDec: Float32Array, dSae: number, dIn: number): boolean {
  for (let s = 0; s < dSae; s++) {
    let n2 = 0;
    for (let d = 0; d < dIn; d++) n2 += wDec[s * dIn + d]! ** 2;
    if (Math.abs(Math.sqrt(n2) - 1) > 1e-4) return false;
  }
  return true;
}
