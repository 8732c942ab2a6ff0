/**
 * Gradual pruning schedule cell (Zhu & Gupta): the cubic sparsity trajectory
 * s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(nΔt))³ as a staircase over training steps
 * (analyses/pruning/schedule.ts). Pure: it runs in the main thread, no worker and no inputs.
 */
import { gradualSchedule, SCHEDULE_OPTIONS } from '../../../analyses/pruning/catalogue';
import { defineCellKind } from '../cell-kind';
import { scheduleOptions, staircase } from './schedule-data';

export const pruningScheduleKind = defineCellKind({
  kind: 'pruning-schedule',
  title: 'Pruning schedule',
  description: 'Gradual (cubic) pruning schedule of Zhu & Gupta: sparsity over training steps',
  params: SCHEDULE_OPTIONS,
  inputs: [],
  async run({ params }) {
    const options = scheduleOptions(params);
    const trajectory = gradualSchedule(options);
    const stairs = staircase(trajectory);
    const meta = {
      ...options,
      endStep: options.startStep + options.steps * options.frequency,
      trajectory: { steps: trajectory.steps, sparsity: trajectory.sparsity },
      stairs: { steps: stairs.steps, sparsity: stairs.sparsity },
    };
    return { meta, tables: {} };
  },
});
