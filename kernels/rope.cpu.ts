import type { RopeOptions, RopeScaling } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';

/** Options of rope after the checks, with every default filled in. */
export interface RopeChecked {
  rows: number;
  cols: number;
  headDim: number;
  pos0: number;
  theta: number;
  rotaryDim: number;
  style: 'interleaved' | 'half';
  scaling: RopeScaling | undefined;
}

/**
 * Checks of rope, shared with the WebGPU dispatcher so both reject alike: headDim even and
 * dividing the row; pos0 a non-negative integer; rotaryDim even in [2, headDim]; theta finite and
 * > 0; a known style; scaling factors finite and > 0, llama3 with lowFreqFactor < highFreqFactor.
 */
export function ropeDims(shape: readonly number[], o: RopeOptions): RopeChecked {
  const [rows, cols] = rowsCols(shape);
  const { headDim } = o;
  const pos0 = o.pos0 ?? 0;
  const theta = o.theta ?? 10000;
  const rotaryDim = o.rotaryDim ?? headDim;
  const style = o.style ?? 'interleaved';
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0 || cols % headDim !== 0) {
    throw new Error(`rope: headDim ${headDim} must be even and divide the row width ${cols}`);
  }
  if (!Number.isInteger(pos0) || pos0 < 0) {
    throw new Error(`rope: pos0 must be a non-negative integer, got ${pos0}`);
  }
  if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim > headDim || rotaryDim % 2 !== 0) {
    throw new Error(`rope: rotaryDim ${rotaryDim} must be even and in [2, headDim ${headDim}]`);
  }
  if (!(theta > 0) || !Number.isFinite(theta)) {
    throw new Error(`rope: theta must be a finite number > 0, got ${theta}`);
  }
  if (style !== 'interleaved' && style !== 'half') {
    throw new Error(`rope: style must be 'interleaved' or 'half', got '${String(style)}'`);
  }
  const s = o.scaling;
  if (s) {
    const positive = (v: number): boolean => v > 0 && Number.isFinite(v);
    if (s.type !== 'llama3' && s.type !== 'linear') {
      throw new Error(
        `rope: unknown scaling type '${String((s as { type: unknown }).type)}' (llama3 or linear)`,
      );
    }
    if (!positive(s.factor))
      throw new Error(`rope: scaling factor must be a finite number > 0, got ${s.factor}`);
    if (s.type === 'llama3') {
      if (
        !positive(s.lowFreqFactor) ||
        !positive(s.highFreqFactor) ||
        !(s.lowFreqFactor < s.highFreqFactor)
      ) {
        throw new Error(
          `rope: llama3 scaling needs finite 0 < lowFreqFactor < highFreqFactor, got ${s.lowFreqFactor} and ${s.highFreqFactor}`,
        );
      }
      if (!positive(s.originalMaxPositions)) {
        throw new Error(`rope: llama3 scaling needs originalMaxPositions > 0, got ${s.originalMaxPositions}`);
      }
    }
  }
  return { rows, cols, headDim, pos0, theta, rotaryDim, style, scaling: s };
}

/**
 * Inverse frequencies of the rotaryDim/2 pairs in float64: theta^(−2i/rotaryDim), then the
 * scaling. llama3 follows HF's `_compute_llama3_parameters` (modeling_rope_utils.py): with
 * wavelen = 2π/freq, wavelengths shorter than originalMaxPositions/highFreqFactor keep their
 * frequency, those longer than originalMaxPositions/lowFreqFactor are divided by factor, and in
 * between smooth = (originalMaxPositions/wavelen − lowFreqFactor)/(highFreqFactor − lowFreqFactor)
 * blends the two: (1 − smooth)·freq/factor + smooth·freq. linear divides every frequency by factor.
 * HF computes these in float32; the float64 values differ by a relative ~1e-7, which at positions
 * below 512 moves the outputs by < 1e-4 of their size (rope-variants.test.ts measures it).
 */
export function ropeInvFreq(theta: number, rotaryDim: number, scaling?: RopeScaling): Float64Array {
  const half = rotaryDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    // The expression of the original llama2.c-layout rope, so unscaled results are unchanged.
    const freq = 1 / Math.pow(theta, (2 * i) / rotaryDim);
    inv[i] = scaling ? scaleFreq(freq, scaling) : freq;
  }
  return inv;
}

function scaleFreq(freq: number, s: RopeScaling): number {
  if (s.type === 'linear') return freq / s.factor;
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  const wavelen = (2 * Math.PI) / freq;
  if (wavelen < highFreqWavelen) return freq;
  if (wavelen > lowFreqWavelen) return freq / s.factor;
  const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return ((1 - smooth) * freq) / s.factor + smooth * freq;
}

/**
 * Reference rotary embedding of x [T, nHeads·headDim] at positions pos0 + row, in float64. Within
 * each head only the leading rotaryDim dims rotate (the rest are copied): 'interleaved' (llama2.c)
 * pairs dims 2i and 2i+1, 'half' (HF rotate_half / NeoX) pairs dims i and i + rotaryDim/2; pair i
 * turns by pos · invFreq[i] (`ropeInvFreq`), out = (a·cos − b·sin, b·cos + a·sin).
 * The positional form (x, headDim, pos0, theta) is the original llama2.c-layout call.
 */
export function ropeCpu(x: Tensor<'f32'>, opts: RopeOptions): Tensor<'f32'>;
export function ropeCpu(x: Tensor<'f32'>, headDim: number, pos0?: number, theta?: number): Tensor<'f32'>;
export function ropeCpu(
  x: Tensor<'f32'>,
  optsOrHeadDim: RopeOptions | number,
  pos0?: number,
  theta?: number,
): Tensor<'f32'> {
  const opts = typeof optsOrHeadDim === 'number' ? { headDim: optsOrHeadDim, pos0, theta } : optsOrHeadDim;
  const c = ropeDims(x.shape, opts);
  const { rows, cols, headDim } = c;
  const invFreq = ropeInvFreq(c.theta, c.rotaryDim, c.scaling);
  const half = c.rotaryDim / 2;
  // Pair i of a head: dims (first + i·step, first + i·step + gap) from the head's start.
  const step = c.style === 'half' ? 1 : 2;
  const gap = c.style === 'half' ? half : 1;
  const X = cpu(x).data;
  const out = X.slice(); // the dims that do not rotate pass through
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let r = 0; r < rows; r++) {
    const pos = c.pos0 + r;
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i]!;
      cos[i] = Math.cos(angle);
      sin[i] = Math.sin(angle);
    }
    for (let h = r * cols; h < (r + 1) * cols; h += headDim) {
      for (let i = 0; i < half; i++) {
        const ia = h + i * step;
        const ib = ia + gap;
        const a = X[ia]!;
        const b = X[ib]!;
        out[ia] = a * cos[i]! - b * sin[i]!;
        out[ib] = a * sin[i]! + b * cos[i]!;
      }
    }
  }
  return f32(out, x.shape);
}
