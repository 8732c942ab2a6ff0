/**
 * The load-time matmul autotune (runtime/model/autotune.ts `autotuneLoaded`): nothing on the CPU
 * backend; on a GPU a failure while tuning is reported and the load goes on with the fixed rule.
 * (The tuning itself runs on a real model in test/browser/autotune-model.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { autotuneLoaded, LOAD_TUNE_TOKENS } from '../../runtime/model/autotune';
import type { LlamaModel } from '../../runtime/model/llama';
import { loadStories260K } from '../helpers/stories260k';

describe('autotuneLoaded', () => {
  it('does nothing on the CPU backend', async () => {
    const { model, tokenizer } = loadStories260K();
    const errors: unknown[] = [];
    expect(await autotuneLoaded(model, tokenizer.documentToken, (e) => errors.push(e))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('on a GPU, runs one window of the document token and reports a failure instead of throwing', async () => {
    const seen: number[][] = [];
    const gpuModel = {
      backend: {
        kind: 'webgpu',
        ctx: { device: { adapterInfo: { vendor: 'nvidia', architecture: 'hopper' } } },
      },
      config: { seqLen: 2048 },
      forward: async (tokens: readonly number[]) => {
        seen.push([...tokens]);
        throw new Error('device lost while tuning');
      },
    } as unknown as LlamaModel;
    const errors: unknown[] = [];
    expect(await autotuneLoaded(gpuModel, 1, (e) => errors.push(e))).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(new Array(LOAD_TUNE_TOKENS).fill(1));
    expect(String(errors[0])).toMatch(/device lost while tuning/);
  });
});
