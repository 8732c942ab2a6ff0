/**
 * The pretrained-SAE readers on their own: NumPy files as numpy writes them, each format's
 * conventions against a direct implementation of the format's forward pass, transcoders, the
 * release table, and the errors (each naming the file and the problem).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { saeCodec } from '../../../analyses/sae/codec';
import { applyInputTransforms } from '../../../analyses/sae/input-transform';
import { parseNpy, parseNpz } from '../../../analyses/sae/npy';
import {
  detectSaeFormat,
  loadPretrainedSae,
  mapHookName,
  transcoderForward,
  type PretrainedLoad,
} from '../../../analyses/sae/pretrained';
import { mulberry32 } from '../../../analyses/sae/prng';
import {
  findRelease,
  neuronpediaFeatureUrl,
  neuronpediaSaeUrl,
  releaseHubId,
  SAE_RELEASES,
} from '../../../analyses/sae/releases';
import { exportSaeLens, importSaeLens } from '../../../analyses/sae/saelens';
import { ModelFormatError } from '../../../runtime/errors';
import { writeSafetensors } from '../../../runtime/formats/safetensors-write';
import { parseHubId } from '../../../runtime/sources/hub-id';
import { npy } from './exact-saes';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(path.resolve(import.meta.dirname, '../../fixtures/sae', name)));
const te = new TextEncoder();

function random(n: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

const sae = (r: PretrainedLoad) => {
  if (r.type !== 'sae') throw new Error('expected an SAE');
  return r.sae;
};

describe('.npy / .npz as numpy writes them', () => {
  const W_enc = Float32Array.from({ length: 12 }, (_, i) => (i - 5) / 4);

  it.each(['gemma-scope-stored.npz', 'gemma-scope-deflated.npz'])('%s: every array, shape and value', (f) => {
    const a = parseNpz(fixture(f), f);
    expect([...a.keys()].sort()).toEqual(['W_dec', 'W_enc', 'b_dec', 'b_enc', 'threshold']);
    expect(a.get('W_enc')).toMatchObject({ dtype: '<f4', shape: [3, 4] });
    expect(Array.from(a.get('W_enc')!.data)).toEqual(Array.from(W_enc));
    expect(a.get('W_dec')!.shape).toEqual([4, 3]);
    expect(a.get('W_dec')!.data[1]).toBe(W_enc[4]! * 2); // W_dec = 2·W_encᵀ
    expect(Array.from(a.get('b_dec')!.data)).toEqual([0.5, -0.25, 0.125]);
  });

  it('Fortran order is transposed into row-major; float64, float16 and big-endian become float32', () => {
    for (const f of ['fortran.npy', 'float64.npy', 'big-endian.npy']) {
      const a = parseNpy(fixture(f), f);
      expect(a.shape, f).toEqual([3, 4]);
      expect(Array.from(a.data), f).toEqual(Array.from(W_enc));
    }
    expect(Array.from(parseNpy(fixture('float16.npy'), 'f').data)).toEqual(Array.from(W_enc)); // exact in f16
  });

  it('a Gemma Scope params.npz from numpy loads as a JumpReLU SAE without b_dec subtraction', () => {
    const r = loadPretrainedSae(
      { 'params.npz': fixture('gemma-scope-stored.npz') },
      { hook: 'blocks.0.hook_resid_post' },
    );
    const s = sae(r);
    expect(r.info).toMatchObject({ format: 'gemma-scope', kind: 'jumprelu', dIn: 3, dSae: 4 });
    // pre = x·W_enc + b_enc, f = pre·[pre > θ]: compare with the numbers the file holds.
    const x = Float32Array.from([0.3, -1.2, 2]);
    const theta = [0, 0.1, 0.2, 0.3];
    const bEnc = [-1, -1 / 3, 1 / 3, 1];
    const { latents } = saeCodec(s).run(x);
    for (let j = 0; j < 4; j++) {
      let pre = bEnc[j]!;
      for (let d = 0; d < 3; d++) pre += x[d]! * W_enc[d * 4 + j]!;
      expect(latents[j]).toBeCloseTo(pre > theta[j]! && pre > 0 ? pre : 0, 5);
    }
  });

  it('refuses what is not a well-formed float array, naming the file and member', () => {
    const good = npy([2, 2], Float32Array.from([1, 2, 3, 4]));
    expect(() => parseNpy(good.subarray(0, good.length - 4), 'a.npy')).toThrow(
      'a.npy: truncated: shape (2, 2) of <f4 needs 16 bytes, found 12',
    );
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expect(() => parseNpy(longer, 'a.npy')).toThrow(
      'a.npy: 4 bytes after the data of shape (2, 2) (16 bytes)',
    );
    expect(() => parseNpy(te.encode('PK not numpy'), 'a.npy')).toThrow('a.npy: not a .npy file');
    const int = good.slice();
    int.set(te.encode("'<i4'"), 10 + "{'descr': ".length);
    expect(() => parseNpy(int, 'a.npy')).toThrow('a.npy: dtype <i4 is not supported');
    const garbled = good.slice();
    garbled.set(te.encode('#'), 18); // the colon after 'descr'
    expect(() => parseNpy(garbled, 'a.npy')).toThrow(/a\.npy: malformed header/);
    const zip = zipSync({ 'W_enc.npy': good.subarray(0, 40), 'notes.txt': te.encode('hi') });
    expect(() => parseNpz(zip, 'params.npz')).toThrow(
      /params\.npz: (W_enc\.npy: truncated|member "notes\.txt")/,
    );
    expect(() => parseNpz(te.encode('not a zip'), 'params.npz')).toThrow(
      'params.npz: not a readable .npz (zip) archive',
    );
  });
});

describe('conventions against each format’s own forward pass', () => {
  const dIn = 6;
  const dSae = 10;
  const x = random(5 * dIn, 1, 2);

  /** SAELens' forward, written from its source: process_sae_in, encode, decode. */
  function saelensForward(
    t: Record<string, Float32Array>,
    c: { apply: boolean; arch: 'standard' | 'gated' | 'jumprelu'; scale?: boolean },
    row: Float32Array,
  ) {
    const xin = Array.from(row, (v, d) => v - (c.apply ? t.b_dec![d]! : 0));
    const f = new Float64Array(dSae);
    for (let j = 0; j < dSae; j++) {
      let acc = 0;
      for (let d = 0; d < dIn; d++) acc += xin[d]! * t.W_enc![d * dSae + j]!;
      if (c.arch === 'gated') {
        const gate = acc + t.b_gate![j]! > 0;
        const mag = acc * Math.exp(t.r_mag![j]!) + t.b_mag![j]!;
        f[j] = gate ? Math.max(0, mag) : 0;
      } else {
        const pre = acc + t.b_enc![j]!;
        f[j] = c.arch === 'jumprelu' ? (pre > t.threshold![j]! ? Math.max(0, pre) : 0) : Math.max(0, pre);
      }
      if (c.scale) f[j]! *= t.finetuning_scaling_factor![j]!;
    }
    return Array.from({ length: dIn }, (_, d) => {
      let acc = t.b_dec![d]!;
      for (let j = 0; j < dSae; j++) acc += f[j]! * t.W_dec![j * dIn + d]!;
      return acc;
    });
  }

  function folder(t: Record<string, Float32Array>, cfg: Record<string, unknown>) {
    const shapes: Record<string, number[]> = { W_enc: [dIn, dSae], W_dec: [dSae, dIn], b_dec: [dIn] };
    const st = writeSafetensors(
      Object.entries(t).map(([name, data]) => ({
        name,
        dtype: 'F32' as const,
        shape: shapes[name] ?? [dSae],
        data,
      })),
    );
    const json = { d_in: dIn, d_sae: dSae, hook_name: 'blocks.1.hook_resid_post', ...cfg };
    return { 'cfg.json': te.encode(JSON.stringify(json)), 'sae_weights.safetensors': st };
  }

  const base = () => ({
    W_enc: random(dIn * dSae, 2),
    W_dec: random(dSae * dIn, 3),
    b_dec: random(dIn, 4),
    b_enc: random(dSae, 5, 0.5),
  });

  type Convention = { apply: boolean; arch: 'standard' | 'gated' | 'jumprelu'; scale?: boolean };
  it.each<[string, Convention]>([
    ['standard, apply_b_dec_to_input true', { apply: true, arch: 'standard' as const }],
    ['standard, apply_b_dec_to_input false', { apply: false, arch: 'standard' as const }],
    ['jumprelu with negative thresholds', { apply: false, arch: 'jumprelu' as const }],
    ['gated, finetuning_scaling_factor', { apply: true, arch: 'gated' as const, scale: true }],
  ])('%s', (_name, c) => {
    const t: Record<string, Float32Array> = base();
    if (c.arch === 'jumprelu') t.threshold = random(dSae, 6, 0.5); // some negative: act as 0
    if (c.arch === 'gated') {
      delete t.b_enc;
      t.b_gate = random(dSae, 7, 0.5);
      t.r_mag = random(dSae, 8, 0.3);
      t.b_mag = random(dSae, 9, 0.5);
    }
    if (c.scale) t.finetuning_scaling_factor = random(dSae, 10).map((v) => 1 + 0.5 * Math.abs(v));
    const files = folder(t, {
      architecture: c.arch,
      apply_b_dec_to_input: c.apply,
      finetuning_scaling_factor: !!c.scale,
    });
    const s = sae(loadPretrainedSae(files));
    const { reconstruction } = saeCodec(s).run(x);
    for (let i = 0; i < 5; i++) {
      const want = saelensForward(t, c, x.subarray(i * dIn, (i + 1) * dIn));
      for (let d = 0; d < dIn; d++) expect(reconstruction[i * dIn + d]).toBeCloseTo(want[d]!, 4);
    }
  });

  it('topk with rescale_acts_by_decoder_norm (SAELens 6): pre·‖W_dec[j]‖, TopK, latents ÷ ‖W_dec[j]‖ decoded', () => {
    const t = base();
    const k = 3;
    const norms = Array.from({ length: dSae }, (_, j) => {
      let n2 = 0;
      for (let d = 0; d < dIn; d++) n2 += t.W_dec[j * dIn + d]! ** 2;
      return Math.sqrt(n2);
    });
    const files = folder(t, { architecture: 'topk', k, rescale_acts_by_decoder_norm: true });
    const row = x.subarray(0, dIn);
    const pre = norms.map((n, j) => {
      let acc = t.b_enc[j]!;
      for (let d = 0; d < dIn; d++) acc += (row[d]! - t.b_dec[d]!) * t.W_enc[d * dSae + j]!;
      return acc * n;
    });
    const top = pre
      .map((v, j) => [v, j] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, k);
    const want = Array.from(t.b_dec);
    for (const [v, j] of top)
      if (v > 0) for (let d = 0; d < dIn; d++) want[d]! += (v / norms[j]!) * t.W_dec[j * dIn + d]!;
    const got = saeCodec(sae(loadPretrainedSae(files))).run(row);
    for (const [v, j] of top) expect(got.latents[j]).toBeCloseTo(Math.max(0, v), 4);
    for (let d = 0; d < dIn; d++) expect(got.reconstruction[d]).toBeCloseTo(want[d]!, 4);
    const careless = saeCodec(
      sae(loadPretrainedSae(files, { ignore: ['rescale_acts_by_decoder_norm'] })),
    ).run(row);
    expect(Array.from(careless.reconstruction)).not.toEqual(Array.from(got.reconstruction));
    expect(() => loadPretrainedSae(folder(t, { rescale_acts_by_decoder_norm: true }))).toThrow(
      'cfg.json: rescale_acts_by_decoder_norm: true on a standard (relu) SAE is not supported (only TopK)',
    );
  });

  it('expected_average_only_in: the factor from cfg.json, the caller or the release is folded in; none is an error', () => {
    const t = base();
    const f = 0.3;
    const cfg = { normalize_activations: 'expected_average_only_in' };
    const want = (row: Float32Array) =>
      saelensForward(
        t,
        { apply: true, arch: 'standard' },
        row.map((v) => v * f),
      ).map((v) => v / f);
    for (const files of [folder(t, { ...cfg, norm_scaling_factor: f }), folder(t, cfg)]) {
      const s = sae(loadPretrainedSae(files, { normScalingFactor: f }));
      const { reconstruction } = saeCodec(s).run(x);
      const w = want(x.subarray(0, dIn));
      for (let d = 0; d < dIn; d++) expect(reconstruction[d]).toBeCloseTo(w[d]!, 4);
    }
    expect(() => loadPretrainedSae(folder(t, cfg))).toThrow(
      'cfg.json: normalize_activations "expected_average_only_in" is not supported without its norm scaling factor',
    );
    // SAELens < 3 wrote normalize_activations: true for the same thing.
    expect(() => loadPretrainedSae(folder(t, { normalize_activations: true }))).toThrow(
      /norm scaling factor/,
    );
  });

  it('constant_norm_rescale, layer_norm and centring are undone on the reconstruction', () => {
    const rows = random(4 * dIn, 11, 3);
    for (const transforms of [
      [{ kind: 'center' as const }],
      [{ kind: 'constant_norm_rescale' as const }],
      [{ kind: 'layer_norm' as const, eps: 1e-5 }],
      [{ kind: 'center' as const }, { kind: 'constant_norm_rescale' as const }],
    ]) {
      const t = applyInputTransforms(transforms, rows, dIn);
      expect(Array.from(t.undo(t.y.slice()))).toEqual(Array.from(rows).map((v) => expect.closeTo(v, 4)));
    }
    const cnr = applyInputTransforms([{ kind: 'constant_norm_rescale' }], rows, dIn).y;
    let n2 = 0;
    for (let d = 0; d < dIn; d++) n2 += cnr[d]! ** 2;
    expect(Math.sqrt(n2)).toBeCloseTo(Math.sqrt(dIn), 5);
  });

  it('scaling_factor of all ones is dropped; not all ones while cfg.json says false is an error', () => {
    const t = { ...base(), scaling_factor: new Float32Array(dSae).fill(1) };
    expect(() => loadPretrainedSae(folder(t, {}))).not.toThrow();
    t.scaling_factor[3] = 2;
    expect(() => loadPretrainedSae(folder(t, {}))).toThrow(
      'sae_weights.safetensors: scaling_factor is present and not all ones, but cfg.json says finetuning_scaling_factor: false',
    );
  });

  it('sparsify: encoder.weight is [d_sae, d_in]; TopK over ReLU; b_dec subtracted', () => {
    const enc = random(dSae * dIn, 12);
    const t = {
      'encoder.weight': enc,
      'encoder.bias': random(dSae, 13, 0.3),
      W_dec: random(dSae * dIn, 14),
      b_dec: random(dIn, 15),
    };
    const st = writeSafetensors([
      { name: 'encoder.weight', dtype: 'F32', shape: [dSae, dIn], data: t['encoder.weight'] },
      { name: 'encoder.bias', dtype: 'F32', shape: [dSae], data: t['encoder.bias'] },
      { name: 'W_dec', dtype: 'F32', shape: [dSae, dIn], data: t.W_dec },
      { name: 'b_dec', dtype: 'F32', shape: [dIn], data: t.b_dec },
    ]);
    const cfg = te.encode(JSON.stringify({ d_in: dIn, num_latents: dSae, k: 3, expansion_factor: 32 }));
    const r = loadPretrainedSae(
      { 'cfg.json': cfg, 'sae.safetensors': st },
      { location: { path: 'model.layers.7' } },
    );
    expect(r.info).toMatchObject({
      format: 'sparsify',
      kind: 'topk',
      k: 3,
      hookIn: 'blocks.7.hook_resid_post',
    });
    const row = x.subarray(0, dIn);
    const pre = Array.from({ length: dSae }, (_, j) => {
      let acc = t['encoder.bias'][j]!;
      for (let d = 0; d < dIn; d++) acc += (row[d]! - t.b_dec[d]!) * enc[j * dIn + d]!;
      return Math.max(0, acc);
    });
    const top = pre
      .map((v, j) => [v, j] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3);
    const { latents } = saeCodec(sae(r)).run(row);
    for (const [v, j] of top) expect(latents[j]).toBeCloseTo(v, 4);
    expect(Array.from(latents).filter((v) => v !== 0).length).toBe(top.filter(([v]) => v > 0).length);
  });
});

