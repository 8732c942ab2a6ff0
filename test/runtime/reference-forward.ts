/**
 * An independent, deliberately naive llama2.c forward pass for checking the runtime: its own
 * legacy-checkpoint reader and plain scalar loops written straight from run.c `forward` (one token
 * at a time, KV cache, float32 state), sharing no code with runtime/ or kernels/. MoE models (which
 * llama2.c files cannot hold) come in as per-layer arrays (`ReferenceLlama.fromLayers`); their FFN
 * is Mixtral's `MixtralSparseMoeBlock` written out token by token.
 */

export interface RefConfig {
  dim: number;
  hidden: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocab: number;
  seqLen: number;
}

/** A sparse MoE FFN per layer: router [E, dim] and each expert's w1/w2/w3 (run.c layouts). */
export interface RefMoe {
  nExperts: number;
  topK: number;
  normTopKProb: boolean;
  layers: { router: Float32Array; experts: { w1: Float32Array; w2: Float32Array; w3: Float32Array }[] }[];
}

/** Routing changes of one layer (the runtime's interventions, restated). */
export interface RefRouting {
  disabled?: readonly number[];
  topK?: number;
  temperature?: number;
  bias?: ArrayLike<number>;
  normTopKProb?: boolean;
  /** Mix every expert by its probability (no top-k at all): the dense mixture. */
  denseMixture?: boolean;
}

/** Options of `ReferenceLlama.forward` for MoE models. */
export interface RefForwardOptions {
  routing?: (layer: number) => RefRouting;
  /** Told each token's chosen experts and gates, layer by layer. */
  onRoute?: (layer: number, experts: number[], gates: number[], probs: number[]) => void;
}

/** Host weights as the runtime's LlamaWeights hold them (structurally; no import from runtime/). */
export interface RefLayeredWeights {
  tokEmbeddings: Float32Array;
  layers: Record<
    'attentionNorm' | 'wq' | 'wk' | 'wv' | 'wo' | 'ffnNorm' | 'w1' | 'w2' | 'w3',
    Float32Array
  >[];
  norm: Float32Array;
  output: Float32Array | null;
}

/** run.c `Transformer` in miniature. Legacy (header-less magic) files, or layered weights. */
export class ReferenceLlama {
  readonly p: RefConfig;
  private readonly w: Record<string, Float32Array>;
  private readonly keyCache: Float32Array;
  private readonly valueCache: Float32Array;
  private moe: RefMoe | null = null;

  /**
   * A model from per-layer arrays (the layout of the runtime's LlamaWeights), with an MoE FFN when
   * `moe` is given (then the dense w1/w2/w3 are ignored).
   */
  static fromLayers(p: RefConfig, weights: RefLayeredWeights, moe: RefMoe | null): ReferenceLlama {
    const cat = (arrays: Float32Array[]) => {
      const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
      let o = 0;
      for (const a of arrays) out.set(a, (o += a.length) - a.length);
      return out;
    };
    const L = weights.layers;
    const per = (k: keyof RefLayeredWeights['layers'][number]) => cat(L.map((l) => l[k]));
    const headSize = p.dim / p.nHeads;
    const shared = weights.output === null;
    const header = new Int32Array([
      p.dim,
      p.hidden,
      p.nLayers,
      p.nHeads,
      p.nKvHeads,
      shared ? p.vocab : -p.vocab,
      p.seqLen,
    ]);
    const rope = new Float32Array(p.seqLen * headSize); // both tables; the forward ignores them
    const ffn = moe
      ? [new Float32Array(p.nLayers * p.dim * p.hidden * 3)]
      : [per('w1'), per('w2'), per('w3')];
    const body = cat([
      weights.tokEmbeddings,
      per('attentionNorm'),
      per('wq'),
      per('wk'),
      per('wv'),
      per('wo'),
      per('ffnNorm'),
      ...ffn,
      weights.norm,
      rope,
      ...(weights.output ? [weights.output] : []),
    ]);
    const file = new Uint8Array(28 + body.byteLength);
    file.set(new Uint8Array(header.buffer), 0);
    file.set(new Uint8Array(body.buffer), 28);
    const ref = new ReferenceLlama(file.buffer);
    ref.moe = moe;
    return ref;
  }

