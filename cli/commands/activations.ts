import path from 'node:path';
import { activationStats, lossWindows } from '../../analyses/interp';
import { buildTokenStream } from '../../runtime';
import { parseHookName } from '../../runtime/hooks';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const ACTIVATIONS_USAGE = `sparsebook activations --model DIR|M [--tokenizer T] --text F --hook H [--max-tokens N] [--near-zero e]
                       [--backend cpu|webgpu] [--json]

Statistics of one hook's activations (a full hook name, e.g. blocks.3.hook_resid_post or
blocks.1.mlp.hook_post) over the first N tokens of F (default 512): per channel mean |a|, max |a|,
excess kurtosis and the share near zero (|a| ≤ e, default 0.01); massive activations (|a| > 100 and
> 1000× the median |a|); outlier channels (some |a| ≥ 6); and the share of near-zero channels per
token (activation sparsity).`;

export async function activationsCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      hook: { type: 'string' },
      'max-tokens': { type: 'string' },
      'near-zero': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    ACTIVATIONS_USAGE,
  );
  const hook = required(f.hook, 'hook', ACTIVATIONS_USAGE);
  if (parseHookName(hook) === null)
    throw new UsageError(`--hook ${hook} is not a hook point (e.g. blocks.0.hook_resid_post)`);
  const textFile = required(f.text, 'text', ACTIVATIONS_USAGE);
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', 512);
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', ACTIVATIONS_USAGE),
    f.tokenizer,
  );
  try {
    const s = buildTokenStream(tokenizer, await readText(textFile), path.basename(textFile));
    const rows: Float32Array[] = [];
    let channels = 0;
    let tokens = 0;
    for (const w of lossWindows(s.tokens.subarray(0, maxTokens + 1), model.config.seqLen)) {
      const out = await model.forward(w.inputs, {
        hooks: {
          [hook]: async (t) => {
            if (t.shape.length !== 2)
              throw new UsageError(
                `--hook ${hook} has shape [${t.shape.join(', ')}]; the explorer needs [tokens, channels]`,
              );
            channels = t.shape[1]!;
            rows.push(await backend.read(t));
          },
        },
      });
      backend.dispose(out);
      tokens += w.inputs.length;
    }
    const all = new Float32Array(tokens * channels);
    rows.reduce((o, r) => (all.set(r, o), o + r.length), 0);
    const r = activationStats(all, tokens, channels, {
      nearZero: numberFlag(f['near-zero'], 'near-zero', 0.01),
    });
    if (f.json) print(JSON.stringify({ model: source, hook, ...r }));
    else {
      print(
        `${source}: ${hook} over ${tokens} tokens × ${channels} channels; median |a| ${r.medianAbs.toPrecision(3)}`,
      );
      const byMax = [...r.channelStats].sort((a, b) => b.maxAbs - a.maxAbs).slice(0, 8);
      print(
        `largest channels: ${byMax.map((c) => `${c.channel} (max ${c.maxAbs.toFixed(2)}, kurtosis ${c.kurtosis.toFixed(1)})`).join(', ')}`,
      );
      print(
        `outlier channels (|a| ≥ 6): ${r.outlierChannels.length ? r.outlierChannels.join(', ') : 'none'}`,
      );
      print(
        `massive activations: ${
          r.massive.length
            ? r.massive
                .slice(0, 8)
                .map((m) => `token ${m.token} ch ${m.channel}: ${m.value.toFixed(1)}`)
                .join('; ')
            : 'none'
        }`,
      );
      const mean = r.tokenSparsity.reduce((a, b) => a + b, 0) / tokens;
      print(
        `share of channels near zero (|a| ≤ ${r.nearZeroThreshold}) per token: mean ${(100 * mean).toFixed(1)} %`,
      );
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}
