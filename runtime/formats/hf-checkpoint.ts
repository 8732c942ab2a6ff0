/**
 * Hugging Face safetensors → the runtime's weights, through the architecture's tensor table
 * (runtime/model/arch): every tensor the config requires must be present with its exact stored
 * shape and a float dtype, finite, in exactly one shard; tensors the model does not use are an
 * error unless the architecture lists them as ignorable buffers.
 *
 * Rotary layout: HF checkpoints keep q/k rows in the rotate_half order their own forward uses, and
 * so does the runtime (rope style 'half'), so q/k are loaded as stored and the hook values match HF.
 *
 * Precision (README "Precision"): F16 and BF16 matrices and embeddings stay 16-bit, as stored
 * (`SafetensorsFile.weight`; the backends decode them inside the kernels), norm scales and biases
 * become float32 as they are placed; `{ float32: true }` converts everything instead (tools that
 * edit or compare weights). `storedDtypes` records what the file held and
 * `LlamaModel.weightPrecision` reports the path. With `LlamaModel.load(…, { transfer: true })` the
 * array IS the CPU backend's tensor (no other copy survives the load) and WebGPU keeps no host
 * copy. Memory: from a lazily read file (`openSafetensorsFile`, Node) the loader holds the weights
 * once plus one tensor in flight; from bytes in memory it also holds the file until the caller
 * drops it.
 */
import { formatCount, ModelFormatError } from '../errors';
import { firstNonFinite } from '../numeric';
import { LLAMA } from '../model/arch/llama-family';
import { emptyWeights, type StoredWeights, type TensorEntry } from '../model/arch/tensor-table';
import {
  firstNonFiniteHalf,
  isHalf,
  toFloat32,
  weightValueAt,
  type WeightArray,
} from '../../kernels/weight-dtype';
import type { LlamaConfig, LlamaWeights } from '../model/llama-config';
import type { HfArchitecture, HfModelConfig } from './hf-config';
import type { SafetensorsFile, SafetensorsTensorInfo } from './safetensors';
import type { SafetensorsDtype } from './safetensors-dtypes';

/** A mapped HF checkpoint, ready for `LlamaModel.load`; `W` float32 with `{ float32: true }`. */
export interface HfCheckpoint<W extends StoredWeights = StoredWeights> {
  architecture: HfArchitecture;
  config: LlamaConfig;
  weights: W;
  /** The weights file name(s), for messages. */
  fileName: string;
  /** The dtypes the weights were stored in (distinct, in first-seen order), e.g. ['BF16']. */
  storedDtypes: SafetensorsDtype[];
}

/** Dtypes accepted for weights (see "Precision" above). */
const WEIGHT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** How many names an error lists before "and N more". */
const LIST_LIMIT = 5;

/**
 * The tensors a Llama config requires (the names `writeHfCheckpoint` writes), name → stored shape.
 *
 * @example
 * hfTensorShapes(config).get('model.layers.0.self_attn.k_proj.weight'); // [kvDim, dim]
 */
export function hfTensorShapes(config: LlamaConfig): Map<string, readonly number[]> {
  return new Map(LLAMA.tensors(config).map((e) => [e.name, e.shape]));
}

/** One tensor of the architecture's table with the stored tensor that fills it. */
export interface HfTensorSource {
  /** The table's entry: name, stored shape and where the data go (`place`). */
  entry: TensorEntry;
  /** The file holding it and its name there (with any optional prefix). */
  file: SafetensorsFile;
  stored: string;
  info: SafetensorsTensorInfo;
}

/**
 * A checked mapping from safetensors files to the architecture's tensor table, before any tensor
 * data is read: what `hfCheckpoint` reads, and what a streamed load (runtime/sources/hub-model.ts)
 * fetches tensor by tensor.
 */
export interface HfCheckpointPlan {
  architecture: HfArchitecture;
  config: LlamaConfig;
  /** The weights file name(s), for messages. */
  fileName: string;
  /** Every tensor the config requires, in table order. */
  tensors: HfTensorSource[];
  /** Stored tensors the model does not use (a tied lm_head, rotary buffers): never read. */
  ignored: { file: SafetensorsFile; stored: string }[];
  /** The dtypes the weights are stored in (distinct, in table order), e.g. ['BF16']. */
  storedDtypes: SafetensorsDtype[];
}

/**
 * Check safetensors headers against the tensor table of `parsed` without reading any tensor data:
 * every tensor the config requires present, in exactly one shard, with its exact stored shape and
 * a float dtype, and no tensor the model does not use (unless ignorable).
 *
 * @example
 * const plan = planHfCheckpoint(parseHfConfig(configText, 'config.json'), [readSafetensors(headerOnly, 'model.safetensors')]);
 * plan.tensors.map((t) => t.info.end - t.info.begin); // bytes to fetch, tensor by tensor
 * @throws ModelFormatError naming the weights file(s), as `hfCheckpoint`.
 */