  constructor(file: ArrayBuffer) {
    const h = new Int32Array(file, 0, 7);
    const shared = h[5]! > 0;
    this.p = {
      dim: h[0]!,
      hidden: h[1]!,
      nLayers: h[2]!,
      nHeads: h[3]!,
      nKvHeads: h[4]!,
      vocab: Math.abs(h[5]!),
      seqLen: h[6]!,
    };
    const { dim, hidden, nLayers: L, nHeads, nKvHeads, vocab, seqLen } = this.p;
    const headSize = dim / nHeads;
    const kvDim = (dim * nKvHeads) / nHeads;
    const f = new Float32Array(file, 28);
    let o = 0;
    const take = (n: number) => f.subarray(o, (o += n));
    this.w = {};
    this.w.tok = take(vocab * dim);
    this.w.rmsAtt = take(L * dim);
    this.w.wq = take(L * dim * dim);
    this.w.wk = take(L * dim * kvDim);
    this.w.wv = take(L * dim * kvDim);
    this.w.wo = take(L * dim * dim);
    this.w.rmsFfn = take(L * dim);
    this.w.w1 = take(L * dim * hidden);
    this.w.w2 = take(L * hidden * dim);
    this.w.w3 = take(L * dim * hidden);
    this.w.rmsFinal = take(dim);
    take((seqLen * headSize) / 2);
    take((seqLen * headSize) / 2);
    this.w.wcls = shared ? this.w.tok : take(vocab * dim);
    if (o !== f.length) throw new Error(`reference reader: ${f.length - o} floats left over`);
    this.keyCache = new Float32Array(L * seqLen * kvDim);
    this.valueCache = new Float32Array(L * seqLen * kvDim);
  }

