import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedSae } from '../../analyses/sae/codec';
import { checkSaeHook } from '../../analyses/sae/collect';
import { evaluateSae, type SaeEvaluation } from '../../analyses/sae/evaluate';
import {
  exportSaeLens,
  importSaeLens,
  readItdaK,
  SAELENS_CFG_FILE,
  SAELENS_WEIGHTS_FILE,
} from '../../analyses/sae/saelens';
import { TRAIN_KINDS, trainSae, widthAt, type TrainKind } from '../../analyses/sae/train';
import { buildTokenStream } from '../../runtime/text';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const SAE_USAGE = `sparsebook sae train|eval …

sparsebook sae train --model DIR|M [--tokenizer T] --text F --hook H --kind topk|relu|jumprelu|itda
    [--k K] [--expansion E] [--steps N] [--batch-size B] [--lr LR] [--l1 L] [--threshold X]
    [--seed S] [--max-rows R] [--eval-windows W] [--backend cpu|webgpu] --out DIR [--json]
  Collects the activations at hook H over F (the loss evaluation's windows; the first W windows,
  default 4, are held out), trains an SAE of E × d_in latents (default 8) for N steps (default
  1000) of B rows (default 1024) with Adam at LR (default 1e-3) on --backend (webgpu keeps the
  parameters on the device; cpu runs the reference trainer) and saves it to DIR in the SAELens
  layout (cfg.json + sae_weights.safetensors). K: TopK latents per token or ITDA atoms per token (default 16); L: the
  ReLU L1 / JumpReLU L0 coefficient; X: the ITDA residual threshold (default 0.1); R: rows
  collected (default min(N × B, 262144); fewer rows are passed over several times). Ends with the
  evaluation on the held-out windows.

sparsebook sae eval --model DIR|M [--tokenizer T] --text F --sae DIR [--first-window N] [--max-windows W] [--backend cpu|webgpu] [--json]
  MSE, explained variance, L0, dead and dense latent fractions, and the loss clean, with the SAE
  reconstruction spliced in at its hook, and with the hook zero-ablated, over W windows (default 8)
  of F from window N (default 0).

With --json the last line is one JSON object with explained_variance, mse, l0, dead_fraction,
loss_clean, loss_spliced, loss_zero_ablated, loss_recovered.`;

/** Extra cfg.json key marking an ITDA dictionary (encode with matching pursuit, k atoms). */
const ITDA_KEY = 'sparsebook_itda';

export async function saeCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'train') return saeTrain(rest, print);
  if (sub === 'eval') return saeEval(rest, print);
  throw new UsageError(
    `${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`}; expected train or eval\n\n${SAE_USAGE}`,
  );
}

const intFlag = (v: string | undefined, flag: string, fallback: number, min = 1) => {
  const n = numberFlag(v, flag, fallback);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${flag} must be an integer ≥ ${min}, got '${v}'`);
  return n;
};

