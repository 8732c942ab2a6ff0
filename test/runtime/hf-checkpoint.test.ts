import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadHfModel, loadLlama2c } from '../../runtime';
import { InputError, ModelFormatError } from '../../runtime/errors';
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { bf16ToF32, f32ToBf16Bits } from '../../runtime/formats/safetensors-dtypes';
import { writeSafetensors, type SafetensorsTensorInput } from '../../runtime/formats/safetensors-write';
import { LlamaModel } from '../../runtime/model/llama';
import { listWeights, type LlamaConfig, type LlamaWeights } from '../../runtime/model/llama-config';
import { readShared, TOK512 } from '../helpers/shared-paths';
import { hfConfigJson, hfPermute, hfTensors, toHf } from './hf-export';
import { randomWeights, tinyConfig, tinyMoeConfig } from './synthetic';

/** Mixtral-style: 8-wide heads, 4 experts top-2. */
const moeConfig = tinyMoeConfig({
  dim: 32,
  hiddenDim: 16,
  nHeads: 4,
  nKvHeads: 2,
  nLayers: 2,
  vocabSize: 512,
  seqLen: 16,
});

const backend = createCpuBackend();
const tokBytes = readShared(TOK512);
const NAMES = { config: 'config.json', weights: ['model.safetensors'], tokenizer: 'tokenizer.bin' };

/** A dense model with vocab 512 (so tok512 fits), 8-wide heads (so the permutation is not trivial). */
const dense = tinyConfig({
  dim: 32,
  hiddenDim: 40,
  nHeads: 4,
  nKvHeads: 2,
  nLayers: 2,
  vocabSize: 512,
  seqLen: 16,
  sharedClassifier: false,
});
const denseWeights = randomWeights(dense, 11, 0.3);
const tokens = Int32Array.of(1, 403, 9, 77, 300, 5, 511, 42, 8, 100, 2, 19);

async function logits(model: LlamaModel, ids = tokens): Promise<Float32Array> {
  const t = await model.forward(ids);
  const out = await backend.read(t);
  backend.dispose(t);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function mapError(
  config: LlamaConfig,
  tensors: SafetensorsTensorInput[],
  file = 'model.safetensors',
): InputError {
  try {
    hfCheckpoint(parseHfConfig(hfConfigJson(config), 'config.json'), [
      parseSafetensors(writeSafetensors(tensors), file),
    ]);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as InputError).file).toBe(file);
    return e as InputError;
  }
  throw new Error('expected hfCheckpoint to throw');
}

/**
 * `loaded` (HF layout: q/k rows in rotate_half order, as stored) holds the same weights as `meta`
 * (llama2.c's interleaved layout).
 */
function sameWeights(c: LlamaConfig, loaded: LlamaWeights, meta: LlamaWeights): void {
  const hf: LlamaWeights = {
    ...meta,
    layers: meta.layers.map((l) => ({
      ...l,
      wq: hfPermute(l.wq, c.nHeads, c.dim, c.dim),
      wk: hfPermute(l.wk, c.nKvHeads, c.kvDim, c.dim),
    })),
  };
  const x = listWeights(c, hf);
  const y = listWeights(c, loaded);
  expect(y.map((w) => w.name)).toEqual(x.map((w) => w.name));
  x.forEach((w, i) => expect(y[i]!.data, w.name).toEqual(w.data));
}

describe('rotary permutation', () => {
  it('HF permute regroups each head into its two halves', () => {
    // One head of 4 rows: HF order is [r0, r2, r1, r3] of Meta's interleaved pairs (r0,r1), (r2,r3).
    expect(Array.from(hfPermute(Float32Array.of(0, 1, 2, 3), 1, 4, 1))).toEqual([0, 2, 1, 3]);
  });

  it("HF rotate_half on permuted rows equals the runtime's interleaved rope, rows permuted", async () => {
    // q = x·Wᵀ for one head of 8 at position 5; HF applies q·cos + rotate_half(q)·sin with cos/sin
    // of cat(freqs, freqs); the runtime rotates pairs (2i, 2i+1). HF row j·4 + i ↔ runtime row 2i + j.
    const hd = 8;
    const meta = Float32Array.from({ length: hd }, (_, i) => Math.cos(i * 1.3) + i / 7);
    const hf = hfPermute(meta, 1, hd, 1);
    const pos = 5;
    const half = hd / 2;
    const hfRot = new Float32Array(hd);
    for (let d = 0; d < hd; d++) {
      const f = 1 / Math.pow(10000, (2 * (d % half)) / hd);
      const rotated = d < half ? -hf[d + half]! : hf[d - half]!;
      hfRot[d] = hf[d]! * Math.cos(pos * f) + rotated * Math.sin(pos * f);
    }
    const t = backend.rope(backend.tensor(meta, [1, hd]), { headDim: hd, pos0: pos });
    const ours = await backend.read(t);
    backend.dispose(t);
    expect(maxAbsDiff(hfPermute(ours, 1, hd, 1), hfRot)).toBeLessThan(1e-6);
    // The runtime's 'half' style is rotate_half itself: HF rows load as stored.
    const h = backend.rope(backend.tensor(hf, [1, hd]), { headDim: hd, pos0: pos, style: 'half' });
    expect(maxAbsDiff(await backend.read(h), hfRot)).toBeLessThan(1e-6);
    backend.dispose(t, h);
  });
});

