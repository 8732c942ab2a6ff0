/**
 * Load a model from a set of files in the worker: the runtime picks the format from the file names
 * (an HF folder, or a llama2.c checkpoint + tokenizer) and the names shown are the files it used.
 */
import type { Backend } from '../kernels/backend';
import { loadModelFiles, type LoadedModel as RuntimeLoaded } from '../runtime/index';
import type { ModelFile } from './runtime-types';

export interface LoadedFiles extends RuntimeLoaded {
  modelName: string;
  tokenizerName: string;
}

/** Parse and upload `files` onto `backend`; errors name the files and what is missing. */
export function loadFiles(backend: Backend, files: readonly ModelFile[], source?: string): LoadedFiles {
  const loaded = loadModelFiles(backend, files, { source });
  const { plan } = loaded;
  const modelName = plan.format === 'hf' ? plan.weights.join(' + ') : plan.model;
  return { ...loaded, modelName, tokenizerName: plan.tokenizer };
}
