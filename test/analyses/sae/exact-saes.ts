/**
 * Exact-reconstruction SAEs built at test time from the activations they will be evaluated on,
 * written as the files of each pretrained format (SAELens, Gemma Scope params.npz, Gemma Scope 2
 * params.safetensors, EleutherAI sparsify), so that reading the files with every convention
 * honoured gives explained variance 1, L0 = the construction's and loss recovered 1, and reading
 * them while missing one convention does not.
 *
 * Constructions, on rows y (the activations in the SAE's own input space) and a decoder bias b:
 * - `pairs`: latents 2j and 2j+1 read ±(y_j − b_j) (W_enc = [I, −I]) and write ±e_j: for each j
 *   exactly one fires, so x̂ = (y − b) + b = y and L0 = d_in. Exact for every input, at any scale.
 * - `window`: both latents of a pair fire, on c_j ± (y_j − b_j) with c_j a little above the largest
 *   |y_j − b_j| in the data, and write ±e_j/2: x̂ = y while every |y_j − b_j| < c_j, L0 = 2·d_in.
 *   It is exact only on the data it was built for (and smaller): what a per-row input transform
 *   or a scale factor is tested with, since a pairs SAE would be exact with or without them.
 * With `applyBDec: false` the encoder does not subtract b, so b_enc carries ∓b_j instead.
 * `extras` adds latents that must stay silent: JumpReLU ones whose pre-activation 1 sits below
 * their threshold 2, gated ones whose gate is closed while their magnitude is positive.
 * `sentinel` adds two JumpReLU latents reading ±K·mean(y) (threshold 1e-3, decoder rows ±1): silent
 * on rows of mean 0 (centred or layer-normed rows), firing K·|mean| on raw ones.
 */
import { zipSync } from 'fflate';
import { activationRows, checkSaeHook, collectActivations } from '../../../analyses/sae/collect';
import { writeSafetensors } from '../../../runtime/formats/safetensors-write';
import type { LlamaModel, Tokenizer } from '../../../runtime/index';
import { buildTokenStream } from '../../../runtime/text';

/** The activations at `hook` over the text's windows (what an evaluation of the text reads), as rows. */
export async function activationsAt(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  hook: string,
): Promise<{ x: Float32Array; d: number }> {
  const parts: Float32Array[] = [];
  let d = 0;
  for await (const b of collectActivations(model, buildTokenStream(tokenizer, text), {
    hook: checkSaeHook(model.config, hook),
  })) {
    const r = activationRows(b);
    d = r.d;
    parts.push(r.activation.slice());
  }
  const x = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (x.set(p, at), at + p.length), 0);
  return { x, d };
}

export interface ExactSae {
  dIn: number;
  dSae: number;
  /** [dIn, dSae] */
  wEnc: Float32Array;
  /** [dSae] */
  bEnc: Float32Array;
  /** [dSae, dIn] */
  wDec: Float32Array;
  /** [dIn] */
  bDec: Float32Array;
  /** [dSae] JumpReLU thresholds (0 on the exact latents, 2 on the extras). */
  threshold: Float32Array;
  /** Gated SAEs: b_gate, r_mag, b_mag with W_enc as the gate weights. */
  gate?: { bGate: Float32Array; rMag: Float32Array; bMag: Float32Array };
  /** Latents active per row when read right. */
  l0: number;
}

export interface ExactOptions {
  construction: 'pairs' | 'window';
  /** Whether the format's encoder subtracts b_dec. */
  applyBDec: boolean;
  /** Silent JumpReLU latents (pre-activation 1, threshold 2). */
  extras?: number;
  /** Build a gated SAE: r_mag = ln 2 on the exact latents, extras with closed gates. */
  gated?: boolean;
  /** Multiply the latents by this before decoding (finetuning_scaling_factor): W_dec rows ÷ it. */
  latentScale?: number;
  /** c_j = slack · max |y_j − b_j| (window; default 1.05). */
  slack?: number;
  /** K of the two mean-detecting latents (rows in the SAE's space must have mean 0). */
  sentinel?: number;
}

/**
 * An exact SAE for rows y [n, d] (already in the SAE's input space).
 *
 * @example
 * const e = exactSae(y, 48, { construction: 'pairs', applyBDec: false, extras: 4 });
 */
