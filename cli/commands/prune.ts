import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  evaluatePruned,
  evaluateTokens,
  checkPrunedExport,
  exportPruned,
  parsePattern,
  patternName,
  checkPruningOptions,
  preparePruningText,
  prunedFolder,
  PRUNING_METHODS,
  pruneModel,
  sensitivityScan,
  type PruningMethod,
} from '../../analyses/pruning';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readBytes, readText } from '../session';

export const PRUNE_USAGE = `sparsebook prune --model DIR|M [--tokenizer T] --text F --method magnitude|wanda|sparsegpt --pattern unstructured|N:M|channels|heads --sparsity S [--calibration F2] [--calibration-windows N] [--max-windows N] [--allocation uniform|sensitivity] [--global] [--backend cpu|webgpu] [--out DIR] [--json]

One-shot pruning of every block's linear layers (wq, wk, wv, wo, w1, w2, w3), then the loss on
held-out text next to the dense loss, with next-token agreement (share of positions whose argmax
equals the dense model's) and the non-zeros kept. S is the share removed: of the weights
(unstructured), FFN channels (channels) or query heads (heads); N:M keeps N of every M inputs and
ignores S. Wanda and SparseGPT calibrate on --calibration F2 (first N windows, default 8); without
it, on the first tenth of F's documents, which are then left out of the score (the output says
which). --global compares magnitudes across all blocks; --allocation sensitivity gives less
sensitive blocks more sparsity, tuned on the calibration text (both: unstructured only; --global:
magnitude only, not with --allocation sensitivity). --out DIR writes a folder Sparsebook reopens
(--model DIR): config.json + model.safetensors + the tokenizer (HF) and masks.safetensors, and
llama2c/model.bin + llama2c/tokenizer.bin when the tokenizer is a llama2.c one (dense
Llama-architecture models only). A model
without w3 (GPT-2, GPT-NeoX) prunes the six it has; an MoE model prunes its attention only (the
experts stay dense). With --json the last line is one JSON object.`;

