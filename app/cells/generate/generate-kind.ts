/**
 * Generate cell: continue a prompt with the model (greedy or sampled, seeded), streaming tokens
 * into the cell's progress as they come.
 */
import type { GenerateSummary, ModelHandle } from '../../../workers/runtime-types';
import type { CellKind } from '../cell-kind';

/** Largest number of new tokens a cell asks for (the model's context may stop it earlier). */
export const MAX_STEPS = 512;

export interface GenerateMeta extends GenerateSummary {
  prompt: string;
}

export const generateKind: CellKind = {
  kind: 'generate',
  title: 'Generate',
  description: 'Continue a prompt (greedy or sampled with a seed)',
  defaults: () => ({ prompt: 'Call me Ishmael.', steps: 64, temperature: 0, seed: 42 }),
  inputs: [{ role: 'model', label: 'Model', kinds: ['model'] }],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const prompt = String(cell.params.prompt ?? '');
    const steps = Number(cell.params.steps);
    if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS)
      throw new RangeError(`steps must be an integer in [1, ${MAX_STEPS}], got ${cell.params.steps}`);
    let text = '';
    const { summary } = await services.runtime.generate(
      { prompt, steps, temperature: Number(cell.params.temperature), seed: Number(cell.params.seed) },
      {
        signal,
        model: model.key,
        onProgress: (t) => {
          text += t.text;
          progress((t.index + 1) / steps, `${t.index + 1} tokens: …${text.slice(-40)}`);
        },
      },
    );
    const meta: GenerateMeta = { ...summary, prompt };
    return { meta: { ...meta }, tables: {} };
  },
};
