/**
 * The schedule cell's params as `gradualSchedule` options (checked), and the trajectory as a
 * staircase a straight-line chart draws: the sparsity set at each pruning step holds until the
 * next. Pure.
 */
import type { GradualScheduleOptions, ScheduleTrajectory } from '../../../analyses/pruning/schedule';

export type ResolvedSchedule = Required<GradualScheduleOptions> & { from: number; to: number };

/**
 * @throws RangeError naming a bad param (the schedule itself checks sparsities, n and Δt).
 */
export function scheduleOptions(params: Record<string, unknown>): ResolvedSchedule {
  const num = (k: string) => Number(params[k]);
  const o = {
    initial: num('initial'),
    final: num('final'),
    startStep: num('startStep'),
    steps: num('steps'),
    frequency: num('frequency'),
  };
  for (const [k, v] of Object.entries(o))
    if (!Number.isFinite(v)) throw new RangeError(`${k} must be a number, got ${String(params[k])}`);
  if (o.startStep < 0) throw new RangeError(`start step must be ≥ 0, got ${o.startStep}`);
  const end = o.startStep + o.steps * o.frequency;
  const total = params.totalSteps === undefined ? end : num('totalSteps');
  if (!(total > 0)) throw new RangeError(`total steps must be > 0, got ${String(params.totalSteps)}`);
  return { ...o, from: 0, to: Math.max(total, 1) };
}

/** Step-after points: (t_k, s_k), (t_{k+1}, s_k), (t_{k+1}, s_{k+1}), … */
export function staircase(t: ScheduleTrajectory): ScheduleTrajectory {
  const steps: number[] = [];
  const sparsity: number[] = [];
  t.steps.forEach((step, i) => {
    if (i > 0) {
      steps.push(step);
      sparsity.push(t.sparsity[i - 1]!);
    }
    steps.push(step);
    sparsity.push(t.sparsity[i]!);
  });
  return { steps, sparsity };
}
