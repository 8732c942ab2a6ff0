import path from 'node:path';
import {
  collectRoutingLog,
  EXPERT_IMPORTANCE,
  expertImportance,
  expertPruningSweep,
  type ExpertImportance,
} from '../../analyses/moe';
import { buildTokenStream } from '../../runtime';
import { backendFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const MOE_PRUNE_USAGE = `sparsebook moe-prune --model DIR|M [--tokenizer T] --calibration F --text F [--by frequency|weight]
                    [--drop 0,1,2,…] [--backend cpu|webgpu] [--json]

Expert pruning swept with a loss curve: each layer's experts are ranked by their importance on the
--calibration text — how often the router chooses them (frequency, default) or the gate weight they
receive (weight) — and for each count in --drop (default 0, 1, …, E − k) the least important experts
of every layer are disabled (the router chooses among the rest and renormalises their gates as
the model does); the loss on --text is measured for each. Keep the two texts apart so the ranking is
not tuned on the text it is scored on. With --json, one JSON object is printed as the last line.`;

export async function moePruneCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      calibration: { type: 'string' },
      text: { type: 'string' },
      by: { type: 'string' },
      drop: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    MOE_PRUNE_USAGE,
  );
  const by = (f.by ?? 'frequency') as ExpertImportance;
  if (!EXPERT_IMPORTANCE.includes(by))
    throw new UsageError(`--by must be ${EXPERT_IMPORTANCE.join(' or ')}, got '${f.by}'`);
  const calibrationFile = required(f.calibration, 'calibration', MOE_PRUNE_USAGE);
  const textFile = required(f.text, 'text', MOE_PRUNE_USAGE);
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', MOE_PRUNE_USAGE),
    f.tokenizer,
  );
  try {
    const moe = model.config.moe;
    if (!moe)
      throw new UsageError(`${source} is a dense model; expert pruning needs a mixture-of-experts model`);
    const drops = f.drop
      ? f.drop.split(',').map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n)) throw new UsageError(`--drop wants integers, got '${s}'`);
          return n;
        })
      : Array.from({ length: moe.nExperts - moe.topK + 1 }, (_, i) => i);
    const calName = path.basename(calibrationFile);
    const cal = buildTokenStream(tokenizer, await readText(calibrationFile), calName);
    const log = await collectRoutingLog(model, [
      { domain: calName, tokens: cal.tokens, documentStarts: cal.documentStarts },
    ]);
    const importance = expertImportance(log, by);
    const curve = await expertPruningSweep(model, tokenizer, await readText(textFile), importance, drops, {
      fileName: path.basename(textFile),
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rpoint ${done}/${total}`),
    });
    if (!f.json) process.stderr.write('\n');
    const out = {
      model: source,
      by,
      calibration: calName,
      text: path.basename(textFile),
      importance,
      points: curve,
    };
    if (f.json) print(JSON.stringify(out));
    else {
      print(`${source}: experts ranked by ${by} on ${calName}, loss on ${out.text}`);
      for (const p of curve) {
        print(
          `drop ${p.dropped} per layer (keep ${p.kept}): loss ${p.loss.toFixed(5)}${p.dropped > 0 ? `  dropped ${p.disabled.map((d, l) => `L${l}:${d.join(',')}`).join(' ')}` : ''}`,
        );
      }
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}