export function planHfCheckpoint(
  parsed: HfModelConfig,
  files: readonly SafetensorsFile[],
  configFileName = 'config.json',
): HfCheckpointPlan {
  const { config, architecture, spec } = parsed;
  const fileName = files.map((f) => f.fileName).join(', ') || '(no weights file)';
  const fail = (problem: string, file = fileName): never => {
    throw new ModelFormatError(file, problem);
  };
  const prefix = spec.optionalPrefix;
  const where = new Map<string, { file: SafetensorsFile; stored: string }>();
  for (const f of files) {
    for (const stored of f.tensors.keys()) {
      const name = prefix && stored.startsWith(prefix) ? stored.slice(prefix.length) : stored;
      const other = where.get(name);
      if (other) fail(`tensor "${name}" appears in both ${other.file.fileName} and ${f.fileName}`);
      where.set(name, { file: f, stored });
    }
  }
  const entries = spec.tensors(config);
  const layers = config.nLayers;
  const what = `${configFileName} (${architecture}, ${layers} layer${layers === 1 ? '' : 's'}${config.moe ? `, ${config.moe.nExperts} experts` : ''})`;
  const missing = entries.map((e) => e.name).filter((n) => !where.has(n));
  if (missing.length > 0) {
    fail(
      `missing ${formatCount(missing.length)} tensor${missing.length === 1 ? '' : 's'} that ${what} requires: ${listNames(missing)}`,
    );
  }
  const required = new Set(entries.map((e) => e.name));
  // A tied checkpoint may still carry lm_head (HF ignores it); rotary caches are buffers, not weights.
  const ignorable = (n: string) =>
    spec.ignorable?.(n) === true || (config.sharedClassifier && n === 'lm_head.weight');
  const unexpected = [...where.keys()].filter((n) => !required.has(n) && !ignorable(n));
  if (unexpected.length > 0) {
    fail(
      `${formatCount(unexpected.length)} tensor${unexpected.length === 1 ? '' : 's'} that ${what} does not use (does the config match the checkpoint?): ${listNames(unexpected)}`,
    );
  }
  const tensors: HfTensorSource[] = [];
  const storedDtypes: SafetensorsDtype[] = [];
  for (const e of entries) {
    const { file, stored } = where.get(e.name)!;
    const info = file.info(stored);
    if (!(WEIGHT_DTYPES as readonly string[]).includes(info.dtype)) {
      fail(`tensor "${stored}" has dtype ${info.dtype}; expected ${WEIGHT_DTYPES.join(', ')}`, file.fileName);
    }
    if (info.shape.length !== e.shape.length || info.shape.some((d, i) => d !== e.shape[i])) {
      fail(
        `tensor "${stored}" has shape [${info.shape.join(', ')}]; ${configFileName} implies [${e.shape.join(', ')}]`,
        file.fileName,
      );
    }
    if (!storedDtypes.includes(info.dtype)) storedDtypes.push(info.dtype);
    tensors.push({ entry: e, file, stored, info });
  }
  const ignored = [...where.entries()].filter(([n]) => !required.has(n)).map(([, w]) => w);
  return { architecture, config, fileName, tensors, ignored, storedDtypes };
}

/**
 * Refuse a tensor's float32 data that holds a NaN or ±Infinity, naming the tensor, the value and
 * its index (the check every loader runs on every weight before it is used).
 *
 * @throws ModelFormatError naming `fileName`.
 */
export function checkTensorValues(data: WeightArray, stored: string, fileName: string): void {
  const bad = isHalf(data) ? firstNonFiniteHalf(data) : firstNonFinite(data);
  if (bad >= 0) {
    throw new ModelFormatError(
      fileName,
      `tensor "${stored}" holds a non-finite value (${weightValueAt(data, bad)}) at index ${formatCount(bad)}`,
    );
  }
}

/**
 * Map safetensors files (one, or the shards of one checkpoint) to runtime weights for `parsed`:
 * `planHfCheckpoint`'s checks, then each tensor read (as float32), checked and placed.
 *
 * @example
 * const ckpt = hfCheckpoint(parseHfConfig(configText, 'config.json'), [parseSafetensors(bytes, 'model.safetensors')]);
 * LlamaModel.load(backend, ckpt);
 * @throws ModelFormatError naming the weights file(s) for missing or unexpected tensors, a wrong
 *   shape, a non-float dtype or a non-finite value.
 */
export function hfCheckpoint(
  parsed: HfModelConfig,
  files: readonly SafetensorsFile[],
  configFileName?: string,
): HfCheckpoint;
export function hfCheckpoint(
  parsed: HfModelConfig,
  files: readonly SafetensorsFile[],
  configFileName: string | undefined,
  opts: { float32: true },
): HfCheckpoint<LlamaWeights>;
export function hfCheckpoint(
  parsed: HfModelConfig,
  files: readonly SafetensorsFile[],
  configFileName = 'config.json',
  opts: { float32?: boolean } = {},
): HfCheckpoint {
  const plan = planHfCheckpoint(parsed, files, configFileName);
  const weights: StoredWeights = emptyWeights(plan.config);
  for (const { entry, file, stored } of plan.tensors) {
    const data = opts.float32 ? toFloat32(file.weight(stored)) : file.weight(stored);
    checkTensorValues(data, stored, file.fileName);
    entry.place(data, weights);
  }
  const { architecture, config, fileName, storedDtypes } = plan;
  return { architecture, config, weights, fileName, storedDtypes };
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LIST_LIMIT).join(', ');
  return names.length > LIST_LIMIT ? `${shown} and ${formatCount(names.length - LIST_LIMIT)} more` : shown;
}