async function saeTrain(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      hook: { type: 'string' },
      kind: { type: 'string' },
      k: { type: 'string' },
      expansion: { type: 'string' },
      steps: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      l1: { type: 'string' },
      threshold: { type: 'string' },
      seed: { type: 'string' },
      'max-rows': { type: 'string' },
      'eval-windows': { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    SAE_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const modelArg = required(f.model, 'model', SAE_USAGE);
  const textFile = required(f.text, 'text', SAE_USAGE);
  const hook = required(f.hook, 'hook', SAE_USAGE);
  const kind = required(f.kind, 'kind', SAE_USAGE) as TrainKind;
  if (!TRAIN_KINDS.includes(kind))
    throw new UsageError(`--kind must be one of ${TRAIN_KINDS.join(', ')}, got '${kind}'`);
  const out = required(f.out, 'out', SAE_USAGE);
  const k = intFlag(f.k, 'k', 16);
  const steps = intFlag(f.steps, 'steps', 1000);
  const batchSize = intFlag(f['batch-size'], 'batch-size', 1024);
  const seed = intFlag(f.seed, 'seed', 1, 0);
  const evalWindows = intFlag(f['eval-windows'], 'eval-windows', 4);
  const expansion = numberFlag(f.expansion, 'expansion', 8);
  if (!(expansion > 0)) throw new UsageError(`--expansion must be > 0, got '${f.expansion}'`);
  const lr = numberFlag(f.lr, 'lr', 1e-3);
  if (!(lr > 0)) throw new UsageError(`--lr must be > 0, got '${f.lr}'`);
  const maxRows = f['max-rows'] === undefined ? undefined : intFlag(f['max-rows'], 'max-rows', 1);
  const text = await readText(textFile);

  const { backend, model, tokenizer, source } = await loadModel(backendKind, modelArg, f.tokenizer);
  try {
    checkSaeHook(model.config, hook);
    const t0 = performance.now();
    const windows = Math.ceil((buildTokenStream(tokenizer, text).tokens.length - 1) / model.config.seqLen);
    if (windows <= evalWindows) {
      throw new UsageError(
        `the text has ${windows} windows; it needs more than --eval-windows ${evalWindows}`,
      );
    }
    const progress = !f.json;
    const r = await trainSae(model, tokenizer, text, {
      hook,
      kind,
      k,
      expansion,
      steps,
      batchSize,
      lr,
      seed,
      firstWindow: evalWindows,
      fileName: path.basename(textFile),
      ...(maxRows !== undefined ? { maxRows } : {}),
      ...(f.l1 !== undefined ? { l1Coefficient: numberFlag(f.l1, 'l1', NaN) } : {}),
      ...(f.threshold !== undefined ? { itdaThreshold: numberFlag(f.threshold, 'threshold', NaN) } : {}),
      progressEvery: Math.max(1, Math.floor(steps / 20)),
      onCollect: progress
        ? ({ done, total }) => process.stderr.write(`\rcollect window ${done}/${total}`)
        : undefined,
      onProgress: progress
        ? (p) =>
            process.stderr.write(
              `\rstep ${p.step + 1}/${steps}  mse ${p.mse.toFixed(4)}  l0 ${p.l0.toFixed(2)}  dead ${p.deadFraction.toFixed(3)}   `,
            )
        : undefined,
    });
    if (progress) process.stderr.write('\n');
    await saveSae(out, r.sae, source);
    const e = await evaluateSae(model, tokenizer, text, r.sae, {
      maxWindows: evalWindows,
      fileName: path.basename(textFile),
    });
    const seconds = (performance.now() - t0) / 1000;
    const summary = {
      model: source,
      backend: backend.kind,
      trainer: r.trainer,
      kind,
      hook,
      k: kind === 'topk' || kind === 'itda' ? k : null,
      steps: r.steps,
      batch_size: batchSize,
      lr,
      seed,
      rows_collected: r.rowsCollected,
      rows_trained: r.rowsTrained,
      epochs: r.epochs,
      train_seconds: r.trainSeconds,
      activations_per_second: r.activationsPerSecond,
      seconds,
      out,
      eval_windows: evalWindows,
    };
    report({ ...summary, ...evalJson(e) }, !!f.json, print);
  } finally {
    model.dispose();
    backend.destroy();
  }
}

async function saeEval(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      sae: { type: 'string' },
      'first-window': { type: 'string' },
      'max-windows': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    SAE_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const modelArg = required(f.model, 'model', SAE_USAGE);
  const textFile = required(f.text, 'text', SAE_USAGE);
  const dir = required(f.sae, 'sae', SAE_USAGE);
  const firstWindow = intFlag(f['first-window'], 'first-window', 0, 0);
  const maxWindows = intFlag(f['max-windows'], 'max-windows', 8);
  const files = await readSaeFiles(dir);
  const text = await readText(textFile);
  const { backend, model, tokenizer, source } = await loadModel(backendKind, modelArg, f.tokenizer);
  try {
    const t0 = performance.now();
    const sae = await loadSae(files, model, tokenizer);
    const e = await evaluateSae(model, tokenizer, text, sae, {
      firstWindow,
      maxWindows,
      fileName: path.basename(textFile),
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rwindow ${done}/${total}`),
    });
    if (!f.json) process.stderr.write('\n');
    const seconds = (performance.now() - t0) / 1000;
    report(
      {
        model: source,
        backend: backend.kind,
        sae: dir,
        kind: sae.itda ? 'itda' : sae.cfg.kind,
        seconds,
        ...evalJson(e),
      },
      !!f.json,
      print,
    );
  } finally {
    model.dispose();
    backend.destroy();
  }
}

function evalJson(e: SaeEvaluation) {
  const { firing_frequency: _, ...rest } = e;
  return rest;
}

function report(j: Record<string, unknown>, json: boolean, print: (line: string) => void): void {
  if (json) {
    print(JSON.stringify(j));
    return;
  }
  const n = (v: unknown) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v);
  for (const key of [
    'model',
    'kind',
    'hook',
    'd_in',
    'd_sae',
    'windows',
    'tokens',
    'explained_variance',
    'mse',
    'l0',
    'dead_fraction',
    'dense_fraction',
    'loss_clean',
    'loss_spliced',
    'loss_zero_ablated',
    'loss_recovered',
  ]) {
    if (key in j) print(`${key.padEnd(20)} ${n(j[key])}`);
  }
}

/** Write cfg.json + sae_weights.safetensors (an ITDA dictionary is marked in cfg.json). */
export async function saveSae(dir: string, sae: LoadedSae, modelName: string): Promise<void> {
  const { cfgJson, weights } = exportSaeLens(sae.cfg, sae.params, { modelName });
  let cfg = cfgJson;
  if (sae.itda) {
    const j = JSON.parse(cfgJson) as Record<string, unknown>;
    j[ITDA_KEY] = { k: sae.itda.k, encoder: 'matching-pursuit' };
    cfg = JSON.stringify(j, null, 2);
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, SAELENS_CFG_FILE), cfg + '\n');
  await writeFile(path.join(dir, SAELENS_WEIGHTS_FILE), weights);
}

async function readSaeFiles(dir: string): Promise<{ cfgJson: string; weights: Uint8Array }> {
  const read = async (name: string) => {
    const file = path.join(dir, name);
    try {
      return await readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        `${file}: cannot read file (${code ?? (e as Error).message}); an SAE folder holds ${SAELENS_CFG_FILE} and ${SAELENS_WEIGHTS_FILE}`,
      );
    }
  };
  const [cfg, weights] = await Promise.all([read(SAELENS_CFG_FILE), read(SAELENS_WEIGHTS_FILE)]);
  return { cfgJson: cfg.toString('utf8'), weights: new Uint8Array(weights) };
}

/** Import SAELens files, checking the hook and d_in against the model. */
async function loadSae(
  files: { cfgJson: string; weights: Uint8Array },
  model: Parameters<typeof widthAt>[0],
  tokenizer: { encode: (s: string, o: { bos: boolean }) => Int32Array },
): Promise<LoadedSae> {
  const peek = importSaeLens(files); // hook name and sizes, before knowing the width
  checkSaeHook(model.config, peek.cfg.hookName);
  const width = await widthAt(model, peek.cfg.hookName, tokenizer.encode('', { bos: true }));
  const { cfg, params } = importSaeLens(files, { dIn: width, hookName: peek.cfg.hookName });
  const raw = JSON.parse(files.cfgJson) as Record<string, unknown>;
  const itda = raw[ITDA_KEY];
  if (itda !== undefined && itda !== null) {
    const k = readItdaK(itda, SAELENS_CFG_FILE);
    const dict = {
      dIn: cfg.dIn,
      size: cfg.dSae,
      atoms: params.wDec,
      sources: new Int32Array(cfg.dSae).fill(-1),
    };
    return { cfg, params, itda: { dict, k } };
  }
  return { cfg, params };
}