export function exactSae(y: Float32Array, d: number, o: ExactOptions): ExactSae {
  const n = y.length / d;
  const extras = o.extras ?? 0;
  const sentinels = o.sentinel !== undefined ? 2 : 0;
  const m = 2 * d + extras + sentinels;
  const b = new Float32Array(d);
  // A decoder bias with a visible effect: a tenth of the mean plus a ramp of ±0.4 rms.
  let ss = 0;
  for (const v of y) ss += v * v;
  const rms = Math.sqrt(ss / y.length);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i * d + j]!;
    b[j] = 0.1 * (s / n) + 0.2 * rms * ((j % 5) - 2);
  }
  const c = new Float32Array(d);
  if (o.construction === 'window') {
    for (let j = 0; j < d; j++) {
      let mx = 0;
      for (let i = 0; i < n; i++) mx = Math.max(mx, Math.abs(y[i * d + j]! - b[j]!));
      c[j] = (o.slack ?? 1.05) * mx + 1e-3;
    }
  }
  const wEnc = new Float32Array(d * m);
  const bEnc = new Float32Array(m);
  const wDec = new Float32Array(m * d);
  const threshold = new Float32Array(m);
  const out = (o.construction === 'window' ? 0.5 : 1) / (o.latentScale ?? 1) / (o.gated ? 2 : 1);
  for (let j = 0; j < d; j++) {
    wEnc[j * m + 2 * j] = 1;
    wEnc[j * m + 2 * j + 1] = -1;
    bEnc[2 * j] = c[j]! - (o.applyBDec ? 0 : b[j]!);
    bEnc[2 * j + 1] = c[j]! + (o.applyBDec ? 0 : b[j]!);
    wDec[2 * j * d + j] = out;
    wDec[(2 * j + 1) * d + j] = -out;
  }
  const gate = o.gated
    ? { bGate: bEnc.slice(), rMag: new Float32Array(m), bMag: new Float32Array(m) }
    : undefined;
  for (let e = 0; e < extras; e++) {
    const s = 2 * d + e;
    for (let j = 0; j < d; j++) wDec[s * d + j] = 0.3 * (1 + ((e + j) % 3));
    if (gate) {
      gate.bGate[s] = -1;
      gate.bMag[s] = 1;
    } else {
      bEnc[s] = 1;
      threshold[s] = 2;
    }
  }
  if (o.sentinel !== undefined) {
    if (!o.applyBDec || gate) throw new Error('exactSae: sentinels need applyBDec and no gate');
    const K = o.sentinel;
    let meanB = 0;
    for (const v of b) meanB += v / d;
    for (const [at, sign] of [
      [2 * d + extras, 1],
      [2 * d + extras + 1, -1],
    ] as const) {
      for (let j = 0; j < d; j++) {
        wEnc[j * m + at] = (sign * K) / d;
        wDec[at * d + j] = sign;
      }
      bEnc[at] = sign * K * meanB;
      threshold[at] = 1e-3;
    }
  }
  if (gate) {
    for (let s = 0; s < 2 * d; s++) {
      gate.rMag[s] = Math.LN2;
      gate.bMag[s] = 2 * gate.bGate[s]!;
    }
  }
  return {
    dIn: d,
    dSae: m,
    wEnc,
    bEnc,
    wDec,
    bDec: b,
    threshold,
    ...(gate ? { gate } : {}),
    l0: o.construction === 'window' ? 2 * d : d,
  };
}

/** Each row minus its mean (TransformerLens' centred residual). */
export function centerRows(x: Float32Array, d: number): Float32Array {
  const y = x.slice();
  for (let i = 0; i < x.length / d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]!;
    for (let j = 0; j < d; j++) y[i * d + j]! -= s / d;
  }
  return y;
}

/** Rows rescaled to norm √d (SAELens constant_norm_rescale). */
export function normRescaleRows(x: Float32Array, d: number): Float32Array {
  const y = x.slice();
  for (let i = 0; i < x.length / d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    for (let j = 0; j < d; j++) y[i * d + j]! *= Math.sqrt(d) / Math.sqrt(s);
  }
  return y;
}

/** (x − μ)/(σ + 1e-5) per row, σ unbiased (SAELens layer_norm). */
export function layerNormRows(x: Float32Array, d: number): Float32Array {
  const y = x.slice();
  for (let i = 0; i < x.length / d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]!;
    const mu = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[i * d + j]! - mu) ** 2;
    const sd = Math.sqrt(v / (d - 1)) + 1e-5;
    for (let j = 0; j < d; j++) y[i * d + j] = (x[i * d + j]! - mu) / sd;
  }
  return y;
}

const te = new TextEncoder();

