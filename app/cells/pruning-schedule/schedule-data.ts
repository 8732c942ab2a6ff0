/**
 * The schedule cell's params as `gradualSchedule` options (checked), and the trajectory as a
 * staircase a straight-line chart draws: the sparsity set at each pruning step holds until the
 * next. Pure.
 */
import type {
  GradualScheduleOptions,
  ScheduleTrajectory,
  SCHEDULE_OPTIONS,
} from '../../../analyses/pruning/catalogue';
import type { OptionsOf } from '../../../analyses/options';

export type ResolvedSchedule = Required<GradualScheduleOptions> & { from: number; to: number };

/** The schedule drawn from step 0 to the total steps (at least one step). */
export function scheduleOptions(params: OptionsOf<typeof SCHEDULE_OPTIONS.fields>): ResolvedSchedule {
  const { totalSteps, ...o } = params;
  return { ...o, from: 0, to: Math.max(totalSteps, 1) };
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