describe('transcoders', () => {
  const dIn = 5;
  const dOut = 7;
  const dSae = 9;
  const st = (extra: { name: string; shape: number[]; data: Float32Array }[] = []) =>
    writeSafetensors(
      [
        { name: 'W_enc', shape: [dIn, dSae], data: random(dIn * dSae, 20) },
        { name: 'b_enc', shape: [dSae], data: random(dSae, 21, 0.3) },
        { name: 'W_dec', shape: [dSae, dOut], data: random(dSae * dOut, 22) },
        { name: 'b_dec', shape: [dOut], data: random(dOut, 23) },
        ...extra,
      ].map((t) => ({ ...t, dtype: 'F32' as const })),
    );
  const cfg = (c: Record<string, unknown>) =>
    te.encode(
      JSON.stringify({
        d_in: dIn,
        d_out: dOut,
        d_sae: dSae,
        hook_name: 'blocks.1.mlp.hook_in',
        hook_name_out: 'blocks.1.hook_mlp_out',
        apply_b_dec_to_input: false,
        ...c,
      }),
    );

  it('SAELens skip_transcoder: both hooks recorded, shapes checked, output = decode + x·W_skipᵀ', () => {
    const wSkip = random(dOut * dIn, 24);
    const r = loadPretrainedSae({
      'cfg.json': cfg({ architecture: 'skip_transcoder' }),
      'sae_weights.safetensors': st([{ name: 'W_skip', shape: [dOut, dIn], data: wSkip }]),
    });
    expect(r.type).toBe('transcoder');
    expect(r.info).toMatchObject({
      transcoder: true,
      skip: true,
      hookIn: 'blocks.1.ln2.hook_normalized',
      hookOut: 'blocks.1.hook_mlp_out',
      dIn,
      dOut,
      dSae,
    });
    if (r.type !== 'transcoder') return;
    const xin = random(2 * dIn, 25);
    const noSkip = transcoderForward(
      { ...r.transcoder, params: { ...r.transcoder.params, wSkip: undefined } },
      xin,
    );
    const withSkip = transcoderForward(r.transcoder, xin);
    for (let o = 0; o < dOut; o++) {
      let s = 0;
      for (let d = 0; d < dIn; d++) s += xin[d]! * wSkip[o * dIn + d]!;
      expect(withSkip.output[o]! - noSkip.output[o]!).toBeCloseTo(s, 4);
    }
  });

  it('jumprelu_transcoder needs its thresholds; a W_dec of the wrong d_out names the file', () => {
    const r = loadPretrainedSae({
      'cfg.json': cfg({ architecture: 'jumprelu_transcoder' }),
      'sae_weights.safetensors': st([{ name: 'threshold', shape: [dSae], data: new Float32Array(dSae) }]),
    });
    expect(r.info).toMatchObject({ kind: 'jumprelu', transcoder: true, skip: false });
    expect(() =>
      loadPretrainedSae({
        'cfg.json': cfg({ architecture: 'transcoder', d_out: 8 }),
        'sae_weights.safetensors': st(),
      }),
    ).toThrow('sae_weights.safetensors: W_dec is [9, 7], expected [9, 8] (d_out 8 from cfg.json)');
    expect(() => importSaeLens({ cfgJson: cfg({ architecture: 'transcoder' }), weights: st() })).toThrow(
      /is a transcoder \(reads blocks\.1\.ln2\.hook_normalized, writes blocks\.1\.hook_mlp_out\)/,
    );
  });

  it('sparsify transcode: MLP input to MLP output from the folder name', () => {
    const sparsify = writeSafetensors([
      { name: 'encoder.weight', dtype: 'F32', shape: [dSae, dIn], data: random(dSae * dIn, 30) },
      { name: 'encoder.bias', dtype: 'F32', shape: [dSae], data: random(dSae, 31) },
      { name: 'W_dec', dtype: 'F32', shape: [dSae, dIn], data: random(dSae * dIn, 32) },
      { name: 'b_dec', dtype: 'F32', shape: [dIn], data: random(dIn, 33) },
      { name: 'W_skip', dtype: 'F32', shape: [dIn, dIn], data: random(dIn * dIn, 34) },
    ]);
    const c = te.encode(
      JSON.stringify({ d_in: dIn, num_latents: dSae, k: 2, transcode: true, skip_connection: true }),
    );
    const r = loadPretrainedSae(
      { 'cfg.json': c, 'sae.safetensors': sparsify },
      { location: { path: 'layers.3.mlp' } },
    );
    expect(r.info).toMatchObject({
      format: 'sparsify',
      transcoder: true,
      skip: true,
      hookIn: 'blocks.3.ln2.hook_normalized',
      hookOut: 'blocks.3.hook_mlp_out',
    });
  });
});

