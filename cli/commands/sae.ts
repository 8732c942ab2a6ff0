import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedSae } from '../../analyses/sae/codec';
import { checkSaeHook } from '../../analyses/sae/collect';
import { evaluateSae, evaluateTranscoder, type SaeEvaluation } from '../../analyses/sae/evaluate';
import {
  adaptPretrainedToModel,
  checkPretrainedForModel,
  loadPretrainedSae,
  type PretrainedInfo,
  type PretrainedLoad,
} from '../../analyses/sae/pretrained';
import { releaseHubId, SAE_RELEASES } from '../../analyses/sae/releases';
import { exportSaeLens, readItdaK, SAELENS_CFG_FILE, SAELENS_WEIGHTS_FILE } from '../../analyses/sae/saelens';
import { TRAIN_KINDS, trainSae, type TrainKind } from '../../analyses/sae/train';
import { checkKindOptions } from '../../analyses/sae/train-options';
import { buildTokenStream } from '../../runtime/text';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';
import { readSaeSource, type SaeSourceFiles } from './sae-source';

export const SAE_USAGE = `sparsebook sae train|eval|info|releases …

sparsebook sae train --model DIR|M [--tokenizer T] --text F --hook H --kind topk|batchtopk|relu|jumprelu|itda
    [--k K] [--expansion E] [--steps N] [--batch-size B] [--lr LR] [--l1 L] [--threshold X]
    [--seed S] [--max-rows R] [--eval-windows W] [--backend cpu|webgpu] --out DIR [--json]
  Collects the activations at hook H over F (the loss evaluation's windows; the first W windows,
  default 4, are held out), trains an SAE of E × d_in latents (default 8) for N steps (default
  1000) of B rows (default 1024) with Adam at LR (default 1e-3) on --backend (webgpu keeps the
  parameters on the device; cpu runs the reference trainer) and saves it to DIR in the SAELens
  layout (cfg.json + sae_weights.safetensors). K: TopK latents per token, BatchTopK's mean per token
  (K·B kept across each batch; saved as SAELens does for inference, a JumpReLU with the one
  threshold estimated in training) or ITDA atoms per token (default 16); L: the ReLU L1 / JumpReLU
  L0 coefficient; X: the ITDA residual threshold (default 0.1); a flag the kind does not read (--k
  for relu/jumprelu, --l1 for topk/batchtopk/itda, --threshold but for itda) is refused; R: rows
  collected (default min(N × B, 262144); fewer rows are passed over several times). Ends with the
  evaluation on the held-out windows.

sparsebook sae eval --model DIR|M [--tokenizer T] --text F --sae S [--hook H] [--norm-scaling-factor X]
    [--first-window N] [--max-windows W] [--backend cpu|webgpu] [--json]
  MSE, explained variance, L0, dead and dense latent fractions, and the loss clean, with the SAE
  reconstruction spliced in at its hook, and with the hook zero-ablated, over W windows (default 8)
  of F from window N (default 0).
  S: a folder or a file in it, hf:ORG/NAME[@REV]/PATH (through HF_ENDPOINT, HF_TOKEN for gated
  repositories), or a release from \`sparsebook sae releases\`. Formats: SAELens (cfg.json +
  sae_weights.safetensors: standard, topk, jumprelu, gated), Gemma Scope (params.npz), Gemma Scope 2
  (params.safetensors), EleutherAI sparsify (cfg.json + sae.safetensors). H: the hook the SAE reads,
  when its files do not say (params.npz) or to override them. X: the dataset norm scaling factor of
  an expected_average_only_in SAE, when neither cfg.json nor the release records it.

sparsebook sae info --sae S [--hook H] [--norm-scaling-factor X] [--model DIR|M [--tokenizer T]] [--json]
  The SAE's (or transcoder's) format, architecture, hooks, sizes, the conventions applied and its
  Neuronpedia id; with --model, also that its hooks exist there with the widths it reads and writes.

sparsebook sae releases [--json]
  The bundled table of well-known pretrained SAEs (release id, label, hub id, hook, Neuronpedia).

With --json the last line is one JSON object with explained_variance, mse, l0, dead_fraction,
loss_clean, loss_spliced, loss_zero_ablated, loss_recovered, and SAELens's scores ce_loss_score,
kl_div_with_sae, kl_div_with_ablation and kl_div_score (KL of the spliced next-token distribution
from the clean one, against zero ablation's).`;

