/** stories260K with its tok512 tokenizer from ../shared, loaded on a backend (CPU by default). */
import type { Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadLlama2c } from '../../runtime';
import { readShared, STORIES260K, TOK512 } from './shared-paths';

export function loadStories260K(backend: Backend = createCpuBackend()): ReturnType<typeof loadLlama2c> {
  return loadLlama2c(backend, readShared(STORIES260K), 'stories260K.bin', readShared(TOK512), 'tok512.bin');
}