  /** Logits for `token` at position `pos` (positions must be fed in order from 0). */
  forward(token: number, pos: number, opts: RefForwardOptions = {}): Float32Array {
    const { dim, hidden, nLayers, nHeads, nKvHeads, vocab, seqLen } = this.p;
    const w = this.w;
    const headSize = dim / nHeads;
    const kvDim = (dim * nKvHeads) / nHeads;
    const kvMul = nHeads / nKvHeads;
    const x = w.tok!.slice(token * dim, (token + 1) * dim);
    const xb = new Float32Array(dim);
    const xb2 = new Float32Array(dim);
    const hb = new Float32Array(hidden);
    const hb2 = new Float32Array(hidden);
    const q = new Float32Array(dim);
    const att = new Float32Array(seqLen);

    for (let l = 0; l < nLayers; l++) {
      rmsnorm(xb, x, w.rmsAtt!.subarray(l * dim, (l + 1) * dim));
      const loff = l * seqLen * kvDim;
      const k = this.keyCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      const v = this.valueCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      matmul(q, xb, w.wq!.subarray(l * dim * dim), dim, dim);
      matmul(k, xb, w.wk!.subarray(l * dim * kvDim), dim, kvDim);
      matmul(v, xb, w.wv!.subarray(l * dim * kvDim), dim, kvDim);

      for (let i = 0; i < dim; i += 2) {
        const headDim = i % headSize;
        const freq = 1.0 / Math.pow(10000.0, headDim / headSize);
        const val = pos * freq;
        const fcr = Math.cos(val);
        const fci = Math.sin(val);
        const rotn = i < kvDim ? 2 : 1;
        for (let r = 0; r < rotn; r++) {
          const vec = r === 0 ? q : k;
          const v0 = vec[i]!;
          const v1 = vec[i + 1]!;
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }

      for (let h = 0; h < nHeads; h++) {
        const qo = h * headSize;
        const kvo = Math.floor(h / kvMul) * headSize;
        for (let t = 0; t <= pos; t++) {
          let score = 0;
          for (let i = 0; i < headSize; i++) score += q[qo + i]! * this.keyCache[loff + t * kvDim + kvo + i]!;
          att[t] = score / Math.sqrt(headSize);
        }
        softmax(att, pos + 1);
        for (let i = 0; i < headSize; i++) xb[qo + i] = 0;
        for (let t = 0; t <= pos; t++) {
          const a = att[t]!;
          for (let i = 0; i < headSize; i++)
            xb[qo + i] = xb[qo + i]! + a * this.valueCache[loff + t * kvDim + kvo + i]!;
        }
      }
      matmul(xb2, xb, w.wo!.subarray(l * dim * dim), dim, dim);
      for (let i = 0; i < dim; i++) x[i] = x[i]! + xb2[i]!;

      rmsnorm(xb, x, w.rmsFfn!.subarray(l * dim, (l + 1) * dim));
      if (this.moe) {
        const y = moeFfn(this.moe, l, xb, hidden, opts);
        for (let i = 0; i < dim; i++) x[i] = x[i]! + y[i]!;
        continue;
      }
      matmul(hb, xb, w.w1!.subarray(l * dim * hidden), dim, hidden);
      matmul(hb2, xb, w.w3!.subarray(l * dim * hidden), dim, hidden);
      for (let i = 0; i < hidden; i++) {
        let val = hb[i]!;
        val *= 1.0 / (1.0 + Math.exp(-val));
        val *= hb2[i]!;
        hb[i] = val;
      }
      matmul(xb, hb, w.w2!.subarray(l * dim * hidden), hidden, dim);
      for (let i = 0; i < dim; i++) x[i] = x[i]! + xb[i]!;
    }
    rmsnorm(x, x, w.rmsFinal!);
    const logits = new Float32Array(vocab);
    matmul(logits, x, w.wcls!, dim, vocab);
    return logits;
  }
}

/** One expert's SwiGLU FFN on one token, as run.c's dense FFN. */
function expertFfn(
  e: { w1: Float32Array; w2: Float32Array; w3: Float32Array },
  xb: Float32Array,
  hidden: number,
) {
  const dim = xb.length;
  const hb = new Float32Array(hidden);
  const hb2 = new Float32Array(hidden);
  matmul(hb, xb, e.w1, dim, hidden);
  matmul(hb2, xb, e.w3, dim, hidden);
  for (let i = 0; i < hidden; i++) hb[i] = (hb[i]! / (1.0 + Math.exp(-hb[i]!))) * hb2[i]!;
  const out = new Float32Array(dim);
  matmul(out, hb, e.w2, hidden, dim);
  return out;
}

/**
 * Mixtral's sparse MoE block for one token: p = softmax(router·x / temperature) over the enabled
 * experts; pick the top-k by p + bias (ties to the lower index); gates = p of those, renormalised
 * when asked; output = Σ gate · expert(x).
 */
function moeFfn(moe: RefMoe, l: number, xb: Float32Array, hidden: number, opts: RefForwardOptions) {
  const r = opts.routing?.(l) ?? {};
  const E = moe.nExperts;
  const layer = moe.layers[l]!;
  const logits = new Float32Array(E);
  matmul(logits, xb, layer.router, xb.length, E);
  const off = new Set(r.disabled ?? []);
  const t = r.temperature ?? 1;
  let max = -Infinity;
  for (let e = 0; e < E; e++) if (!off.has(e)) max = Math.max(max, logits[e]! / t);
  const p = Array.from({ length: E }, (_, e) => (off.has(e) ? 0 : Math.exp(logits[e]! / t - max)));
  const z = p.reduce((a, b) => a + b, 0);
  for (let e = 0; e < E; e++) p[e] = p[e]! / z;
  let chosen: number[] = [];
  if (r.denseMixture) chosen = Array.from({ length: E }, (_, e) => e);
  else {
    const key = (e: number) => Math.fround(Math.fround(p[e]!) + (r.bias?.[e] ?? 0));
    for (let j = 0; j < (r.topK ?? moe.topK); j++) {
      let best = -1;
      for (let e = 0; e < E; e++) {
        if (off.has(e) || chosen.includes(e)) continue;
        if (best < 0 || key(e) > key(best)) best = e;
      }
      chosen.push(best);
    }
  }
  let gates = chosen.map((e) => p[e]!);
  const sum = gates.reduce((a, b) => a + b, 0);
  if (!r.denseMixture && (r.normTopKProb ?? moe.normTopKProb)) gates = gates.map((g) => g / sum);
  opts.onRoute?.(l, chosen, gates, p);
  const out = new Float32Array(xb.length);
  chosen.forEach((e, j) => {
    const y = expertFfn(layer.experts[e]!, xb, hidden);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + gates[j]! * y[i]!;
  });
  return out;
}

function rmsnorm(o: Float32Array, x: Float32Array, weight: Float32Array): void {
  let ss = 0;
  for (let j = 0; j < x.length; j++) ss += x[j]! * x[j]!;
  ss /= x.length;
  ss += 1e-5;
  ss = 1.0 / Math.sqrt(ss);
  for (let j = 0; j < x.length; j++) o[j] = weight[j]! * (ss * x[j]!);
}

function softmax(x: Float32Array, size: number): void {
  let max = x[0]!;
  for (let i = 1; i < size; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    x[i] = Math.exp(x[i]! - max);
    sum += x[i]!;
  }
  for (let i = 0; i < size; i++) x[i] = x[i]! / sum;
}

/** W (d, n) @ x (n) → out (d), as run.c `matmul`. */
function matmul(out: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    let val = 0;
    for (let j = 0; j < n; j++) val += w[i * n + j]! * x[j]!;
    out[i] = val;
  }
}

/**
 * Mean loss of a token stream with the windowing of ARCHITECTURE.md, computed with the reference
 * model: window k feeds stream[kS..kS+S-1] from position 0 and scores stream[kS+1..kS+S].
 */
export function referenceLoss(model: ReferenceLlama, stream: Int32Array): { loss: number; count: number } {
  const S = model.p.seqLen;
  let sum = 0;
  let count = 0;
  for (let start = 0; start + 1 < stream.length; start += S) {
    const end = Math.min(start + S, stream.length - 1); // last input index (exclusive)
    for (let i = start; i < end; i++) {
      const logits = model.forward(stream[i]!, i - start);
      let max = -Infinity;
      for (const v of logits) max = Math.max(max, v);
      let z = 0;
      for (const v of logits) z += Math.exp(v - max);
      sum += max + Math.log(z) - logits[stream[i + 1]!]!;
      count++;
    }
  }
  return { loss: sum / count, count };
}
