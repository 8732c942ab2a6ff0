/**
 * Every pretrained SAE format, read with its conventions, reconstructs exactly on a tiny model of
 * each architecture family (GPT-2, Gemma 3, Qwen3; test/fixtures/arch): an SAE built to be exact on
 * the activations at its hook gives explained variance 1, L0 = its construction and loss
 * recovered 1 through the project's `evaluateSae`; read while missing the format's convention it
 * does not. Also: the hooks and widths are checked against the model, and attn.hook_z is the
 * head-major [T, n_heads·d_head] layout SAELens flattens TransformerLens' z into.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordBatch } from 'apache-arrow';
import { createCpuBackend } from '../../../kernels/cpu-backend';
import {
  activationRows,
  checkSaeHook,
  collectActivations,
  type ActivationTypes,
} from '../../../analyses/sae/collect';
import { evaluateSae, type SaeEvaluation } from '../../../analyses/sae/evaluate';
import {
  adaptPretrainedToModel,
  checkPretrainedForModel,
  loadPretrainedSae,
  type PretrainedOptions,
  type SaeConvention,
} from '../../../analyses/sae/pretrained';
import { CompatibilityError } from '../../../runtime/errors';
import { HookError } from '../../../runtime/hooks';
import { buildTokenStream } from '../../../runtime/text';
import type { LlamaModel } from '../../../runtime/model/llama';
import type { Tokenizer } from '../../../runtime/tokenizers/tokenizer';
import { ARCH_FIXTURES, type ArchFixtureName } from '../../helpers/arch-fixtures';
import { loadArchFolder } from '../../helpers/arch-folders';
import {
  centerRows,
  exactSae,
  gemmaScope2Folder,
  gemmaScopeFolder,
  layerNormRows,
  normRescaleRows,
  saeLensFolder,
  sparsifyFolder,
} from './exact-saes';

const TEXT = [
  'Once upon a time, a fox met a crow in the old wood.',
  'The crow had a piece of cheese; the fox wanted it very much.',
  'He said the crow had the finest voice of all the birds, and asked for a song.',
].join('<|endoftext|>');

/** One tiny model per architecture the runtime has a spec for (MoEs included). */
const FAMILIES = ARCH_FIXTURES;
type Family = ArchFixtureName;

interface Built {
  files: Record<string, Uint8Array>;
  l0: number;
  opts?: PretrainedOptions;
}

interface FormatCase {
  name: string;
  /** The hook (family → name). */
  hook?: (f: Family) => string;
  /** The hook point at layer 0 (when `hook` is not given). */
  point: string;
  /** Activations → the SAE's input space. */
  space?: (x: Float32Array, d: number) => Float32Array;
  build: (y: Float32Array, d: number, hook: string) => Built;
  /** The convention a careless reader misses. */
  ignore: SaeConvention;
  /** false: missing it costs little (only rows longer than √d fall out of the windows). */
  clearFailure?: boolean;
  /** Only these families (default all). */
  families?: readonly Family[];
}

const RESID = 'hook_resid_post';
const SCALE = 0.25;

