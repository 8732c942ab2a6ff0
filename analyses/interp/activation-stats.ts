/**
 * Statistics of one hook's activations [T tokens × C channels] for the activations explorer:
 * per channel mean |a|, max |a|, excess kurtosis and share near zero; massive activations
 * (Sun et al., "Massive Activations in Large Language Models": |a| > 100 and > 1000× the median
 * |a| of the tensor) and outlier channels (LLM.int8(): some |a| ≥ 6 in a channel, the features
 * that AWQ/SpQR-style quantisers protect); and, per token, the share of channels near zero.
 */

export interface ChannelStats {
  channel: number;
  meanAbs: number;
  maxAbs: number;
  /** Excess kurtosis over tokens (0 for a Gaussian; large for heavy-tailed channels). */
  kurtosis: number;
  /** Share of tokens with |a| ≤ the near-zero threshold. */
  nearZero: number;
  outlier: boolean;
}

export interface ActivationStats {
  tokens: number;
  channels: number;
  nearZeroThreshold: number;
  /** Median |a| over the whole tensor. */
  medianAbs: number;
  channelStats: ChannelStats[];
  /** Entries that are massive activations, largest first (at most 64). */
  massive: { token: number; channel: number; value: number }[];
  /** Channels flagged as outliers. */
  outlierChannels: number[];
  /** Per token, the share of channels with |a| ≤ threshold (activation sparsity per token). */
  tokenSparsity: number[];
}

/**
 * @param a [T × C] row-major activations
 * @example
 * activationStats(hookValues, T, C, { nearZero: 0.01 }).outlierChannels; // e.g. [447]
 * @throws Error for a non-finite value (naming token and channel) or a shape mismatch.
 */
export function activationStats(
  a: Float32Array,
  T: number,
  C: number,
  options: { nearZero?: number; outlierMagnitude?: number } = {},
): ActivationStats {
  if (a.length !== T * C)
    throw new RangeError(`activations: ${a.length} values are not ${T} tokens × ${C} channels`);
  const eps = options.nearZero ?? 0.01;
  const outlierAt = options.outlierMagnitude ?? 6;
  const bad = a.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(`activation at token ${Math.floor(bad / C)}, channel ${bad % C} is ${a[bad]}`);
  const abs = Float32Array.from(a, Math.abs);
  const medianAbs = median(abs);
  const channelStats: ChannelStats[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0;
    let sumAbs = 0;
    let maxAbs = 0;
    let zeros = 0;
    for (let t = 0; t < T; t++) {
      const v = a[t * C + c]!;
      sum += v;
      sumAbs += Math.abs(v);
      maxAbs = Math.max(maxAbs, Math.abs(v));
      if (Math.abs(v) <= eps) zeros++;
    }
    const mean = sum / T;
    let m2 = 0;
    let m4 = 0;
    for (let t = 0; t < T; t++) {
      const d = a[t * C + c]! - mean;
      m2 += d * d;
      m4 += d * d * d * d;
    }
    m2 /= T;
    m4 /= T;
    channelStats.push({
      channel: c,
      meanAbs: sumAbs / T,
      maxAbs,
      kurtosis: m2 > 0 ? m4 / (m2 * m2) - 3 : 0,
      nearZero: zeros / T,
      outlier: maxAbs >= outlierAt,
    });
  }
  const massive: { token: number; channel: number; value: number }[] = [];
  for (let i = 0; i < a.length; i++) {
    if (abs[i]! > 100 && abs[i]! > 1000 * medianAbs)
      massive.push({ token: Math.floor(i / C), channel: i % C, value: a[i]! });
  }
  massive.sort((x, y) => Math.abs(y.value) - Math.abs(x.value));
  const tokenSparsity = Array.from({ length: T }, (_, t) => {
    let zeros = 0;
    for (let c = 0; c < C; c++) if (abs[t * C + c]! <= eps) zeros++;
    return zeros / C;
  });
  return {
    tokens: T,
    channels: C,
    nearZeroThreshold: eps,
    medianAbs,
    channelStats,
    massive: massive.slice(0, 64),
    outlierChannels: channelStats.filter((s) => s.outlier).map((s) => s.channel),
    tokenSparsity,
  };
}

function median(values: Float32Array): number {
  const s = Float32Array.from(values).sort();
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