describe('hooks, formats and errors', () => {
  const e = { dIn: 4, dSae: 8 };
  const gs = (extra: Record<string, Uint8Array> = {}) =>
    zipSync({
      'W_enc.npy': npy([e.dIn, e.dSae], random(32, 40)),
      'W_dec.npy': npy([e.dSae, e.dIn], random(32, 41)),
      'b_enc.npy': npy([e.dSae], random(8, 42)),
      'b_dec.npy': npy([e.dIn], random(4, 43)),
      'threshold.npy': npy([e.dSae], random(8, 44).map(Math.abs)),
      ...extra,
    });

  it('a Gemma Scope hook comes from --hook, the release table or the repository and path', () => {
    const files = { 'params.npz': gs() };
    expect(() => loadPretrainedSae(files)).toThrow(
      'params.npz: it does not say which hook it reads; give --hook',
    );
    const byPath = (repo: string, p: string) =>
      loadPretrainedSae(files, { location: { repo, path: p } }).info;
    expect(byPath('google/gemma-scope-2b-pt-res', 'layer_20/width_16k/average_l0_71')).toMatchObject({
      hookIn: 'blocks.20.hook_resid_post',
      modelName: 'gemma-2-2b',
    });
    expect(byPath('google/gemma-scope-9b-pt-mlp', 'layer_3/width_16k/average_l0_50').hookIn).toBe(
      'blocks.3.hook_mlp_out',
    );
    expect(byPath('google/gemma-scope-2b-pt-att', 'layer_5/width_16k/average_l0_40').hookIn).toBe(
      'blocks.5.attn.hook_z',
    );
    const rel = findRelease('gemma-scope-2b-pt-res-canonical/layer_20/width_16k/canonical')!;
    const viaRelease = loadPretrainedSae(files, { release: rel }).info;
    expect(viaRelease).toMatchObject({
      hookIn: 'blocks.20.hook_resid_post',
      neuronpedia: 'gemma-2-2b/20-gemmascope-res-16k',
    });
    expect(loadPretrainedSae(files, { release: rel, hook: 'blocks.3.hook_resid_post' }).info.hookIn).toBe(
      'blocks.3.hook_resid_post',
    );
  });

  it('unexpected or missing tensors, and folders with no weights, are named', () => {
    expect(() =>
      loadPretrainedSae({ 'params.npz': gs({ 'extra.npy': npy([1], new Float32Array(1)) }) }, { hook: 'h' }),
    ).toThrow('params.npz: unexpected tensor "extra"');
    expect(() => detectSaeFormat(['cfg.json'], 'hf:org/repo/layer_1')).toThrow(
      'hf:org/repo/layer_1: no SAE weights found (it has cfg.json); expected cfg.json + sae_weights.safetensors (SAELens)',
    );
    expect(() => loadPretrainedSae({ 'sae_weights.safetensors': new Uint8Array(8) })).toThrow(
      'cfg.json: missing (a saelens SAE needs it)',
    );
  });

  it('TransformerLens hook names map onto ours; per-head hooks are refused', () => {
    expect(mapHookName('blocks.3.hook_mlp_in', 'cfg.json')).toBe('blocks.3.hook_resid_mid');
    expect(mapHookName('blocks.3.mlp.hook_in', 'cfg.json')).toBe('blocks.3.ln2.hook_normalized');
    expect(mapHookName('blocks.3.attn.hook_z', 'cfg.json')).toBe('blocks.3.attn.hook_z');
    expect(() => mapHookName('blocks.3.attn.hook_result', 'cfg.json')).toThrow(ModelFormatError);
  });

  it('export writes the transforms and Neuronpedia id back; the loader reads them again', () => {
    const dIn = 4;
    const dSae = 6;
    const cfg = {
      kind: 'relu' as const,
      dIn,
      dSae,
      hookName: 'blocks.0.hook_resid_pre',
      normalizeDecoder: false,
    };
    const params = { wEnc: random(24, 50), bEnc: random(6, 51), wDec: random(24, 52), bDec: random(4, 53) };
    const files = exportSaeLens(cfg, params, {
      modelName: 'gpt2-small',
      input: [{ kind: 'center' }, { kind: 'layer_norm', eps: 1e-5 }],
      neuronpedia: 'gpt2-small/0-res-jb',
    });
    const back = sae(
      loadPretrainedSae({ 'cfg.json': te.encode(files.cfgJson), 'sae_weights.safetensors': files.weights }),
    );
    expect(back.input).toEqual([{ kind: 'center' }, { kind: 'layer_norm', eps: 1e-5 }]);
    expect(back.source).toMatchObject({
      format: 'saelens',
      neuronpedia: 'gpt2-small/0-res-jb',
      modelName: 'gpt2-small',
    });
    expect(() => importSaeLens(files)).toThrow(/needs a per-row input transform \(center, layer_norm\)/);
  });
});

