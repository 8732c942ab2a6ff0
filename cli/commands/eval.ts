import { evaluateLoss } from '../../runtime';
import { backendFlag, parseFlags, required } from '../args';
import { MOE_INTERVENTION_FLAGS, MOE_INTERVENTION_USAGE, moeInterventionFlags } from '../moe-flags';
import { loadModel, readText } from '../session';
import path from 'node:path';

export const EVAL_USAGE = `sparsebook eval --model DIR|M [--tokenizer T] --text F [--backend cpu|webgpu] [--json]
                [--disable-expert L:E[,L:E…]] [--force-top-k K] [--router-temperature T] [--expert-bias b0,…]

Mean next-token cross-entropy over the documents of F (separated by <|endoftext|>), each encoded as
its document token (the tokenizer's BOS, else config.json's bos_token_id, else its EOS) + tokens
and evaluated in consecutive windows of the model's sequence length (as llama2.c does).

--model DIR   a model folder: config.json + model.safetensors + tokenizer.json
              [+ tokenizer_config.json] or tokenizer.bin (HF-style), or a llama2.c checkpoint .bin
              with its tokenizer .bin
--model M     a llama2.c checkpoint file, with --tokenizer T

${MOE_INTERVENTION_USAGE}`;

export async function evalCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
      ...MOE_INTERVENTION_FLAGS,
    },
    EVAL_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const textFile = required(f.text, 'text', EVAL_USAGE);
  const moe = moeInterventionFlags(f);
  const { backend, model, tokenizer, info, source } = await loadModel(
    backendKind,
    required(f.model, 'model', EVAL_USAGE),
    f.tokenizer,
  );
  const text = await readText(textFile);
  const t0 = performance.now();
  const r = await evaluateLoss(model, tokenizer, text, {
    fileName: path.basename(textFile),
    moe,
    onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rwindow ${done}/${total}`),
  });
  const seconds = (performance.now() - t0) / 1000;
  if (!f.json) process.stderr.write('\n');
  for (const note of r.notes) print(`note: ${note}`);
  const summary = {
    model: source,
    architecture: info.architecture,
    hf_architecture: info.hfArchitecture,
    loss: r.loss,
    perplexity: r.perplexity,
    tokens: r.tokens,
    backend: backend.kind,
    seconds,
    ...(moe ? { interventions: moe } : {}),
  };
  if (f.json) print(JSON.stringify(summary));
  else {
    print(
      `model       ${summary.model} (${info.hfArchitecture ?? `llama2.c ${info.architecture}`}${info.nExperts ? `, ${info.nExperts} experts, top-${info.topK}` : ''})`,
    );
    print(`backend     ${backend.description}`);
    print(`documents   ${r.documents}`);
    print(`tokens      ${r.tokens} predicted (${r.windows} windows)`);
    print(`loss        ${r.loss.toFixed(6)}`);
    print(`perplexity  ${r.perplexity.toFixed(4)}`);
    print(`seconds     ${seconds.toFixed(2)}`);
  }
  model.dispose();
  backend.destroy();
}
