/**
 * Load a model from a set of files in the worker: picks the format from the file names. A llama2.c
 * pair is a checkpoint and a tokenizer (the one whose name contains "tok"); HF folders are handled
 * by the runtime's `loadModelFiles` once it exists (issue 4).
 */
import type { Backend } from '../kernels/backend';
import { CompatibilityError, loadLlama2c, type LoadedModel as RuntimeLoaded } from '../runtime/index';
import type { ModelFile } from './runtime-types';

export interface LoadedFiles extends RuntimeLoaded {
  modelName: string;
  tokenizerName: string;
}

/** Parse and upload `files` onto `backend`; errors name the files and what is missing. */
export function loadFiles(backend: Backend, files: readonly ModelFile[]): LoadedFiles {
  const names = files.map((f) => f.name).join(', ') || '(no files)';
  const tokenizers = files.filter((f) => /tok/i.test(f.name));
  const models = files.filter((f) => !/tok/i.test(f.name));
  if (files.length !== 2 || tokenizers.length !== 1 || models.length !== 1) {
    throw new CompatibilityError(
      names,
      'expected a llama2.c model (.bin) and its tokenizer (a .bin whose name contains "tok")',
    );
  }
  const [model] = models as [ModelFile];
  const [tok] = tokenizers as [ModelFile];
  const loaded = loadLlama2c(backend, model.bytes, model.name, tok.bytes, tok.name);
  return { ...loaded, modelName: model.name, tokenizerName: tok.name };
}