/** SAELens cfg.json + sae_weights.safetensors. `cfg` overrides the defaults written. */
export function saeLensFolder(
  e: ExactSae,
  cfg: Record<string, unknown>,
  opts: { scaling?: number } = {},
): Record<string, Uint8Array> {
  const arch = (cfg.architecture as string | undefined) ?? 'standard';
  const tensors = [
    { name: 'W_enc', dtype: 'F32' as const, shape: [e.dIn, e.dSae], data: e.wEnc },
    { name: 'W_dec', dtype: 'F32' as const, shape: [e.dSae, e.dIn], data: e.wDec },
    { name: 'b_dec', dtype: 'F32' as const, shape: [e.dIn], data: e.bDec },
  ];
  if (arch === 'gated') {
    const g = e.gate!;
    tensors.push(
      { name: 'b_gate', dtype: 'F32', shape: [e.dSae], data: g.bGate },
      { name: 'r_mag', dtype: 'F32', shape: [e.dSae], data: g.rMag },
      { name: 'b_mag', dtype: 'F32', shape: [e.dSae], data: g.bMag },
    );
  } else tensors.push({ name: 'b_enc', dtype: 'F32', shape: [e.dSae], data: e.bEnc });
  if (arch === 'jumprelu' || arch === 'jumprelu_transcoder')
    tensors.push({ name: 'threshold', dtype: 'F32', shape: [e.dSae], data: e.threshold });
  if (opts.scaling !== undefined) {
    const s = new Float32Array(e.dSae).fill(opts.scaling);
    tensors.push({ name: 'finetuning_scaling_factor', dtype: 'F32', shape: [e.dSae], data: s });
  }
  const json = {
    architecture: arch,
    d_in: e.dIn,
    d_sae: e.dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    finetuning_scaling_factor: opts.scaling !== undefined,
    model_name: 'tiny',
    hook_name: 'blocks.0.hook_resid_post',
    hook_head_index: null,
    ...cfg,
  };
  return {
    'cfg.json': te.encode(JSON.stringify(json)),
    'sae_weights.safetensors': writeSafetensors(tensors),
  };
}

/** A little-endian float32 .npy (format 1.0, header padded to 64 bytes as numpy writes it). */
export function npy(shape: readonly number[], data: Float32Array): Uint8Array {
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Gemma Scope: params.npz with W_enc, W_dec, b_enc, b_dec, threshold (np.savez, stored). */
export function gemmaScopeFolder(e: ExactSae, level: 0 | 6 = 0): Record<string, Uint8Array> {
  const npz = zipSync(
    {
      'W_enc.npy': npy([e.dIn, e.dSae], e.wEnc),
      'W_dec.npy': npy([e.dSae, e.dIn], e.wDec),
      'b_enc.npy': npy([e.dSae], e.bEnc),
      'b_dec.npy': npy([e.dIn], e.bDec),
      'threshold.npy': npy([e.dSae], e.threshold),
    },
    { level },
  );
  return { 'params.npz': npz };
}

/** Gemma Scope 2: params.safetensors with lowercase names, and config.json. */
export function gemmaScope2Folder(e: ExactSae): Record<string, Uint8Array> {
  const st = writeSafetensors([
    { name: 'w_enc', dtype: 'F32', shape: [e.dIn, e.dSae], data: e.wEnc },
    { name: 'w_dec', dtype: 'F32', shape: [e.dSae, e.dIn], data: e.wDec },
    { name: 'b_enc', dtype: 'F32', shape: [e.dSae], data: e.bEnc },
    { name: 'b_dec', dtype: 'F32', shape: [e.dIn], data: e.bDec },
    { name: 'threshold', dtype: 'F32', shape: [e.dSae], data: e.threshold },
  ]);
  return { 'params.safetensors': st, 'config.json': te.encode(JSON.stringify({ width: e.dSae })) };
}

/** EleutherAI sparsify: cfg.json + sae.safetensors (encoder.weight is [d_sae, d_in]). */
export function sparsifyFolder(
  e: ExactSae,
  k: number,
  extra: Record<string, unknown> = {},
): Record<string, Uint8Array> {
  const encT = new Float32Array(e.dSae * e.dIn);
  for (let d = 0; d < e.dIn; d++)
    for (let s = 0; s < e.dSae; s++) encT[s * e.dIn + d] = e.wEnc[d * e.dSae + s]!;
  const st = writeSafetensors([
    { name: 'encoder.weight', dtype: 'F32', shape: [e.dSae, e.dIn], data: encT },
    { name: 'encoder.bias', dtype: 'F32', shape: [e.dSae], data: e.bEnc },
    { name: 'W_dec', dtype: 'F32', shape: [e.dSae, e.dIn], data: e.wDec },
    { name: 'b_dec', dtype: 'F32', shape: [e.dIn], data: e.bDec },
  ]);
  const cfg = {
    activation: 'topk',
    expansion_factor: 2,
    normalize_decoder: true,
    num_latents: e.dSae,
    k,
    multi_topk: false,
    skip_connection: false,
    transcode: false,
    d_in: e.dIn,
    ...extra,
  };
  return { 'cfg.json': te.encode(JSON.stringify(cfg)), 'sae.safetensors': st };
}