describe('loadHfModel: a dense model exported the HF way', () => {
  const llama2c = loadLlama2c(backend, writeLlama2c(dense, denseWeights), 'tiny.bin', tokBytes, 'tok512.bin');

  for (const dtype of ['F32', 'BF16'] as const) {
    it(`gives the llama2.c-loaded model's logits (${dtype} weights)`, async () => {
      const weights = dtype === 'F32' ? denseWeights : bf16Rounded(dense, denseWeights);
      const files = toHf(dense, weights, dtype);
      const hf = loadHfModel(backend, { ...files, weights: [files.weights], tokenizer: tokBytes }, NAMES);
      expect(hf.info).toMatchObject({
        architecture: 'llama',
        dim: 32,
        nExperts: null,
        topK: null,
        sharedClassifier: false,
      });
      const ref = dtype === 'F32' ? llama2c.model : LlamaModel.load(backend, { config: dense, weights });
      const d = maxAbsDiff(await logits(hf.model), await logits(ref));
      expect(d).toBeLessThan(1e-5);
      hf.model.dispose();
    });
  }

  it("with llama2.c's interleaved rotary on HF rows the logits would differ (the test can see a wrong layout)", async () => {
    const st = parseSafetensors(toHf(dense, denseWeights).weights, 'model.safetensors');
    const ckpt = hfCheckpoint(parseHfConfig(hfConfigJson(dense), 'config.json'), [st]);
    const block = ckpt.config.block!;
    const interleaved = {
      ...block,
      positions: { kind: 'rope' as const, style: 'interleaved' as const, rotaryDim: 8 },
    };
    const wrong = LlamaModel.load(backend, { ...ckpt, config: { ...ckpt.config, block: interleaved } });
    expect(maxAbsDiff(await logits(wrong), await logits(llama2c.model))).toBeGreaterThan(1e-3);
  });

  it('a tied model needs no lm_head (and ignores one that is present)', () => {
    const c = { ...dense, sharedClassifier: true };
    const w = randomWeights(c, 5);
    const st = parseSafetensors(
      writeSafetensors([...hfTensors(c, w), { name: 'lm_head.weight', dtype: 'F32', shape: [1], data: [0] }]),
      'm.safetensors',
    );
    const ckpt = hfCheckpoint(parseHfConfig(hfConfigJson(c), 'config.json'), [st], undefined, {
      float32: true,
    });
    expect(ckpt.weights.output).toBeNull();
    sameWeights(c, ckpt.weights, w);
  });

  it('shards are merged; a tensor in two shards is an error', () => {
    const all = hfTensors(dense, denseWeights);
    const a = parseSafetensors(writeSafetensors(all.slice(0, 7)), 'model-00001-of-00002.safetensors');
    const b = parseSafetensors(writeSafetensors(all.slice(7)), 'model-00002-of-00002.safetensors');
    const parsed = parseHfConfig(hfConfigJson(dense), 'config.json');
    sameWeights(dense, hfCheckpoint(parsed, [a, b], undefined, { float32: true }).weights, denseWeights);
    const dup = parseSafetensors(writeSafetensors(all.slice(5, 8)), 'model-00003.safetensors');
    expect(() => hfCheckpoint(parsed, [a, b, dup])).toThrow(/tensor "model\.layers\.0\..*" appears in both/);
  });
});

