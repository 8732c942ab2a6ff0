import { directLogitAttribution } from '../../analyses/interp';
import { backendFlag, numberFlag, parseFlags, required } from '../args';
import { loadModel } from '../session';
import { tokenArg } from '../token-arg';

export const DLA_USAGE = `sparsebook dla --model DIR|M [--tokenizer T] --prompt TEXT --answer TOK --wrong TOK [--position P]
               [--top N] [--backend cpu|webgpu] [--json]

Direct logit attribution of logit(answer) − logit(wrong) at the last position (or --position) of the
prompt (which starts with the document token): the final residual stream split into the embeddings,
each attention head's output (each layer's attention output where a post-attention norm makes
heads non-additive), attention biases and each MLP/MoE output, each projected on the answer − wrong
unembedding direction with the final norm's scale frozen. The parts sum to the logit difference
before any final soft-cap. TOK is a single token's text or #ID. --top lists the N largest parts.`;

export async function dlaCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      prompt: { type: 'string' },
      answer: { type: 'string' },
      wrong: { type: 'string' },
      position: { type: 'string' },
      top: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    DLA_USAGE,
  );
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', DLA_USAGE),
    f.tokenizer,
  );
  try {
    const tokens = tokenizer.encode(required(f.prompt, 'prompt', DLA_USAGE), { source: '--prompt' });
    const answer = tokenArg(tokenizer, required(f.answer, 'answer', DLA_USAGE), 'answer');
    const wrong = tokenArg(tokenizer, required(f.wrong, 'wrong', DLA_USAGE), 'wrong');
    const position = f.position === undefined ? undefined : numberFlag(f.position, 'position', 0);
    const r = await directLogitAttribution(model, tokens, { answer, wrong, position });
    if (f.json)
      print(JSON.stringify({ model: source, tokens: Array.from(tokens, (t) => tokenizer.piece(t)), ...r }));
    else {
      print(
        `${source}: logit(${JSON.stringify(tokenizer.piece(answer))}) − logit(${JSON.stringify(tokenizer.piece(wrong))}) = ${r.logitDiff.toFixed(4)} at position ${r.position}; parts sum to ${r.total.toFixed(4)}`,
      );
      const top = numberFlag(f.top, 'top', 12);
      for (const p of [...r.parts].sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, top)) {
        print(`${p.name.padEnd(16)} ${p.value >= 0 ? '+' : ''}${p.value.toFixed(4)}`);
      }
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}
