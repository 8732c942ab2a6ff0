/**
 * Generate cell: continue a prompt with the model (greedy or sampled, seeded), streaming tokens
 * into the cell's progress as they come.
 */
import { option, optionSchema } from '../../../analyses/options';
import type { GenerateSummary } from '../../../workers/runtime-types';
import { defineCellKind, type TypedResult } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';

export const MAX_STEPS = 512;

export interface GenerateMeta extends GenerateSummary {
  prompt: string;
}

/** The prompt and how to continue it (temperature 0: greedy). */
export const GENERATE_PARAMS = optionSchema({
  prompt: option.string('Call me Ishmael.'),
  steps: option.integer(64, { min: 1, max: MAX_STEPS }),
  temperature: option.number(0, { min: 0 }),
  seed: option.integer(42),
});

export const generateKind = defineCellKind({
  kind: 'generate',
  title: 'Generate',
  description: 'Continue a prompt (greedy or sampled with a seed)',
  params: GENERATE_PARAMS,
  inputs: [MODEL_INPUT],
  async run({ params, inputs, signal, services, progress }): Promise<TypedResult<GenerateMeta>> {
    const { prompt, steps, temperature, seed } = params;
    let text = '';
    const { summary } = await services.runtime.generate(
      { prompt, steps, temperature, seed },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (t) => {
          text += t.text;
          progress((t.index + 1) / steps, `${t.index + 1} tokens: …${text.slice(-40)}`);
        },
      },
    );
    return { meta: { ...summary, prompt }, tables: {} };
  },
});