describe('Mixtral names', () => {
  it('config + names round trip to identical weights', () => {
    const c = moeConfig;
    const w = randomWeights(c, 3);
    const files = toHf(c, w);
    const ckpt = hfCheckpoint(
      parseHfConfig(files.config, 'config.json'),
      [parseSafetensors(files.weights, 'model.safetensors')],
      undefined,
      { float32: true },
    );
    expect(ckpt.architecture).toBe('MixtralForCausalLM');
    expect(ckpt.config).toMatchObject(c);
    sameWeights(c, ckpt.weights, w);
    ckpt.weights.layers.forEach((l, i) => {
      const src = w.layers[i]!;
      expect(l.w1.length + l.w2.length + l.w3.length).toBe(0);
      expect(l.moe!.router).toEqual(src.moe!.router);
      expect(l.moe!.experts).toHaveLength(4);
      l.moe!.experts.forEach((e, k) => {
        expect(e.w1).toEqual(src.moe!.experts[k]!.w1);
        expect(e.w2).toEqual(src.moe!.experts[k]!.w2);
        expect(e.w3).toEqual(src.moe!.experts[k]!.w3);
      });
    });
  });
});

describe('loadHfModel: a Mixtral-style model', () => {
  it('gives the logits of the same weights loaded directly, and reports its experts', async () => {
    const w = randomWeights(moeConfig, 4, 0.3);
    const files = toHf(moeConfig, w);
    const hf = loadHfModel(backend, { ...files, weights: [files.weights], tokenizer: tokBytes }, NAMES);
    expect(hf.info).toMatchObject({ architecture: 'mixtral', nExperts: 4, topK: 2 });
    const direct = LlamaModel.load(backend, { config: moeConfig, weights: w });
    expect(maxAbsDiff(await logits(hf.model), await logits(direct))).toBeLessThan(1e-5);
    hf.model.dispose();
    direct.dispose();
  });
});

describe('hfCheckpoint: tensors that do not fit the config', () => {
  const all = hfTensors(dense, denseWeights);

  it('missing tensors are listed (first few)', () => {
    const e = mapError(
      dense,
      all.filter((t) => !t.name.includes('mlp.')),
    );
    expect(e.problem).toBe(
      'missing 6 tensors that config.json (LlamaForCausalLM, 2 layers) requires: model.layers.0.mlp.gate_proj.weight, model.layers.0.mlp.up_proj.weight, model.layers.0.mlp.down_proj.weight, model.layers.1.mlp.gate_proj.weight, model.layers.1.mlp.up_proj.weight and 1 more',
    );
    const moe = moeConfig;
    const moeTensors = hfTensors(moe, randomWeights(moe, 3)).filter(
      (t) => !t.name.endsWith('experts.3.w2.weight'),
    );
    expect(mapError(moe, moeTensors).problem).toMatch(
      /^missing 2 tensors that config\.json \(MixtralForCausalLM, 2 layers, 4 experts\) requires: model\.layers\.0\.block_sparse_moe\.experts\.3\.w2\.weight, model\.layers\.1\./,
    );
  });

  it('a tensor of the wrong shape names expected and found', () => {
    const bad = all.map((t) =>
      t.name === 'model.layers.1.mlp.down_proj.weight' ? { ...t, shape: [40, 32] } : t,
    );
    expect(mapError(dense, bad).problem).toBe(
      'tensor "model.layers.1.mlp.down_proj.weight" has shape [40, 32]; config.json implies [32, 40]',
    );
  });

  it('an integer dtype for a weight', () => {
    const bad = all.map((t) =>
      t.name === 'model.norm.weight' ? { ...t, dtype: 'I32' as const, data: new Int32Array(32) } : t,
    );
    expect(mapError(dense, bad).problem).toBe(
      'tensor "model.norm.weight" has dtype I32; expected F32, F16, BF16',
    );
  });

  it('tensors the config does not use (e.g. more layers than num_hidden_layers)', () => {
    const fewer = { ...dense, nLayers: 1 };
    expect(mapError(fewer, all).problem).toMatch(
      /^9 tensors that config\.json \(LlamaForCausalLM, 1 layer\) does not use \(does the config match the checkpoint\?\): model\.layers\.1\./,
    );
  });
});

/** The weights rounded to bfloat16, independently of the reader (for comparing a BF16 export). */
function bf16Rounded(c: LlamaConfig, w: LlamaWeights): LlamaWeights {
  const round = (a: Float32Array) => bf16ToF32(Uint16Array.from(a, f32ToBf16Bits));
  return {
    tokEmbeddings: round(w.tokEmbeddings),
    layers: w.layers.map((l) => {
      const out = { ...l };
      for (const k of ['attentionNorm', 'wq', 'wk', 'wv', 'wo', 'ffnNorm', 'w1', 'w2', 'w3'] as const)
        out[k] = round(l[k]);
      return out;
    }),
    norm: round(w.norm),
    output: w.output && round(w.output),
  };
}
