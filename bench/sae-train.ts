/**
 * bench/sae-train: SAE training throughput (activation rows per second through `SaeTrainer.step`)
 * on each trainer backend, and activation collection throughput (rows per second out of
 * `collectActivations`, i.e. model forward passes with the hook read back) on each model backend.
 *
 * Trainer backends are a table (`TRAINERS`): `cpu` (the reference `SaeTrainer`) and `webgpu`
 * (`BackendSaeTrainer` on a WebGPU backend: parameters and Adam state on the device). Each timed
 * step includes its read-back of the loss terms and firing flags, as `trainSae` times it.
 *
 *   node --import ./cli/register.mjs bench/sae-train.ts [--model M --tokenizer T --text F
 *     --hook H --kind topk --k 16 --expansion 8 --batch 1024 --steps 30 --collect-windows 8
 *     --backends cpu,webgpu]
 *
 * With `--full`, it also runs the must-show training (TopK, ReLU and ITDA, held-out evaluation)
 * with the settings given (`--full-steps`, `--full-rows`, `--lr`) and prints their metrics.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { activationRows, checkSaeHook, collectActivations } from '../analyses/sae/collect';
import { evaluateSae } from '../analyses/sae/evaluate';
import { trainSae, type TrainKind } from '../analyses/sae/train';
import { BackendSaeTrainer } from '../analyses/sae/backend-trainer';
import { SaeTrainer } from '../analyses/sae/trainer';
import type { SaeConfig, SaeKind } from '../analyses/sae/types';
import { createBackend, loadModel, readText } from '../cli/session';
import { buildTokenStream } from '../runtime';

const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../../shared');
const { values: f } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: path.join(shared, 'models/stories260K/tok512.bin') },
    text: { type: 'string', default: path.join(shared, 'data/tinystories-valid-1000.txt') },
    hook: { type: 'string', default: 'blocks.2.hook_resid_post' },
    kind: { type: 'string', default: 'topk' },
    k: { type: 'string', default: '16' },
    expansion: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1024' },
    steps: { type: 'string', default: '30' },
    'collect-windows': { type: 'string', default: '8' },
    backends: { type: 'string', default: 'cpu,webgpu' },
    full: { type: 'boolean', default: false },
    'full-steps': { type: 'string', default: '800' },
    'full-rows': { type: 'string', default: '65536' },
    'full-batch': { type: 'string', default: '1024' },
    lr: { type: 'string', default: '2e-3' },
    'relu-l1': { type: 'string', default: '0.3' },
    'eval-windows': { type: 'string', default: '8' },
  },
});

/** A trainer backend: something that takes [n, dIn] batches (a step may be async). */
interface TrainerInstance {
  step(batch: Float32Array): unknown;
  dispose(): void;
  device: string;
}
interface TrainerVariant {
  make(cfg: SaeConfig, seed: number): Promise<TrainerInstance>;
}
const TRAINERS: Record<string, TrainerVariant> = {
  cpu: {
    make: (cfg, seed) => {
      const t = new SaeTrainer(cfg, { seed, adam: { lr: 1e-3 } });
      return Promise.resolve({
        step: (x) => t.step(x),
        dispose: () => {},
        device: 'CPU (reference SaeTrainer)',
      });
    },
  },
  webgpu: {
    make: async (cfg, seed) => {
      const backend = await createBackend('webgpu');
      const t = new BackendSaeTrainer(backend, cfg, { seed, adam: { lr: 1e-3 } });
      return {
        step: (x) => t.step(x),
        dispose: () => {
          t.dispose();
          backend.destroy();
        },
        device: backend.description,
      };
    },
  },
};

const tokenizerArg = f.model!.endsWith('.bin') ? f.tokenizer : undefined;
const text = await readText(f.text!);
const batch = Number(f.batch);
const steps = Number(f.steps);
const result: Record<string, unknown> = {
  bench: 'sae-train',
  model: path.basename(f.model!),
  hook: f.hook,
  kind: f.kind,
  k: Number(f.k),
  batch,
  steps,
};
const collection: Record<string, unknown> = {};
const training: Record<string, unknown> = {};
let sample: Float32Array | undefined;
let dIn = 0;

