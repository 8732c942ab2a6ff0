/**
 * Runtime facade: load a llama2.c model and tokenizer in one call, plus re-exports of the pieces
 * apps, workers and the CLI use.
 */
import type { Backend } from '../kernels/backend';
import { checkCompatible } from './compatibility';
import { parseLlama2c } from './formats/llama2c';
import { LlamaModel } from './model/llama';
import { countParameters } from './model/llama-config';
import { Llama2cTokenizer } from './tokenizers/llama2c-tokenizer';

/** Summary of a loaded model for display. */
export interface ModelInfo {
  architecture: 'llama';
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
}

export interface LoadedModel {
  model: LlamaModel;
  tokenizer: Llama2cTokenizer;
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
): LoadedModel {
  const checkpoint = parseLlama2c(modelBytes, modelFileName);
  const tokenizer = Llama2cTokenizer.load(tokBytes, tokFileName);
  checkCompatible(checkpoint.config, tokenizer, { model: modelFileName, tokenizer: tokFileName });
  const c = checkpoint.config;
  const info: ModelInfo = {
    architecture: 'llama',
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
  };
  return { model: LlamaModel.load(backend, checkpoint), tokenizer, info };
}

export { InputError, ModelFormatError, TokenizerError, TextError, CompatibilityError } from './errors';
export type { InputErrorKind } from './errors';
export { parseLlama2c, readLlama2cHeader, type Llama2cCheckpoint } from './formats/llama2c';
export { writeLlama2c } from './formats/llama2c-write';
export { Llama2cTokenizer, BOS, EOS } from './tokenizers/llama2c-tokenizer';
export { checkCompatible } from './compatibility';
export { LlamaModel, type ForwardOptions } from './model/llama';
export { KvCache } from './model/kv-cache';
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
