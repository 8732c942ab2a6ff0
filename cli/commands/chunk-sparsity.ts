import path from 'node:path';
import { collectRoutingLog, expertChunkSparsity, neuronChunkSparsity } from '../../analyses/moe';
import { buildTokenStream } from '../../runtime';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const CHUNK_SPARSITY_USAGE = `sparsebook chunk-sparsity --model DIR|M [--tokenizer T] --text F [--threshold t] [--chunks 1,2,4,…]
                         [--max-tokens N] [--backend cpu|webgpu] [--json]

Chunk-level sparsity (BlockFFN) over the tokens of F: TLS = share of units a token leaves unused,
CLS(L) = 1 − mean over chunks of L consecutive tokens (inside one document) of the share of units
any token of the chunk uses. Units are experts for a mixture-of-experts model and FFN neurons for a
dense one, where a neuron is active when |mlp.hook_post| > t (--threshold, default 0.05). --chunks
lists the chunk lengths (default 1, 2, 4, …, 64). With --json, one JSON object is printed last.`;

export async function chunkSparsityCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      threshold: { type: 'string' },
      chunks: { type: 'string' },
      'max-tokens': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    CHUNK_SPARSITY_USAGE,
  );
  const textFile = required(f.text, 'text', CHUNK_SPARSITY_USAGE);
  const chunks = (f.chunks ?? '1,2,4,8,16,32,64').split(',').map((s) => {
    const n = Number(s);
    if (!(Number.isInteger(n) && n >= 1))
      throw new UsageError(`--chunks wants positive integers, got '${s}'`);
    return n;
  });
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', Infinity);
  const threshold = numberFlag(f.threshold, 'threshold', 0.05);
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', CHUNK_SPARSITY_USAGE),
    f.tokenizer,
  );
  try {
    const name = path.basename(textFile);
    const s = buildTokenStream(tokenizer, await readText(textFile), name);
    const onProgress = f.json
      ? undefined
      : ({ done, total }: { done: number; total: number }) =>
          process.stderr.write(`\rwindow ${done}/${total}`);
    let out: {
      units: string;
      tokens: number;
      layers: { layer: number; tls: number; curve: { chunk: number; cls: number; chunks: number }[] }[];
    };
    if (model.config.moe) {
      if (f.threshold !== undefined)
        throw new UsageError(
          `--threshold is for dense models; ${source} routes to experts, which are used or not`,
        );
      const log = await collectRoutingLog(
        model,
        [{ domain: name, tokens: s.tokens, documentStarts: s.documentStarts }],
        {
          maxTokensPerDomain: maxTokens,
          onProgress,
        },
      );
      const longest = Math.max(...chunks.filter((c) => c <= log.tokenId.length));
      out = {
        units: `experts (${model.config.moe.nExperts}, top-${model.config.moe.topK})`,
        tokens: log.tokenId.length,
        layers: log.layers.map((_, l) => ({
          layer: log.layerIds[l]!,
          ...expertChunkSparsity(
            log,
            l,
            chunks.filter((c) => c <= longest),
          ),
        })),
      };
    } else {
      const r = await neuronChunkSparsity(model, s.tokens, s.documentStarts, {
        threshold,
        chunks,
        maxTokens,
        onProgress,
      });
      out = { units: `FFN neurons (${r.hiddenDim}, |a| > ${threshold})`, tokens: r.tokens, layers: r.layers };
    }
    if (!f.json) process.stderr.write('\n');
    if (f.json) print(JSON.stringify({ model: source, ...out }));
    else {
      print(`${source}: ${out.units}, ${out.tokens} tokens`);
      for (const l of out.layers) {
        print(
          `layer ${l.layer}: TLS ${l.tls.toFixed(3)}  ${l.curve.map((c) => `CLS(${c.chunk}) ${c.cls.toFixed(3)}`).join('  ')}`,
        );
      }
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}
