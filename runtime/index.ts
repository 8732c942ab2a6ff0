/**
 * Runtime facade: load a model and tokenizer in one call (llama2.c, HF safetensors, or a set of
 * files of either), plus re-exports of the pieces apps, workers and the CLI use.
 */
import type { Backend } from '../kernels/backend';
import { checkCompatible } from './compatibility';
import { blockHookPoints } from './hooks';
import { hfCheckpoint } from './formats/hf-checkpoint';
import { parseHfConfig } from './formats/hf-config';
import { parseLlama2c } from './formats/llama2c';
import { planModelFiles, type ModelFilePlan } from './formats/model-files';
import { parseSafetensors, SafetensorsFile } from './formats/safetensors';
import { LlamaModel, type LoadOptions } from './model/llama';
import { countParameters, type LlamaConfig } from './model/llama-config';
import { HfTokenizer } from './tokenizers/hf-tokenizer';
import { Llama2cTokenizer } from './tokenizers/llama2c-tokenizer';
import type { Tokenizer } from './tokenizers/tokenizer';

type Bytes = ArrayBuffer | Uint8Array;

/** Summary of a loaded model for display. */
export interface ModelInfo {
  /**
   * The FFN kind, as before architectures other than Llama loaded: `mixtral` when it is a sparse
   * mixture of experts, `llama` otherwise. The model family is `hfArchitecture`.
   */
  architecture: 'llama' | 'mixtral';
  /**
   * The HF architecture (config.json `architectures[0]`: `GPT2LMHeadModel`, `Gemma3ForCausalLM`,
   * `Qwen2MoeForCausalLM`, …), or null for a llama2.c checkpoint.
   */
  hfArchitecture: string | null;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  hiddenDim: number;
  vocabSize: number;
  seqLen: number;
  /** Stored parameters (shared classifier counted once). */
  parameters: number;
  sharedClassifier: boolean;
  /** Experts per MoE block, or null for a dense model. */
  nExperts: number | null;
  /** Experts each token is routed to, or null for a dense model. */
  topK: number | null;
  /**
   * The hook points inside each block of this architecture, without the `blocks.{l}.` prefix, in
   * execution order (`blockHookPoints`: no `attn.hook_rot_q` with learned positions, no
   * `hook_resid_mid` with a parallel residual, …).
   */
  blockHookPoints: string[];
}

export interface LoadedModel {
  model: LlamaModel;
  tokenizer: Tokenizer;
  info: ModelInfo;
}

/**
 * Parse, check and upload a llama2.c checkpoint with its tokenizer.
 *
 * @example
 * const { model, tokenizer, info } = loadLlama2c(backend, modelBytes, 'stories260K.bin', tokBytes, 'tok512.bin');
 * @throws ModelFormatError / TokenizerError / CompatibilityError naming the offending file.
 */
export function loadLlama2c(
  backend: Backend,
  modelBytes: ArrayBuffer | Uint8Array,
  modelFileName: string,
  tokBytes: ArrayBuffer | Uint8Array,
  tokFileName: string,
): LoadedModel & { tokenizer: Llama2cTokenizer } {
  const checkpoint = parseLlama2c(modelBytes, modelFileName);
  const tokenizer = Llama2cTokenizer.load(tokBytes, tokFileName);
  checkCompatible(checkpoint.config, tokenizer, { model: modelFileName, tokenizer: tokFileName });
  const info = modelInfo(checkpoint.config);
  return { model: LlamaModel.load(backend, checkpoint), tokenizer, info };
}

/**
 * The files of an HF-style model: config.json, the safetensors weights (one file or shards), and
 * tokenizer.json (+ tokenizer_config.json) or a llama2.c tokenizer.bin.
 */
export interface HfModelFiles<T> {
  config: T;
  /** The weights' bytes, or safetensors files already opened (Node: read lazily from disk). */
  weights: (T | SafetensorsFile)[];
  tokenizer: T;
  tokenizerConfig?: T;
}

/**
 * Parse, check and upload an HF-style model (Llama or Mixtral naming) with its tokenizer.json
 * (+ tokenizer_config.json) or a llama2.c tokenizer.bin.
 *
 * @example
 * const { model, info } = loadHfModel(
 *   backend,
 *   { config: configBytes, weights: [weightBytes], tokenizer: tokBytes },
 *   { config: 'config.json', weights: ['model.safetensors'], tokenizer: 'tokenizer.bin' },
 * );
 * info.architecture; // 'mixtral' for an MoE model
 * @throws ModelFormatError / TokenizerError / CompatibilityError naming the offending file.
 */
export function loadHfModel(
  backend: Backend,
  files: HfModelFiles<Bytes>,
  names: HfModelFiles<string>,
  options: LoadOptions = {},
): LoadedModel {
  if (files.weights.length !== names.weights.length || files.weights.length === 0) {
    throw new Error(`loadHfModel: ${files.weights.length} weight files but ${names.weights.length} names`);
  }
  const parsed = parseHfConfig(files.config, names.config);
  const shards = files.weights.map((b, i) =>
    b instanceof SafetensorsFile ? b : parseSafetensors(b, names.weights[i] as string),
  );
  const checkpoint = hfCheckpoint(parsed, shards, names.config);
  const tokenizer = loadHfFolderTokenizer(files, names, checkpoint.config.vocabSize);
  checkCompatible(checkpoint.config, tokenizer, { model: names.config, tokenizer: names.tokenizer });
  const model = LlamaModel.load(backend, checkpoint, options);
  return { model, tokenizer, info: modelInfo(checkpoint.config) };
}