describe('the release table', () => {
  it('has a dozen entries with unique ids, parseable hub ids and Neuronpedia links', () => {
    expect(SAE_RELEASES.length).toBeGreaterThanOrEqual(12);
    expect(new Set(SAE_RELEASES.map((r) => r.id)).size).toBe(SAE_RELEASES.length);
    expect(new Set(SAE_RELEASES.map((r) => r.label)).size).toBe(SAE_RELEASES.length);
    for (const r of SAE_RELEASES) {
      const h = parseHubId(releaseHubId(r));
      expect(findRelease(h)).toBe(r);
      expect(findRelease(r.label)).toBe(r);
    }
    const jb = findRelease('GPT-2 small · res-jb · layer 8')!;
    expect(jb).toMatchObject({
      repo: 'jbloom/GPT2-Small-SAEs-Reformatted',
      path: 'blocks.8.hook_resid_pre',
      hook: 'blocks.8.hook_resid_pre',
      neuronpedia: 'gpt2-small/8-res-jb',
      centerWritingWeights: true,
    });
    expect(
      findRelease('hf:google/gemma-scope-2b-pt-res@main/layer_20/width_16k/average_l0_71/params.npz')?.hook,
    ).toBe('blocks.20.hook_resid_post');
    expect(neuronpediaFeatureUrl(jb.neuronpedia!, 42)).toBe(
      'https://www.neuronpedia.org/gpt2-small/8-res-jb/42',
    );
  });

  it('Neuronpedia URLs: one per SAE and feature, every part of the id escaped (it comes from a file)', () => {
    expect(neuronpediaSaeUrl('gemma-2-2b/20-gemmascope-res-16k')).toBe(
      'https://www.neuronpedia.org/gemma-2-2b/20-gemmascope-res-16k',
    );
    expect(neuronpediaFeatureUrl('gemma-2-2b/20-gemmascope-res-16k', 0)).toBe(
      'https://www.neuronpedia.org/gemma-2-2b/20-gemmascope-res-16k/0',
    );
    // A hostile id stays a path on neuronpedia.org: no other host, no query, no fragment, no script.
    for (const id of ['evil.com/x', '//evil.com/a', 'a?b=1#c/d', 'javascript:alert(1)/x', '@evil.com/y']) {
      const u = new URL(neuronpediaFeatureUrl(id, 7));
      expect(u.origin).toBe('https://www.neuronpedia.org');
      expect(u.search + u.hash).toBe('');
      expect(u.pathname.endsWith('/7')).toBe(true);
    }
    // Entries with pages on Neuronpedia say so; those without have none.
    const np = (id: string) => findRelease(id)?.neuronpedia;
    expect(np('gpt2-small-res-jb/blocks.4.hook_resid_pre')).toBe('gpt2-small/4-res-jb');
    expect(np('gpt2-small-res-jb/blocks.11.hook_resid_post')).toBe('gpt2-small/12-res-jb');
    expect(np('pythia-70m-deduped-res-sm/blocks.3.hook_resid_post')).toBe('pythia-70m-deduped/3-res-sm');
    expect(np('EleutherAI/sae-llama-3-8b-32x/layers.10')).toBeUndefined();
  });
});
