/**
 * Double Sparsity ("Post-Training Sparse Attention with Double Sparsity"): offline, rank each query
 * head's channels by mean |q_c·k_c| over causal pairs of calibration text; online, approximate q·k
 * with the top r channels (they report r = headDim/16) and keep the top tokens by that estimate.
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, keepSelfPlusTop, kvHeadOf, rowBudgets, rowScores, validateQK } from './common';

/** Chosen channels per query head, each list sorted ascending. */
export interface ChannelCalibration {
  nHeads: number;
  headDim: number;
  r: number;
  /** [nHeads, r] channel indices. */
  channels: Int32Array;
}

/**
 * Channels kept per head by default: Double Sparsity's d/16, at least 2 (and at most d).
 *
 * @example
 * defaultChannelRank(64); // 4
 */
export function defaultChannelRank(headDim: number): number {
  return Math.min(headDim, Math.max(2, Math.round(headDim / 16)));
}

/**
 * Pick per query head the r channels with the largest mean |q_c·k_c| over all causal pairs of the
 * samples (held-out text, same layer). |q_c·k_c| = |q_c|·|k_c| factorises, so the causal mean costs
 * O(T·d) with a running sum of |k_c| instead of O(T²·d).
 *
 * @example
 * const cal = calibrateChannels([heldOutQK], 4);
 * channelMask(input, 0.25, { calibration: cal });
 */
export function calibrateChannels(qkSamples: readonly LayerQK[], r: number): ChannelCalibration {
  const first = qkSamples[0];
  if (!first) throw new Error('calibrateChannels needs at least one sample of q/k');
  const { nHeads, headDim: d } = first;
  if (!Number.isInteger(r) || r < 1 || r > d)
    throw new Error(`r must be a whole number in [1, ${d}]; got ${r}`);
  const score = new Float64Array(nHeads * d);
  for (const s of qkSamples) {
    validateQK(s);
    if (s.nHeads !== nHeads || s.headDim !== d || s.nKvHeads !== first.nKvHeads) {
      throw new Error(`calibration samples differ in shape (layer ${s.layer} vs layer ${first.layer})`);
    }
    for (let h = 0; h < nHeads; h++) {
      const g = kvHeadOf(s, h);
      for (let c = 0; c < d; c++) {
        let kAbs = 0;
        let acc = 0;
        for (let i = 0; i < s.T; i++) {
          kAbs += Math.abs(s.k[(i * s.nKvHeads + g) * d + c]!);
          acc += Math.abs(s.q[(i * nHeads + h) * d + c]!) * kAbs;
        }
        score[h * d + c] = score[h * d + c]! + acc; // a sum: the mean's divisor is shared by all channels
      }
    }
  }
  const channels = new Int32Array(nHeads * r);
  for (let h = 0; h < nHeads; h++) {
    const idx = Array.from({ length: d }, (_, c) => c);
    idx.sort((a, b) => score[h * d + b]! - score[h * d + a]! || a - b);
    const top = idx.slice(0, r).sort((a, b) => a - b);
    channels.set(top, h * r);
  }
  return { nHeads, headDim: d, r, channels };
}

export interface ChannelOptions {
  /** From `calibrateChannels` on held-out text (required: calibrating on the scored text would leak). */
  calibration?: ChannelCalibration;
}

/**
 * Channel-approximate top-k mask: the diagonal plus the n_i − 1 earlier keys with the largest
 * q·k estimated from the calibrated channels. With r = headDim it is exactly `topkMask`.
 *
 * @example
 * channelMask(input, 0.25, { calibration: calibrateChannels([heldOut], 4) });
 */
export function channelMask(input: LayerQK, budget: number, options: ChannelOptions = {}): HeadMasks {
  validateQK(input);
  const cal = options.calibration;
  if (!cal)
    throw new Error('the channel family needs options.calibration (calibrateChannels on held-out text)');
  if (cal.nHeads !== input.nHeads || cal.headDim !== input.headDim) {
    throw new Error(
      `calibration is for ${cal.nHeads} heads × ${cal.headDim} dims; q/k have ${input.nHeads} × ${input.headDim}`,
    );
  }
  const { T, nHeads } = input;
  const n = rowBudgets(T, budget, false, 'channel');
  const masks = emptyMasks(T, nHeads);
  const s = new Float64Array(T);
  for (let h = 0; h < nHeads; h++) {
    const ch = cal.channels.subarray(h * cal.r, (h + 1) * cal.r);
    for (let i = 0; i < T; i++) {
      if (n[i]! < i + 1) rowScores(input, h, i, s, ch);
      keepSelfPlusTop(masks.keep, (h * T + i) * T, i, n[i]!, s);
    }
  }
  return masks;
}