/**
 * The tokenizer of an HF-style folder: tokenizer.json (its document token, EOS and PAD from
 * tokenizer_config.json and config.json; encoded ids checked against the `rows` of the embedding),
 * or a llama2.c tokenizer.bin.
 */
function loadHfFolderTokenizer(
  files: HfModelFiles<Bytes>,
  names: HfModelFiles<string>,
  rows: number,
): Tokenizer {
  if (!/\.json$/i.test(names.tokenizer)) return Llama2cTokenizer.load(files.tokenizer, names.tokenizer);
  const { tokenizerConfig } = files;
  return HfTokenizer.load(
    { tokenizer: files.tokenizer, config: files.config, ...(tokenizerConfig ? { tokenizerConfig } : {}) },
    names,
    { embedding: { rows, model: names.config } },
  );
}

/**
 * Load whichever model a set of files holds: an HF-style folder (config.json + model.safetensors +
 * tokenizer.json [+ tokenizer_config.json], or tokenizer.bin) or a llama2.c pair (see
 * `planModelFiles`). Files that are not part of the model (a reference.safetensors, texts) are
 * ignored.
 *
 * @example
 * const { model, format } = loadModelFiles(backend, [{ name: 'config.json', bytes }, …], { source: 'sparsebook-moe-micro' });
 * @throws ModelFormatError naming `source` when the set is incomplete or ambiguous, or the
 *   offending file when one is bad.
 */
export function loadModelFiles(
  backend: Backend,
  files: readonly { name: string; bytes: Bytes }[],
  options: { source?: string } = {},
): LoadedModel & { format: ModelFilePlan['format']; plan: ModelFilePlan } {
  const plan = planModelFiles(
    files.map((f) => f.name),
    options.source,
  );
  const byName = new Map(files.map((f) => [f.name, f.bytes]));
  const bytes = (name: string) => byName.get(name)!;
  const loaded =
    plan.format === 'hf'
      ? loadHfModel(
          backend,
          {
            config: bytes(plan.config),
            weights: plan.weights.map(bytes),
            tokenizer: bytes(plan.tokenizer),
            ...(plan.tokenizerConfig ? { tokenizerConfig: bytes(plan.tokenizerConfig) } : {}),
          },
          plan,
        )
      : loadLlama2c(backend, bytes(plan.model), plan.model, bytes(plan.tokenizer), plan.tokenizer);
  return { ...loaded, format: plan.format, plan };
}

/** What a UI shows about a model's shape. */
export function modelInfo(c: LlamaConfig): ModelInfo {
  return {
    architecture: c.moe ? 'mixtral' : 'llama',
    hfArchitecture: c.architecture ?? null,
    dim: c.dim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    headDim: c.headDim,
    hiddenDim: c.hiddenDim,
    vocabSize: c.vocabSize,
    seqLen: c.seqLen,
    parameters: countParameters(c),
    sharedClassifier: c.sharedClassifier,
    nExperts: c.moe?.nExperts ?? null,
    topK: c.moe?.topK ?? null,
    blockHookPoints: [...blockHookPoints(c)],
  };
}

export {
  InputError,
  ModelFormatError,
  TokenizerError,
  TextError,
  CompatibilityError,
  NonFiniteError,
} from './errors';
export type { InputErrorKind } from './errors';
export { parseLlama2c, readLlama2cHeader, type Llama2cCheckpoint } from './formats/llama2c';
export { writeLlama2c } from './formats/llama2c-write';
export {
  parseSafetensors,
  SafetensorsFile,
  MAX_SAFETENSORS_HEADER_BYTES,
  type SafetensorsTensorInfo,
} from './formats/safetensors';
export { writeSafetensors, type SafetensorsTensorInput } from './formats/safetensors-write';
export type { SafetensorsDtype } from './formats/safetensors-dtypes';
export {
  parseHfConfig,
  HF_ARCHITECTURES,
  type HfArchitecture,
  type HfModelConfig,
} from './formats/hf-config';
export { hfCheckpoint, hfTensorShapes, type HfCheckpoint } from './formats/hf-checkpoint';
export { writeHfCheckpoint, hfConfigJson, permuteRotary, type HfFiles } from './formats/hf-write';
export { planModelFiles, modelPlanFiles, type ModelFilePlan } from './formats/model-files';
export { Llama2cTokenizer, BOS, EOS } from './tokenizers/llama2c-tokenizer';
export { HfTokenizer, type HfTokenizerFiles, type HfTokenizerOptions } from './tokenizers/hf-tokenizer';
export type { Tokenizer, EncodeOptions } from './tokenizers/tokenizer';
export { checkCompatible } from './compatibility';
export {
  LlamaModel,
  LINEAR_WEIGHTS,
  type ForwardOptions,
  type LayerWeightOverrides,
  type LinearWeightName,
} from './model/llama';
export { KvCache } from './model/kv-cache';
export {
  MoeInterventionError,
  resolveMoeRouting,
  type MoeIntervention,
  type MoeInterventions,
} from './model/moe-interventions';
export * from './model/llama-config';
export * from './hooks';
export {
  splitDocuments,
  buildTokenStream,
  decodeUtf8Strict,
  END_OF_TEXT,
  NOTE_SINGLE_DOCUMENT,
} from './text';
export { evaluateLoss, perTokenLoss, type LossOptions, type LossResult } from './eval/loss';
export { generate, type GenerateOptions, type GenerateResult } from './generate';
export { XorShiftRng } from './random';
