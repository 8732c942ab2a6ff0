/**
 * bench/cpu-kernels: the CPU reference matmul and attention against their original naive loops
 * (kept below as the peer), on the operands of a real forward pass (default 512 tokens of
 * stories260K), then the whole forward with the naive kernels swapped in versus the current ones.
 * Best of --reps runs each, interleaved; prints one JSON line.
 *
 *   node --import ./cli/register.mjs bench/cpu-kernels.ts [--model M --tokenizer T --tokens 512 --reps 15]
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadModel, readText } from '../cli/session';
import { buildTokenStream } from '../runtime';
import type { AttentionOptions, AttentionResult, Backend } from '../kernels/backend';
import type { Tensor } from '../kernels/tensor';
import { cpu, f32 } from '../kernels/cpu-tensor';
import { attentionDims, matmulShape } from '../kernels/shapes';
import { matmulCpu } from '../kernels/matmul.cpu';
import { attentionCpu } from '../kernels/attention.cpu';

const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../../shared');
const { values: f } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: path.join(shared, 'models/stories260K/tok512.bin') },
    text: { type: 'string', default: path.join(shared, 'data/tinystories-valid-1000.txt') },
    tokens: { type: 'string', default: '512' },
    reps: { type: 'string', default: '15' },
  },
});
const reps = Number(f.reps);

// ---- The peer: the loops the CPU kernels started from, unchanged. ----

function naiveMatmul(a: Tensor<'f32'>, b: Tensor<'f32'>, transposeB = false): Tensor<'f32'> {
  const { m, k, n } = matmulShape(a.shape, b.shape, transposeB);
  const A = cpu(a).data;
  const B = cpu(b).data;
  const out = new Float32Array(m * n);
  if (transposeB) {
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += A[ai + p]! * B[bj + p]!;
        out[i * n + j] = s;
      }
    }
  } else {
    const row = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const a_ip = A[i * k + p]!;
        if (a_ip === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) row[j]! += a_ip * B[bp + j]!;
      }
      for (let j = 0; j < n; j++) out[i * n + j] = row[j]!;
    }
  }
  return f32(out, [m, n]);
}

function naiveSoftmaxRow(v: Float32Array, start: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, v[start + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(v[start + i]! - max);
    v[start + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) v[start + i]! /= sum;
}

function naiveAttention(
  q: Tensor<'f32'>,
  k: Tensor<'f32'>,
  v: Tensor<'f32'>,
  opts: AttentionOptions,
): AttentionResult {
  const { t, tk, nHeads, nKvHeads, headDim, pos0 } = attentionDims(q.shape, k.shape, v.shape, opts);
  const Q = cpu(q).data;
  const K = cpu(k).data;
  const V = cpu(v).data;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float32Array(t * qDim);
  const probs = new Float32Array(opts.returnProbs ? nHeads * t * tk : 0);
  const att = new Float32Array(tk);
  for (let h = 0; h < nHeads; h++) {
    const kvo = Math.floor(h / group) * headDim;
    for (let i = 0; i < t; i++) {
      const n = pos0 + i + 1;
      const qo = i * qDim + h * headDim;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += Q[qo + d]! * K[j * kvDim + kvo + d]!;
        att[j] = s * scale;
      }
      naiveSoftmaxRow(att, 0, n);
      for (let d = 0; d < headDim; d++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += att[j]! * V[j * kvDim + kvo + d]!;
        out[qo + d] = s;
      }
      if (opts.returnProbs) probs.set(att.subarray(0, n), (h * t + i) * tk);
    }
  }
  const result: AttentionResult = { out: f32(out, [t, qDim]) };
  if (opts.returnProbs) result.probs = f32(probs, [nHeads, t, tk]);
  return result;
}

// ---- Timing helpers. ----

/** Best time in ms of each function, the runs interleaved so background load hits both alike. */
function best(fns: (() => unknown)[]): number[] {
  const times = fns.map(() => Infinity);
  for (let r = 0; r < reps; r++) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      fn();
      times[i] = Math.min(times[i]!, performance.now() - t0);
    });
  }
  return times;
}

/** max |x − ref| / max |ref|: the error relative to the output's scale. */
function relDiff(x: Float32Array, ref: Float32Array): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - ref[i]!));
    r = Math.max(r, Math.abs(ref[i]!));
  }
  return r === 0 ? d : d / r;
}

const ms = (x: number) => +x.toFixed(3);

function row(naive: number, current: number, diff?: number) {
  return {
    naive_ms: ms(naive),
    ms: ms(current),
    speedup: +(naive / current).toFixed(2),
    ...(diff === undefined ? {} : { max_rel_diff: +diff.toExponential(2) }),
  };
}

// ---- Operands of a real forward pass. ----

const { backend, model, tokenizer } = await loadModel('cpu', f.model!, f.tokenizer!);
const n = Math.min(Number(f.tokens), model.config.seqLen);
const tokens = buildTokenStream(tokenizer, await readText(f.text!)).tokens.slice(0, n);

