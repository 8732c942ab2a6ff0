import { generate } from '../../runtime';
import { backendFlag, numberFlag, parseFlags, required } from '../args';
import { loadModel } from '../session';

export const GENERATE_USAGE = `sparsebook generate --model M|DIR [--tokenizer T] [--prompt P] --steps N [--temperature 0] [--seed S] [--backend cpu|webgpu]

Greedy (temperature 0) or temperature sampling with a KV cache; prints the text. M is a llama2.c
checkpoint (then --tokenizer is needed) or an HF-style folder holding its tokenizer.json
(or tokenizer.bin).`;

export async function generateCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      prompt: { type: 'string' },
      steps: { type: 'string' },
      temperature: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
    },
    GENERATE_USAGE,
  );
  const steps = numberFlag(required(f.steps, 'steps', GENERATE_USAGE), 'steps', 0);
  const { backend, model, tokenizer } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', GENERATE_USAGE),
    f.tokenizer,
  );
  const r = await generate(model, tokenizer, {
    prompt: f.prompt ?? '',
    steps,
    temperature: numberFlag(f.temperature, 'temperature', 0),
    seed: numberFlag(f.seed, 'seed', 42),
  });
  print(r.text);
  model.dispose();
  backend.destroy();
}
