import path from 'node:path';
import { collectRoutingLog, simulateAuxFree, type AuxFreeResult } from '../../analyses/moe';
import { buildTokenStream, evaluateLoss } from '../../runtime';
import type { MoeInterventions } from '../../runtime/model/moe-interventions';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const MOE_BALANCE_USAGE = `sparsebook moe-balance --model DIR|M [--tokenizer T] --text F --method aux-free [--rate u]
                      [--step-tokens B] [--epochs N] [--max-tokens N] [--backend cpu|webgpu] [--json]

Auxiliary-loss-free load balancing (DeepSeek), simulated on the model's router probabilities over
the tokens of F: a per-expert bias b is added to the router probabilities only when choosing the
top-k, and after every B tokens (default 64) b_i ← b_i + u·sign(mean load − load_i) (u default
0.001; --epochs passes over the tokens, default 1). Prints, per layer and averaged, max/mean expert
load before and with the final bias, the share of token→expert assignments the bias moves, the
max/mean load of every step (the curve), and the loss on F without and with the biased routing
applied in the forward pass. --max-tokens routes only the first N tokens for the simulation. With
--json, one JSON object is printed as the last line.`;

export async function moeBalanceCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      method: { type: 'string' },
      rate: { type: 'string' },
      'step-tokens': { type: 'string' },
      epochs: { type: 'string' },
      'max-tokens': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    MOE_BALANCE_USAGE,
  );
  const method = required(f.method, 'method', MOE_BALANCE_USAGE);
  if (method !== 'aux-free') {
    throw new UsageError(`--method ${method} is not a balancing method here; the one simulated is aux-free`);
  }
  const textFile = required(f.text, 'text', MOE_BALANCE_USAGE);
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', Infinity);
  if (!(maxTokens >= 1)) throw new UsageError(`--max-tokens must be at least 1, got ${f['max-tokens']}`);
  const options = {
    rate: numberFlag(f.rate, 'rate', 0.001),
    stepTokens: numberFlag(f['step-tokens'], 'step-tokens', 64),
    epochs: numberFlag(f.epochs, 'epochs', 1),
  };
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', MOE_BALANCE_USAGE),
    f.tokenizer,
  );
  try {
    const name = path.basename(textFile);
    const text = await readText(textFile);
    const stream = buildTokenStream(tokenizer, text, name);
    const progress = (what: string) =>
      f.json
        ? undefined
        : ({ done, total }: { done: number; total: number }) =>
            process.stderr.write(`\r${what} ${done}/${total}`);
    const log = await collectRoutingLog(
      model,
      [{ domain: name, tokens: stream.tokens, documentStarts: stream.documentStarts }],
      { maxTokensPerDomain: maxTokens, onProgress: progress('routing window') },
    );
    const sim = simulateAuxFree(log, options);
    const biased: MoeInterventions = {
      layers: Object.fromEntries(sim.layers.map((l, i) => [log.layerIds[i]!, { expertBias: l.bias }])),
    };
    const before = await evaluateLoss(model, tokenizer, text, {
      fileName: name,
      onProgress: progress('\nloss window'),
    });
    const after = await evaluateLoss(model, tokenizer, text, {
      fileName: name,
      moe: biased,
      onProgress: progress('\nbiased loss window'),
    });
    if (!f.json) process.stderr.write('\n');
    const out = {
      model: source,
      method,
      tokens: log.tokenId.length,
      rate: sim.rate,
      step_tokens: sim.stepTokens,
      epochs: sim.epochs,
      layers: sim.layers.map((l, i) => ({
        layer: log.layerIds[i],
        bias: l.bias,
        max_over_mean_before: l.maxOverMeanBefore,
        max_over_mean_after: l.maxOverMeanAfter,
        moved: l.moved,
        steps: l.steps,
      })),
      max_over_mean_before: sim.maxOverMeanBefore,
      max_over_mean_after: sim.maxOverMeanAfter,
      moved: sim.moved,
      loss_before: before.loss,
      loss_after: after.loss,
    };
    if (f.json) print(JSON.stringify(out));
    else printReadable(sim, out, print);
  } finally {
    model.dispose();
    backend.destroy();
  }
}

function printReadable(
  sim: AuxFreeResult,
  out: { model: string; tokens: number; loss_before: number; loss_after: number },
  print: (line: string) => void,
): void {
  print(
    `${out.model}: aux-free balancing over ${out.tokens} tokens, u = ${sim.rate}, ${sim.stepTokens} tokens per step, ${sim.epochs} epoch(s)`,
  );
  for (const l of sim.layers) {
    print(
      `layer ${l.layer}: max/mean load ${l.maxOverMeanBefore.toFixed(3)} → ${l.maxOverMeanAfter.toFixed(3)}, ${(100 * l.moved).toFixed(1)} % of assignments moved; bias ${l.bias.map((b) => b.toFixed(3)).join(' ')}`,
    );
  }
  print(
    `mean over layers: max/mean load ${sim.maxOverMeanBefore.toFixed(3)} → ${sim.maxOverMeanAfter.toFixed(3)}, moved ${(100 * sim.moved).toFixed(1)} %`,
  );
  print(
    `loss ${out.loss_before.toFixed(5)} → ${out.loss_after.toFixed(5)} with the biased routing (${out.loss_after - out.loss_before >= 0 ? '+' : ''}${(out.loss_after - out.loss_before).toFixed(5)})`,
  );
}