const CASES: FormatCase[] = [
  {
    name: 'SAELens standard, apply_b_dec_to_input: false',
    point: RESID,
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: false });
      return { files: saeLensFolder(e, { hook_name: hook, apply_b_dec_to_input: false }), l0: e.l0 };
    },
    ignore: 'apply_b_dec_to_input',
  },
  {
    name: 'SAELens topk, normalize_activations: expected_average_only_in (factor 0.25)',
    point: RESID,
    space: (x) => x.map((v) => v * SCALE),
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'window', applyBDec: true });
      const cfg = {
        hook_name: hook,
        architecture: 'topk',
        k: e.l0,
        normalize_activations: 'expected_average_only_in',
      };
      return { files: saeLensFolder(e, cfg), l0: e.l0, opts: { normScalingFactor: SCALE } };
    },
    ignore: 'normalize_activations',
  },
  {
    // Rows of norm √d: missing the rescale shows where raw rows are longer, so the last residual.
    name: 'SAELens jumprelu, normalize_activations: constant_norm_rescale',
    point: RESID,
    hook: (f) => (f === 'gemma3' ? 'blocks.3.hook_resid_post' : 'blocks.1.hook_resid_post'),
    space: normRescaleRows,
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'window', applyBDec: true, extras: 3, slack: 1.0001 });
      const cfg = {
        hook_name: hook,
        architecture: 'jumprelu',
        normalize_activations: 'constant_norm_rescale',
      };
      return { files: saeLensFolder(e, cfg), l0: e.l0 };
    },
    ignore: 'normalize_activations',
    clearFailure: false,
  },
  {
    name: 'SAELens jumprelu, normalize_activations: layer_norm',
    point: 'hook_mlp_out',
    space: layerNormRows,
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: true, sentinel: 20 });
      const cfg = { hook_name: hook, architecture: 'jumprelu', normalize_activations: 'layer_norm' };
      return { files: saeLensFolder(e, cfg), l0: e.l0 };
    },
    ignore: 'normalize_activations',
  },
  {
    name: 'SAELens gated, finetuning_scaling_factor',
    point: RESID,
    build: (y, d, hook) => {
      const e = exactSae(y, d, {
        construction: 'pairs',
        applyBDec: true,
        gated: true,
        extras: 3,
        latentScale: 2,
      });
      return {
        files: saeLensFolder(e, { hook_name: hook, architecture: 'gated' }, { scaling: 2 }),
        l0: e.l0,
      };
    },
    ignore: 'finetuning_scaling_factor',
  },
  {
    name: 'SAELens jumprelu, model_from_pretrained_kwargs.center_writing_weights (TransformerLens residual)',
    point: RESID,
    space: centerRows,
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: true, sentinel: 20 });
      const cfg = {
        architecture: 'jumprelu',
        hook_name: hook,
        metadata: { hook_name: hook, model_from_pretrained_kwargs: { center_writing_weights: true } },
      };
      return { files: saeLensFolder(e, cfg), l0: e.l0 };
    },
    ignore: 'center_writing_weights',
    // TransformerLens centres LayerNorm models only (for the RMSNorm ones, see below).
    families: ['gpt2'],
  },
  {
    name: 'Gemma Scope params.npz (JumpReLU, no b_dec subtraction), hook from --hook',
    point: RESID,
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: false, extras: 3 });
      return { files: gemmaScopeFolder(e), l0: e.l0, opts: { hook } };
    },
    ignore: 'apply_b_dec_to_input',
  },
  {
    name: 'Gemma Scope params.npz (deflated) on attn.hook_z [T, n_heads·d_head]',
    point: 'attn.hook_z',
    build: (y, d, hook) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: false, extras: 2 });
      return { files: gemmaScopeFolder(e, 6), l0: e.l0, opts: { hook } };
    },
    ignore: 'threshold',
  },
  {
    name: 'Gemma Scope 2 params.safetensors + config.json, hook from the path',
    point: RESID,
    build: (y, d) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: false, extras: 3 });
      const location = {
        repo: 'google/gemma-scope-2-tiny-pt',
        path: 'resid_post/layer_0_width_16k_l0_small',
      };
      return { files: gemmaScope2Folder(e), l0: e.l0, opts: { location } };
    },
    ignore: 'threshold',
  },
  {
    name: 'EleutherAI sparsify (TopK, encoder.weight [d_sae, d_in]), hook from the folder name',
    point: RESID,
    build: (y, d) => {
      const e = exactSae(y, d, { construction: 'pairs', applyBDec: true });
      return { files: sparsifyFolder(e, e.l0), l0: e.l0, opts: { location: { path: 'layers.0' } } };
    },
    ignore: 'apply_b_dec_to_input',
  },
];

interface Loaded {
  model: LlamaModel;
  tokenizer: Tokenizer;
}
const models = new Map<Family, Loaded>();

beforeAll(() => {
  for (const f of FAMILIES) {
    const { model, tokenizer } = loadArchFolder(createCpuBackend(), f);
    models.set(f, { model, tokenizer });
  }
});