/** Extra cfg.json key marking an ITDA dictionary (encode with matching pursuit, k atoms). */
const ITDA_KEY = 'sparsebook_itda';

export async function saeCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'train') return saeTrain(rest, print);
  if (sub === 'eval') return saeEval(rest, print);
  if (sub === 'info') return saeInfo(rest, print);
  if (sub === 'releases') return saeReleases(rest, print);
  throw new UsageError(
    `${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`}; expected train, eval, info or releases\n\n${SAE_USAGE}`,
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
  try {
    checkKindOptions(
      kind,
      { k: f.k, l1Coefficient: f.l1, itdaThreshold: f.threshold },
      { k: '--k', l1Coefficient: '--l1', itdaThreshold: '--threshold' },
    );
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
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
      k: kind === 'topk' || kind === 'batchtopk' || kind === 'itda' ? k : null,
      ...(r.threshold !== undefined ? { threshold: r.threshold } : {}),
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
      hook: { type: 'string' },
      'norm-scaling-factor': { type: 'string' },
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
  const saeArg = required(f.sae, 'sae', SAE_USAGE);
  const firstWindow = intFlag(f['first-window'], 'first-window', 0, 0);
  const maxWindows = intFlag(f['max-windows'], 'max-windows', 8);
  const normScalingFactor = normFlag(f['norm-scaling-factor']);
  const src = await readSaeSource(saeArg);
  const loaded = loadPretrained(src, f.hook, normScalingFactor);
  const text = await readText(textFile);
  const { backend, model, tokenizer, source } = await loadModel(backendKind, modelArg, f.tokenizer);
  try {
    const t0 = performance.now();
    const load = adaptPretrainedToModel(loaded, model.config);
    await checkPretrainedForModel(model, load, tokenizer.encode('', { bos: true }));
    const evalOptions = {
      firstWindow,
      maxWindows,
      fileName: path.basename(textFile),
      onProgress: f.json
        ? undefined
        : ({ done, total }: { done: number; total: number }) =>
            process.stderr.write(`\rwindow ${done}/${total}`),
    };
    const sae = load.type === 'sae' ? withItda(load.sae, src) : undefined;
    const e =
      load.type === 'transcoder'
        ? await evaluateTranscoder(model, tokenizer, text, load.transcoder, evalOptions)
        : await evaluateSae(model, tokenizer, text, sae!, evalOptions);
    if (!f.json) process.stderr.write('\n');
    const seconds = (performance.now() - t0) / 1000;
    report(
      {
        model: source,
        backend: backend.kind,
        sae: src.name,
        kind: load.type === 'transcoder' ? 'transcoder' : sae!.itda ? 'itda' : sae!.cfg.kind,
        ...infoJson(load.info),
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
    'sae',
    'format',
    'architecture',
    'kind',
    'neuronpedia',
    'release',
    'trained_on',
    'hook',
    'hook_in',
    'hook_out',
    'd_in',
    'd_out',
    'd_sae',
    'k',
    'fits_model',
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
    'kl_div_with_sae',
    'kl_div_with_ablation',
    'kl_div_score',
  ]) {
    if (key in j) print(`${key.padEnd(20)} ${n(j[key])}`);
  }
  if (Array.isArray(j.conventions)) for (const c of j.conventions) print(`  ${String(c)}`);
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

/** `--norm-scaling-factor`, when given: a positive number. */
function normFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = numberFlag(v, 'norm-scaling-factor', NaN);
  if (!(x > 0)) throw new UsageError(`--norm-scaling-factor must be > 0, got '${v}'`);
  return x;
}

/** Read the SAE's files with the options --sae, --hook and --norm-scaling-factor give. */
function loadPretrained(
  src: SaeSourceFiles,
  hook: string | undefined,
  normScalingFactor?: number,
): PretrainedLoad {
  return loadPretrainedSae(src.files, {
    ...(hook ? { hook } : {}),
    ...(normScalingFactor !== undefined ? { normScalingFactor } : {}),
    ...(src.release ? { release: src.release } : {}),
    location: src.location,
    label: src.label,
  });
}

/** An ITDA dictionary this CLI saved (marked in cfg.json) is encoded by matching pursuit. */
function withItda(sae: LoadedSae, src: SaeSourceFiles): LoadedSae {
  const cfgBytes = src.files[SAELENS_CFG_FILE];
  if (!cfgBytes || sae.source?.format !== 'saelens') return sae;
  const raw = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  const itda = raw[ITDA_KEY];
  if (itda === undefined || itda === null) return sae;
  const k = readItdaK(itda, SAELENS_CFG_FILE);
  const { cfg, params } = sae;
  const dict = {
    dIn: cfg.dIn,
    size: cfg.dSae,
    atoms: params.wDec,
    sources: new Int32Array(cfg.dSae).fill(-1),
  };
  return { cfg, params, itda: { dict, k } };
}

/** What a report says about where the SAE came from. */
function infoJson(i: PretrainedInfo): Record<string, unknown> {
  return {
    format: i.format,
    architecture: i.architecture,
    ...(i.transcoder ? { hook_in: i.hookIn, hook_out: i.hookOut, d_out: i.dOut } : {}),
    ...(i.neuronpedia ? { neuronpedia: i.neuronpedia } : {}),
    ...(i.release ? { release: i.release } : {}),
    ...(i.modelName ? { trained_on: i.modelName } : {}),
    conventions: i.conventions,
  };
}

async function saeInfo(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      sae: { type: 'string' },
      hook: { type: 'string' },
      'norm-scaling-factor': { type: 'string' },
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    SAE_USAGE,
  );
  const src = await readSaeSource(required(f.sae, 'sae', SAE_USAGE));
  const load = loadPretrained(src, f.hook, normFlag(f['norm-scaling-factor']));
  const describe = (i: PretrainedInfo): Record<string, unknown> => ({
    sae: src.name,
    kind: load.type === 'transcoder' ? 'transcoder' : i.kind,
    ...infoJson(i),
    hook: i.hookIn,
    d_in: i.dIn,
    d_sae: i.dSae,
    ...(i.k !== undefined ? { k: i.k } : {}),
    files: i.files,
  });
  let out = describe(load.info);
  if (f.model) {
    const { backend, model, tokenizer, source } = await loadModel(
      backendFlag(f.backend),
      f.model,
      f.tokenizer,
    );
    try {
      const fitted = adaptPretrainedToModel(load, model.config);
      await checkPretrainedForModel(model, fitted, tokenizer.encode('', { bos: true }));
      out = describe(fitted.info);
      out.model = source;
      out.fits_model = true;
    } finally {
      model.dispose();
      backend.destroy();
    }
  }
  report(out, !!f.json, print);
}

async function saeReleases(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(argv, { json: { type: 'boolean' } }, SAE_USAGE);
  if (f.json) {
    print(JSON.stringify(SAE_RELEASES.map((r) => ({ ...r, hub_id: releaseHubId(r) }))));
    return;
  }
  for (const r of SAE_RELEASES) {
    print(`${r.label}`);
    print(`  --sae ${r.id}`);
    print(`  ${releaseHubId(r)}  (${r.format}, ${r.architecture}, ${r.hook}, ${r.hfModel})`);
    if (r.neuronpedia) print(`  https://www.neuronpedia.org/${r.neuronpedia}`);
  }
}