export async function pruneCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      method: { type: 'string' },
      pattern: { type: 'string' },
      sparsity: { type: 'string' },
      calibration: { type: 'string' },
      'calibration-windows': { type: 'string' },
      'max-windows': { type: 'string' },
      allocation: { type: 'string' },
      global: { type: 'boolean' },
      backend: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    PRUNE_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const modelArg = required(f.model, 'model', PRUNE_USAGE);
  const textFile = required(f.text, 'text', PRUNE_USAGE);
  const method = required(f.method, 'method', PRUNE_USAGE) as PruningMethod;
  if (!PRUNING_METHODS.includes(method)) {
    throw new UsageError(`--method must be one of ${PRUNING_METHODS.join(', ')}, got '${method}'`);
  }
  let pattern;
  try {
    pattern = parsePattern(required(f.pattern, 'pattern', PRUNE_USAGE));
  } catch (e) {
    throw new UsageError(`--pattern: ${(e as Error).message}`);
  }
  const sparsity = numberFlag(f.sparsity, 'sparsity', pattern.kind === 'nm' ? 0 : NaN);
  if (!(sparsity >= 0 && sparsity <= 1))
    throw new UsageError(`--sparsity must be in [0, 1], got ${f.sparsity}`);
  const allocation = f.allocation ?? 'uniform';
  if (allocation !== 'uniform' && allocation !== 'sensitivity') {
    throw new UsageError(`--allocation must be uniform or sensitivity, got '${allocation}'`);
  }
  const maxWindows = numberFlag(f['max-windows'], 'max-windows', Infinity);
  const calibrationWindows = numberFlag(f['calibration-windows'], 'calibration-windows', 8);
  if (!(maxWindows >= 1) || !(calibrationWindows >= 1))
    throw new UsageError('--max-windows and --calibration-windows must be at least 1');

  try {
    checkPruningOptions({
      methods: [method],
      patterns: [pattern],
      perBlockAllocation: allocation === 'sensitivity',
      ...(f.global ? { magnitudeScope: 'global' as const } : {}),
      names: { global: '--global', allocation: '--allocation sensitivity' },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  const text = await readText(textFile);
  const calibrationText = f.calibration !== undefined ? await readText(f.calibration) : null;
  const { backend, model, tokenizer, source, tokenizerFiles } = await loadModel(
    backendKind,
    modelArg,
    f.tokenizer,
  );
  try {
    if (f.out) checkPrunedExport(model.config, source);
    const t0 = performance.now();
    const prepared = preparePruningText(model, tokenizer, text, {
      calibrationText,
      calibrationWindows,
      maxWindows,
      fileName: path.basename(textFile),
    });
    const log = (s: string) => !f.json && process.stderr.write(s);
    log('dense…');
    const dense = await evaluateTokens(model, prepared.tokens);
    const perBlock =
      allocation === 'sensitivity'
        ? (await sensitivityScan(model, prepared.calibration, sparsity)).allocation
        : undefined;
    log(' pruning…');
    const pruned = await pruneModel(model, {
      method,
      pattern,
      sparsity,
      calibration: prepared.calibration,
      ...(perBlock ? { allocation: perBlock } : {}),
      ...(f.global ? { magnitudeScope: 'global' as const } : {}),
      onProgress: ({ done, total }) => log(`\rpruning block ${done}/${total}`),
    });
    log(' evaluating…\n');
    const r = await evaluatePruned(model, prepared.tokens, pruned, dense.argmax);
    let written: string[] = [];
    let skipped: string | null = null;
    if (f.out) {
      const tokenizerBytes = await Promise.all(
        tokenizerFiles.map(async (t) => ({
          name: path.basename(t),
          bytes: new Uint8Array(await readBytes(t)),
        })),
      );
      const folder = prunedFolder(
        exportPruned(model.config, await model.readWeights(), pruned),
        tokenizerBytes,
      );
      for (const file of folder.files) {
        const to = path.join(f.out, file.path);
        await mkdir(path.dirname(to), { recursive: true });
        await writeFile(to, file.data);
      }
      written = folder.files.map((x) => x.path);
      skipped = folder.skipped;
    }
    const seconds = (performance.now() - t0) / 1000;
    const summary = {
      model: source,
      backend: backend.kind,
      method,
      pattern: patternName(pattern),
      sparsity: pruned.sparsity,
      loss: r.loss,
      dense_loss: dense.loss,
      perplexity: r.perplexity,
      dense_perplexity: dense.perplexity,
      agreement: r.agreement,
      nonzeros: pruned.nonzeros,
      total: pruned.total,
      weight_sparsity: 1 - pruned.nonzeros / pruned.total,
      allocation: perBlock ?? null,
      tokens: r.tokens,
      calibration: method === 'magnitude' && !perBlock ? null : prepared.calibrationInfo,
      scored:
        calibrationText === null
          ? `${path.basename(textFile)} without its calibration documents`
          : path.basename(textFile),
      out: f.out ?? null,
      written,
      skipped,
      seconds,
    };
    if (f.json) {
      print(JSON.stringify(summary));
      return;
    }
    print(`${source} on ${backend.description}, ${seconds.toFixed(2)} s`);
    print(
      `${method} ${summary.pattern} at sparsity ${pruned.sparsity}: ${pruned.nonzeros} of ${pruned.total} block weights kept`,
    );
    if (summary.calibration)
      print(`calibration: ${summary.calibration.source}, ${summary.calibration.windows} windows`);
    print(`scored on ${summary.scored}: ${r.tokens} tokens`);
    print(
      `loss ${r.loss.toFixed(4)} (dense ${dense.loss.toFixed(4)}, +${(r.loss - dense.loss).toFixed(4)}), perplexity ${r.perplexity.toFixed(3)}, agreement ${(100 * r.agreement).toFixed(1)} %`,
    );
    if (f.out) print(`wrote ${written.join(', ')} to ${f.out} (sparsebook eval --model ${f.out} reopens it)`);
    if (skipped) print(skipped);
  } finally {
    model.dispose();
    backend.destroy();
  }
}