/** The activations at `hook` over the windows `evaluateSae` evaluates. */
async function activations(m: Loaded, hook: string): Promise<{ x: Float32Array; d: number }> {
  const stream = buildTokenStream(m.tokenizer, TEXT);
  const rows: ReturnType<typeof activationRows>[] = [];
  for await (const b of collectActivations(m.model, stream, {
    hook: checkSaeHook(m.model.config, hook),
  }) as AsyncIterable<RecordBatch<ActivationTypes>>) {
    rows.push(activationRows(b));
  }
  const d = rows[0]!.d;
  const x = new Float32Array(rows.reduce((n, r) => n + r.n * d, 0));
  let at = 0;
  for (const r of rows) {
    x.set(r.activation, at);
    at += r.activation.length;
  }
  return { x, d };
}

async function evaluate(m: Loaded, built: Built, extra: PretrainedOptions = {}): Promise<SaeEvaluation> {
  const load = adaptPretrainedToModel(
    loadPretrainedSae(built.files, { ...built.opts, ...extra }),
    m.model.config,
  );
  if (load.type !== 'sae') throw new Error('expected an SAE');
  await checkPretrainedForModel(m.model, load);
  return evaluateSae(m.model, m.tokenizer, TEXT, load.sae);
}

const exact = (r: SaeEvaluation, l0: number) =>
  Math.abs(r.explained_variance - 1) < 1e-5 && r.l0 === l0 && Math.abs(r.loss_recovered - 1) < 1e-3;

describe.each(FAMILIES)('pretrained SAE formats on the %s fixture', (family) => {
  it.each(CASES.filter((c) => !c.families || c.families.includes(family)))(
    '$name: exact when read right, not when its convention is missed',
    async (c) => {
      const m = models.get(family)!;
      const hook = c.hook?.(family) ?? `blocks.0.${c.point}`;
      const { x, d } = await activations(m, hook);
      const y = c.space ? c.space(x, d) : x;
      const built = c.build(y, d, hook);

      const r = await evaluate(m, built);
      expect(r.hook).toBe(hook);
      expect(r.explained_variance).toBeCloseTo(1, 5);
      expect(r.l0).toBe(built.l0);
      expect(r.loss_recovered).toBeCloseTo(1, 3);
      expect(exact(r, built.l0)).toBe(true);

      const careless = await evaluate(m, built, { ignore: [c.ignore] });
      expect(exact(careless, built.l0), `ignoring ${c.ignore}: EV ${careless.explained_variance}`).toBe(
        false,
      );
      expect(careless.explained_variance).toBeLessThan(c.clearFailure === false ? 1 - 1e-6 : 0.99);
      console.log(
        `${family} | ${c.name} | d_in ${d} | EV ${r.explained_variance.toFixed(6)} L0 ${r.l0} LR ${r.loss_recovered.toFixed(6)} | ignoring ${c.ignore}: EV ${careless.explained_variance.toFixed(4)} L0 ${careless.l0.toFixed(2)} LR ${careless.loss_recovered.toFixed(4)}`,
      );
    },
  );
});

describe('center_writing_weights on an RMSNorm model', () => {
  it('is not applied (TransformerLens leaves RMSNorm residuals uncentred): an SAE exact on raw activations stays exact', async () => {
    const m = models.get('qwen3')!;
    const hook = 'blocks.0.hook_resid_post';
    const { x, d } = await activations(m, hook);
    const e = exactSae(x, d, { construction: 'window', applyBDec: true, slack: 1.0001 });
    const cfg = { hook_name: hook, model_from_pretrained_kwargs: { center_writing_weights: true } };
    const load = loadPretrainedSae(saeLensFolder(e, cfg));
    expect(load.type === 'sae' && load.sae.input).toEqual([{ kind: 'center' }]);
    const fitted = adaptPretrainedToModel(load, m.model.config);
    if (fitted.type !== 'sae') throw new Error('expected an SAE');
    expect(fitted.sae.input).toBeUndefined();
    expect(fitted.info.conventions.join('\n')).toMatch(/center_writing_weights not applied: .* uses RMSNorm/);
    const r = await evaluateSae(m.model, m.tokenizer, TEXT, fitted.sae);
    expect(exact(r, e.l0)).toBe(true);
    // gpt2 (LayerNorm) keeps it.
    const g = models.get('gpt2')!;
    expect(adaptPretrainedToModel(load, g.model.config)).toBe(load);
  });
});

