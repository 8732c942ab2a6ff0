/**
 * Gradual pruning schedule of Zhu & Gupta ("To prune, or not to prune"):
 *
 *   s_t = s_f + (s_i − s_f)·(1 − (t − t₀)/(n·Δt))³   for t ∈ [t₀, t₀ + n·Δt]
 *
 * Sparsity rises fast while the network has many redundant weights and slowly near the end, when
 * each removal hurts more. Masks are updated every Δt steps, so between pruning steps the sparsity
 * holds (a staircase); before t₀ it is s_i and after t₀ + n·Δt it is s_f.
 */

export interface GradualScheduleOptions {
  /** s_i, sparsity at the first pruning step (default 0). */
  initial?: number;
  /** s_f, sparsity reached at the end. */
  final: number;
  /** t₀, training step of the first pruning step (default 0). */
  startStep?: number;
  /** n, number of pruning steps after t₀. */
  steps: number;
  /** Δt, training steps between pruning steps (default 1). */
  frequency?: number;
}

interface Resolved {
  si: number;
  sf: number;
  t0: number;
  n: number;
  dt: number;
}

function resolve(o: GradualScheduleOptions): Resolved {
  const si = o.initial ?? 0;
  const sf = o.final;
  const t0 = o.startStep ?? 0;
  const dt = o.frequency ?? 1;
  const n = o.steps;
  for (const [name, v] of [
    ['initial', si],
    ['final', sf],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`gradual schedule: ${name} sparsity ${v} is not in [0, 1]`);
  }
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`gradual schedule: steps must be an integer ≥ 1, got ${n}`);
  if (!(dt > 0)) throw new RangeError(`gradual schedule: frequency must be > 0, got ${dt}`);
  if (!Number.isFinite(t0)) throw new RangeError(`gradual schedule: invalid startStep ${t0}`);
  return { si, sf, t0, n, dt };
}

/** Sparsity after pruning step k of n, exact at both ends (no rounding drift at k = 0 or n). */
function atPruningStep({ si, sf, n }: Resolved, k: number): number {
  if (k <= 0) return si;
  if (k >= n) return sf;
  return sf + (si - sf) * (1 - k / n) ** 3;
}

/**
 * Sparsity in force at training step t: the value set at the last pruning step t₀ + kΔt ≤ t,
 * clamped to s_i before t₀ and s_f after t₀ + nΔt.
 *
 * @example
 * gradualSparsity(50, { final: 0.9, steps: 10, frequency: 10 }); // 0.9 + (0 − 0.9)·0.5³ = 0.7875
 */
export function gradualSparsity(t: number, options: GradualScheduleOptions): number {
  const r = resolve(options);
  return atPruningStep(r, t <= r.t0 ? 0 : Math.floor((t - r.t0) / r.dt));
}

/** Points for plotting a schedule as a step-after line. */
export interface ScheduleTrajectory {
  steps: number[];
  sparsity: number[];
}

/**
 * The schedule at every pruning step t₀ + kΔt (k = 0..n), plus flat ends at `from` (default 0) and
 * `to` (default the last pruning step) when they lie outside. Plot with step-after interpolation.
 *
 * @example
 * gradualSchedule({ initial: 0, final: 0.8, startStep: 100, steps: 4, frequency: 50 });
 * // steps [0, 100, 150, 200, 250, 300], sparsity [0, 0, 0.4625, 0.7, 0.7875, 0.8]
 */
export function gradualSchedule(
  options: GradualScheduleOptions & { from?: number; to?: number },
): ScheduleTrajectory {
  const r = resolve(options);
  const { si, sf, t0, n, dt } = r;
  const end = t0 + n * dt;
  const from = options.from ?? Math.min(0, t0);
  const to = options.to ?? end;
  const steps: number[] = [];
  const sparsity: number[] = [];
  const push = (t: number, s: number) => {
    if (t < from || t > to) return;
    steps.push(t);
    sparsity.push(s);
  };
  if (from < t0) push(from, si);
  for (let k = 0; k <= n; k++) push(t0 + k * dt, atPruningStep(r, k));
  if (to > end) push(to, sf);
  return { steps, sparsity };
}
