import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bestConfig } from '../../analyses/attention/best-config';
import { evaluateMask, sweepMasks, type MaskEvaluation } from '../../analyses/attention/mask-sweep';
import { MASK_FAMILIES, maskFamily } from '../../analyses/attention/masks';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const ATTENTION_USAGE = `sparsebook attention --model DIR|M [--tokenizer T] --text F (--mask FAMILY --budget B | --sweep --budgets B1,B2,… [--families A,B,…] [--export FILE --max-loss-increase X]) [--max-windows N] [--calibration F2] [--backend cpu|webgpu] [--json]

Loss of the model on F with a sparse-attention mask applied in every layer, next to the dense
loss, with density (share of causal entries kept), recall (attention mass kept), attention FLOPs
(4·headDim per kept entry per head, plus the cost of selecting the entries) and resident KV-cache
bytes (eviction families and mustafar's sparse K/V shrink it). Oracle families (topk,
block-permuted, moa: they need the full scores or the window's own attention) are marked *.
FAMILY is one of ${MASK_FAMILIES.map((f) => f.id).join(', ')}. B is a share of causal entries in
(0, 1]; for topk, window-sink and kv-norm-evict a whole number above 1 is keys kept per query.
channel calibrates on --calibration F2; without it, on the first tenth of F's documents, which are
then left out of every score. --max-windows N scores only the longest prefix of F that fits N
windows. --sweep measures every family × budget; --export writes the cheapest deployable
(non-oracle) configuration within --max-loss-increase X (nats) as JSON. With --json the last line is one JSON object.`;

const list = (v: string | undefined) => (v ?? '').split(',').filter((s) => s.trim() !== '');