describe('SAEs that do not fit the model', () => {
  it('a d_in other than the hook width, or a hook the model lacks, is a clear error', async () => {
    const m = models.get('gemma3')!;
    const { x, d } = await activations(m, 'blocks.0.hook_resid_post');
    const e = exactSae(x, d, { construction: 'pairs', applyBDec: true });
    // Width 48 read at attn.hook_z (width 64 in gemma3: 4 heads × 16).
    const atZ = loadPretrainedSae(saeLensFolder(e, { hook_name: 'blocks.0.attn.hook_z' }));
    await expect(checkPretrainedForModel(m.model, atZ)).rejects.toThrow(CompatibilityError);
    await expect(checkPretrainedForModel(m.model, atZ)).rejects.toThrow(
      'cfg.json: d_in is 48 but the activations at blocks.0.attn.hook_z have width 64 (attn.hook_z is [T, n_heads·d_head] = [T, 4·16]) (this SAE was trained on tiny)',
    );
    const deep = loadPretrainedSae(saeLensFolder(e, { hook_name: 'blocks.9.hook_resid_post' }));
    await expect(checkPretrainedForModel(m.model, deep)).rejects.toThrow(HookError);
    await expect(checkPretrainedForModel(m.model, deep)).rejects.toThrow(
      /invalid hook "blocks\.9\.hook_resid_post".*L in 0–3/,
    );
    const perHead = saeLensFolder(e, { hook_name: 'blocks.0.attn.hook_z', hook_head_index: 2 });
    expect(() => loadPretrainedSae(perHead)).toThrow(
      /hook_head_index is 2: this SAE reads one attention head/,
    );
  });
});

describe('attn.hook_z layout', () => {
  it.each(['gemma3', 'qwen3'] as const)(
    '%s: column h·d_head + i of hook_z is head h, dim i of Σ_k pattern[h, t, k]·v[k] (head-major, as TransformerLens z flattened)',
    async (family) => {
      const { model, tokenizer } = models.get(family)!;
      const { nHeads, headDim } = model.config;
      const nKv = model.config.nKvHeads;
      const tokens = buildTokenStream(tokenizer, TEXT).tokens.subarray(0, 24);
      const read: Record<string, { data: Float32Array; shape: number[] }> = {};
      const grab = (name: string) => async (t: { shape: readonly number[] } & object) => {
        read[name] = { data: (await model.backend.read(t as never)) as Float32Array, shape: [...t.shape] };
      };
      const logits = await model.forward(tokens, {
        hooks: {
          'blocks.0.attn.hook_pattern': grab('pattern'),
          'blocks.0.attn.hook_v': grab('v'),
          'blocks.0.attn.hook_z': grab('z'),
        },
      });
      model.backend.dispose(logits);
      const T = tokens.length;
      const { pattern, v, z } = read as Record<string, { data: Float32Array; shape: number[] }>;
      expect(z!.shape).toEqual([T, nHeads * headDim]);
      let maxErr = 0;
      for (let h = 0; h < nHeads; h++) {
        const kv = Math.floor(h / (nHeads / nKv));
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < headDim; i++) {
            let acc = 0;
            for (let k = 0; k < T; k++) {
              acc += pattern!.data[(h * T + t) * T + k]! * v!.data[k * nKv * headDim + kv * headDim + i]!;
            }
            maxErr = Math.max(maxErr, Math.abs(acc - z!.data[t * nHeads * headDim + h * headDim + i]!));
          }
        }
      }
      expect(maxErr).toBeLessThan(1e-4);
    },
  );
});
