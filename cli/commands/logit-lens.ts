import path from 'node:path';
import { logitLens } from '../../analyses/interp';
import { buildTokenStream } from '../../runtime';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const LOGIT_LENS_USAGE = `sparsebook logit-lens --model DIR|M [--tokenizer T] --text F [--max-windows N] [--backend cpu|webgpu] [--json]

The logit lens: the residual stream at every layer boundary (0 = after the embeddings, L = after
the last block, which is the model's output) read through the final norm and unembedding, over the
loss windows of F. Per boundary: KL(final ‖ layer) in nats, the share of positions whose top-1
token equals the final top-1, and the next token's mean loss, probability and rank. With --json,
the last line is {"layers":[{"layer":…,"kl_to_final":…,"top1_agreement":…,"next_token_loss":…},…]}
with the final layer last.`;

export async function logitLensCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      'max-windows': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    LOGIT_LENS_USAGE,
  );
  const textFile = required(f.text, 'text', LOGIT_LENS_USAGE);
  const maxWindows = numberFlag(f['max-windows'], 'max-windows', Infinity);
  if (!(maxWindows >= 1)) throw new UsageError(`--max-windows must be at least 1, got ${f['max-windows']}`);
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', LOGIT_LENS_USAGE),
    f.tokenizer,
  );
  try {
    const name = path.basename(textFile);
    const s = buildTokenStream(tokenizer, await readText(textFile), name);
    for (const note of s.notes) print(`note: ${name}: ${note}`);
    const r = await logitLens(model, s.tokens, {
      maxWindows,
      maxPositions: 0,
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rwindow ${done}/${total}`),
    });
    if (!f.json) process.stderr.write('\n');
    if (f.json)
      print(JSON.stringify({ model: source, positions: r.positions, windows: r.windows, layers: r.layers }));
    else {
      print(`${source}: logit lens over ${r.positions} positions (${r.windows} windows)`);
      print('layer  KL→final  top-1 agree  next loss  next prob  next rank');
      for (const l of r.layers) {
        print(
          `${String(l.layer).padStart(5)}  ${l.kl_to_final.toFixed(4).padStart(8)}  ${(100 * l.top1_agreement).toFixed(1).padStart(9)} %  ${l.next_token_loss.toFixed(4).padStart(9)}  ${l.next_token_prob.toFixed(4).padStart(9)}  ${l.next_token_rank.toFixed(1).padStart(9)}`,
        );
      }
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}
