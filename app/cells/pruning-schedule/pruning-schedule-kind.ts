/**
 * Gradual pruning schedule cell (Zhu & Gupta): the cubic sparsity trajectory
 * s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(nΔt))³ as a staircase over training steps
 * (analyses/pruning/schedule.ts). Pure: it runs in the main thread, no worker and no inputs.
 */
import { gradualSchedule } from '../../../analyses/pruning/schedule';
import type { Json } from '../../notebook/cell-runtime';
import type { CellKind } from '../cell-kind';
import { scheduleOptions, staircase } from './schedule-data';

export const pruningScheduleKind: CellKind = {
  kind: 'pruning-schedule',
  title: 'Pruning schedule',
  description: 'Gradual (cubic) pruning schedule of Zhu & Gupta: sparsity over training steps',
  defaults: () => ({
    initial: 0,
    final: 0.8,
    startStep: 1000,
    steps: 10,
    frequency: 500,
    totalSteps: 10000,
  }),
  inputs: [],
  async run({ cell }) {
    const options = scheduleOptions(cell.params);
    const trajectory = gradualSchedule(options);
    const stairs = staircase(trajectory);
    const meta = {
      ...options,
      endStep: options.startStep + options.steps * options.frequency,
      trajectory: { steps: trajectory.steps, sparsity: trajectory.sparsity },
      stairs: { steps: stairs.steps, sparsity: stairs.sparsity },
    } satisfies Json;
    return { meta, tables: {} };
  },
};