export async function attentionCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      mask: { type: 'string' },
      budget: { type: 'string' },
      sweep: { type: 'boolean' },
      budgets: { type: 'string' },
      families: { type: 'string' },
      export: { type: 'string' },
      'max-loss-increase': { type: 'string' },
      'max-windows': { type: 'string' },
      calibration: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    ATTENTION_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const modelArg = required(f.model, 'model', ATTENTION_USAGE);
  const textFile = required(f.text, 'text', ATTENTION_USAGE);
  const maxWindows = numberFlag(f['max-windows'], 'max-windows', Infinity);
  if (!(maxWindows >= 1)) throw new UsageError(`--max-windows must be at least 1, got ${f['max-windows']}`);
  const familyOf = (id: string) => {
    try {
      return maskFamily(id.trim()).id;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  const budgetOf = (s: string, flag: string) => {
    const b = Number(s);
    if (!Number.isFinite(b) || b <= 0)
      throw new UsageError(`--${flag}: a budget is a number > 0, got '${s}'`);
    return b;
  };
  let plan: { kind: 'one'; family: ReturnType<typeof familyOf>; budget: number } | { kind: 'sweep' };
  let families: ReturnType<typeof familyOf>[] = [];
  let budgets: number[] = [];
  let maxLoss = NaN;
  if (f.sweep) {
    budgets = list(f.budgets).map((b) => budgetOf(b, 'budgets'));
    if (budgets.length === 0) throw new UsageError(`--sweep needs --budgets B1,B2,…\n\n${ATTENTION_USAGE}`);
    families = f.families ? list(f.families).map(familyOf) : MASK_FAMILIES.map((m) => m.id);
    if (f.export !== undefined) {
      maxLoss = numberFlag(f['max-loss-increase'], 'max-loss-increase', NaN);
      if (!(maxLoss >= 0)) throw new UsageError('--export needs --max-loss-increase X (nats, ≥ 0)');
    }
    plan = { kind: 'sweep' };
  } else {
    const family = familyOf(required(f.mask, 'mask', ATTENTION_USAGE));
    const budget = budgetOf(required(f.budget, 'budget', ATTENTION_USAGE), 'budget');
    if (budget > 1 && maskFamily(family).budget !== 'share-or-keys') {
      throw new UsageError(`--budget for ${family} is a share of causal entries in (0, 1]; got ${budget}`);
    }
    if (f.export !== undefined) throw new UsageError('--export goes with --sweep');
    plan = { kind: 'one', family, budget };
  }
  const text = await readText(textFile);
  const calibrationText = f.calibration !== undefined ? await readText(f.calibration) : undefined;

  const { backend, model, tokenizer, source } = await loadModel(backendKind, modelArg, f.tokenizer);
  try {
    const t0 = performance.now();
    const common = { maxWindows, calibrationText, fileName: path.basename(textFile) };
    const progress = ({ done, total }: { done: number; total: number }) =>
      process.stderr.write(`\r${plan.kind === 'sweep' ? 'point' : 'window'} ${done}/${total}`);
    const onProgress = f.json ? undefined : progress;
    if (plan.kind === 'one') {
      const r = await evaluateMask(model, tokenizer, text, plan.family, plan.budget, {
        ...common,
        onProgress,
      });
      if (!f.json) process.stderr.write('\n');
      const seconds = (performance.now() - t0) / 1000;
      const { per_head, ...summary } = r;
      if (f.json) {
        print(JSON.stringify({ model: source, backend: backend.kind, seconds, ...summary, per_head }));
      } else {
        print(`${source} on ${backend.description}, ${seconds.toFixed(2)} s`);
        print(
          `${r.windows} windows, ${r.tokens} tokens${r.calibration ? `; channel calibration: ${r.calibration}` : ''}`,
        );
        printPoints([r], r.dense_loss, print);
      }
      return;
    }
    const s = await sweepMasks(model, tokenizer, text, { ...common, families, budgets, onProgress });
    if (!f.json) process.stderr.write('\n');
    const seconds = (performance.now() - t0) / 1000;
    const best = f.export !== undefined ? bestConfig(s, maxLoss) : undefined;
    if (f.export !== undefined) await writeFile(f.export, JSON.stringify(best, null, 2) + '\n');
    if (f.json) {
      print(
        JSON.stringify({
          model: source,
          backend: backend.kind,
          seconds,
          dense_loss: s.denseLoss,
          windows: s.windows,
          tokens: s.tokens,
          calibration: s.calibration,
          points: s.evaluations.map(({ per_head: _, ...p }) => p),
          best: best ?? null,
          export: f.export ?? null,
        }),
      );
    } else {
      print(`${source} on ${backend.description}, ${seconds.toFixed(2)} s`);
      print(
        `${s.windows} windows, ${s.tokens} tokens${s.calibration ? `; channel calibration: ${s.calibration}` : ''}`,
      );
      printPoints(s.evaluations, s.denseLoss, print);
      if (f.export !== undefined) {
        print(
          best
            ? `best deployable within +${maxLoss} (fewest attention FLOPs with selection, oracles left out): ${best.family} at budget ${best.budget} (density ${best.density.toFixed(4)}, +${best.loss_increase.toFixed(4)}) written to ${f.export}`
            : `no deployable (non-oracle) point within +${maxLoss}; wrote null to ${f.export}`,
        );
      }
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}

function printPoints(rows: readonly MaskEvaluation[], dense: number, print: (line: string) => void): void {
  print(`dense loss ${dense.toFixed(4)}`);
  print('family          budget  density  recall    loss   +loss  flops/dense  kv/dense  (* oracle)');
  for (const r of rows) {
    print(
      `${r.family.padEnd(15)} ${String(r.budget).padStart(6)} ${r.density.toFixed(4).padStart(8)} ${r.recall.toFixed(4).padStart(7)} ${r.loss.toFixed(4).padStart(7)} ${r.loss_increase.toFixed(4).padStart(7)} ${(r.attn_flops / r.attn_flops_dense).toFixed(3).padStart(12)} ${(r.kv_bytes / r.kv_bytes_dense).toFixed(3).padStart(9)}${r.oracle ? '  *' : ''}`,
    );
  }
}