type MatmulCase = { a: Tensor<'f32'>; b: Tensor<'f32'>; transposeB: boolean; calls: number };
type AttentionCase = { q: Tensor<'f32'>; k: Tensor<'f32'>; v: Tensor<'f32'>; opts: AttentionOptions };
const matmuls = new Map<string, MatmulCase>();
let attention: AttentionCase | undefined;
const kernels = { matmul: backend.matmul, attention: backend.attention };
const patched = backend as { -readonly [K in keyof Backend]: Backend[K] };
/** The bench's model is float32 (llama2.c): its naive reference reads f32 weights only. */
const f32Weight = (b: Tensor): Tensor<'f32'> => {
  if (b.dtype !== 'f32') throw new Error(`cpu-kernels bench: expected f32 weights, got ${b.dtype}`);
  return b as Tensor<'f32'>;
};
patched.matmul = (a, wb, o) => {
  const b = f32Weight(wb);
  const transposeB = o?.transposeB ?? false;
  const { m, k, n } = matmulShape(a.shape, b.shape, transposeB);
  const key = `${m}x${k} @ ${transposeB ? `${n}x${k}^T` : `${k}x${n}`}`;
  const seen = matmuls.get(key);
  if (seen) seen.calls++;
  else matmuls.set(key, { a, b, transposeB, calls: 1 });
  return kernels.matmul(a, b, o);
};
let layer = 0;
patched.attention = (q, k, v, opts) => {
  // A middle layer's inputs: the time of Math.exp depends a little on the spread of the scores.
  if (layer++ === Math.floor(model.config.nLayers / 2)) attention = { q, k, v, opts };
  return kernels.attention(q, k, v, opts);
};
backend.dispose(await model.forward(tokens));
patched.matmul = kernels.matmul;
patched.attention = kernels.attention;

const result: Record<string, unknown> = {
  bench: 'cpu-kernels',
  model: path.basename(f.model!),
  tokens: n,
  reps,
};

// Kernel time of one forward, summed over its calls: [naive, current].
const perForward = { matmul: [0, 0], attention: [0, 0] };
const matmulRows: Record<string, unknown> = {};
for (const [key, c] of matmuls) {
  const diff = relDiff(
    cpu(matmulCpu(c.a, c.b, c.transposeB)).data,
    cpu(naiveMatmul(c.a, c.b, c.transposeB)).data,
  );
  const [tn, tc] = best([() => naiveMatmul(c.a, c.b, c.transposeB), () => matmulCpu(c.a, c.b, c.transposeB)]);
  matmulRows[key] = { calls_per_forward: c.calls, ...row(tn!, tc!, diff) };
  perForward.matmul[0]! += c.calls * tn!;
  perForward.matmul[1]! += c.calls * tc!;
}
result.matmul = matmulRows;

if (attention) {
  const { q, k, v, opts } = attention;
  const rows: Record<string, unknown> = {};
  for (const returnProbs of [false, true]) {
    const o = { ...opts, returnProbs };
    const got = attentionCpu(q, k, v, o);
    const ref = naiveAttention(q, k, v, o);
    let diff = relDiff(cpu(got.out).data, cpu(ref.out).data);
    if (returnProbs) diff = Math.max(diff, relDiff(cpu(got.probs!).data, cpu(ref.probs!).data));
    const [tn, tc] = best([() => naiveAttention(q, k, v, o), () => attentionCpu(q, k, v, o)]);
    rows[`T${q.shape[0]} Tk${k.shape[0]}${returnProbs ? ' +probs' : ''}`] = row(tn!, tc!, diff);
    if (!returnProbs) perForward.attention = [layer * tn!, layer * tc!];
  }
  result.attention = rows;
}

// The whole forward (embedding to logits), naive kernels swapped in versus the current ones.
const forwardWith = (mm: Backend['matmul'], att: Backend['attention']) => async () => {
  patched.matmul = mm;
  patched.attention = att;
  backend.dispose(await model.forward(tokens));
};
const naiveForward = forwardWith(
  (a, b, o) => naiveMatmul(a, f32Weight(b), o?.transposeB ?? false),
  naiveAttention,
);
const currentForward = forwardWith(kernels.matmul, kernels.attention);
const forwardTimes = [Infinity, Infinity];
for (let r = 0; r < Math.max(3, Math.ceil(reps / 3)); r++) {
  for (const [i, run] of [naiveForward, currentForward].entries()) {
    const t0 = performance.now();
    await run();
    forwardTimes[i] = Math.min(forwardTimes[i]!, performance.now() - t0);
  }
}
result.matmul_per_forward = row(perForward.matmul[0]!, perForward.matmul[1]!);
result.attention_per_forward = row(perForward.attention[0]!, perForward.attention[1]!);
result.forward = row(forwardTimes[0]!, forwardTimes[1]!);

console.log(JSON.stringify(result));
model.dispose();
backend.destroy();
process.exit(0);