for (const kind of f.backends!.split(',') as ('cpu' | 'webgpu')[]) {
  let loaded;
  try {
    loaded = await loadModel(kind, f.model!, tokenizerArg);
  } catch (e) {
    collection[kind] = { error: (e as Error).message };
    continue;
  }
  const { backend, model, tokenizer } = loaded;
  const stream = buildTokenStream(tokenizer, text);
  const hook = checkSaeHook(model.config, f.hook!);
  // Warm-up window, then the timed windows.
  for await (const _ of collectActivations(model, stream, { hook, maxWindows: 1 })) void _;
  const t0 = performance.now();
  let rows = 0;
  const kept: Float32Array[] = [];
  for await (const b of collectActivations(model, stream, {
    hook,
    firstWindow: 1,
    maxWindows: Number(f['collect-windows']),
  })) {
    const r = activationRows(b);
    rows += r.n;
    dIn = r.d;
    if (!sample) kept.push(r.activation.slice());
  }
  const s = (performance.now() - t0) / 1000;
  collection[kind] = { rows, seconds: s, rows_per_second: rows / s, device: backend.description };
  if (!sample) {
    sample = new Float32Array(kept.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of kept) {
      sample.set(a, o);
      o += a.length;
    }
  }
  model.dispose();
  backend.destroy();
}

if (!sample) throw new Error('no backend could collect activations');
const dSae = Math.round(Number(f.expansion) * dIn);
const cfg: SaeConfig = { kind: f.kind as SaeKind, dIn, dSae, hookName: f.hook!, normalizeDecoder: true };
if (cfg.kind === 'topk') cfg.k = Number(f.k);
const rowsAvail = sample.length / dIn;
for (const [name, variant] of Object.entries(TRAINERS)) {
  if (!f.backends!.split(',').includes(name)) continue;
  let trainer: TrainerInstance;
  try {
    trainer = await variant.make(cfg, 1);
  } catch (e) {
    training[name] = { error: (e as Error).message };
    continue;
  }
  let o = 0;
  const next = () => {
    if (o + batch > rowsAvail) o = 0;
    const x = sample!.subarray(o * dIn, (o + batch) * dIn);
    o += batch;
    return x;
  };
  await trainer.step(next()); // warm-up (pipelines compile here)
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(next());
  const s = (performance.now() - t0) / 1000;
  training[name] = {
    steps,
    seconds: s,
    activations_per_second: (steps * batch) / s,
    d_in: dIn,
    d_sae: dSae,
    device: trainer.device,
  };
  trainer.dispose();
}
result.collection = collection;
result.training = training;

if (f.full) {
  const { backend, model, tokenizer } = await loadModel('cpu', f.model!, tokenizerArg);
  const evalWindows = Number(f['eval-windows']);
  const runs: Record<string, unknown> = {};
  for (const kind of ['topk', 'relu', 'itda'] as TrainKind[]) {
    const r = await trainSae(model, tokenizer, text, {
      hook: f.hook!,
      kind,
      k: Number(f.k),
      expansion: Number(f.expansion),
      steps: Number(f['full-steps']),
      batchSize: Number(f['full-batch']),
      lr: Number(f.lr),
      maxRows: Number(f['full-rows']),
      firstWindow: evalWindows,
      ...(kind === 'relu' ? { l1Coefficient: Number(f['relu-l1']) } : {}),
    });
    const {
      firing_frequency: _,
      density_histogram: __,
      ...e
    } = await evaluateSae(model, tokenizer, text, r.sae, {
      maxWindows: evalWindows,
    });
    runs[kind] = { ...e, seconds: r.seconds, train_seconds: r.trainSeconds, steps: r.steps };
  }
  result.full = runs;
  model.dispose();
  backend.destroy();
}

console.log(JSON.stringify(result, null, 2));
process.exit(0);
