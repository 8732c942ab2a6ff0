/**
 * The pruning lab's compute-free catalogue: methods, patterns and the option schemas of the sweep
 * and the gradual schedule, plus the schedule itself (a few lines of arithmetic the page draws
 * without the worker). The page imports this (eslint/layers.js); the pruning code stays in the
 * worker.
 */
import { option, optionSchema } from '../options';
import { sparsitiesOption } from './sparsities';

export { gradualSchedule, type GradualScheduleOptions, type ScheduleTrajectory } from './schedule';

export const PRUNING_METHODS = ['magnitude', 'wanda', 'sparsegpt'] as const;
export const PRUNING_PATTERNS = ['unstructured', '2:4', '4:8', 'channels', 'heads'] as const;
export const ALLOCATIONS = ['uniform', 'sensitivity'] as const;

/** Most points (methods × (levels per level-pattern + 1 per N:M)) one sweep may ask for. */
export const MAX_PRUNING_POINTS = 120;

/** The points a request makes: N:M patterns have one level each (1 − N/M). */
export function pointCount(methods: number, patterns: readonly string[], levels: number): number {
  return methods * patterns.reduce((a, p) => a + (/^\d+:\d+$/.test(p) ? 1 : levels), 0);
}

/**
 * Every method × pattern × sparsity, scored on held-out windows. The axes, the point, layer and
 * matrix shown and the microscope's window are view options.
 */
export const SWEEP_OPTIONS = optionSchema({
  methods: option.labelled('methods', option.choices(PRUNING_METHODS, PRUNING_METHODS, { minItems: 1 })),
  patterns: option.labelled(
    'patterns',
    option.choices(PRUNING_PATTERNS, ['unstructured', '2:4'], { minItems: 1 }),
  ),
  sparsities: sparsitiesOption([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
  calibrationWindows: option.integer(4, { min: 1 }),
  maxWindows: option.integer(2, { min: 1 }),
  allocation: option.choice(ALLOCATIONS, 'uniform'),
  xAxis: option.string('sparsity'),
  yAxis: option.string('loss'),
  point: option.integer(-1, { min: -1 }),
  layer: option.integer(0, { min: 0 }),
  matrix: option.string('w1'),
  microRow: option.integer(0, { min: 0 }),
  microGroup: option.integer(0, { min: 0 }),
});

/** Zhu & Gupta's gradual schedule: initial and final sparsity, when and how often to prune. */
export const SCHEDULE_OPTIONS = optionSchema({
  initial: option.number(0, { min: 0, max: 1 }),
  final: option.number(0.8, { min: 0, max: 1 }),
  startStep: option.labelled('start step', option.integer(1000, { min: 0 })),
  steps: option.integer(10, { min: 1 }),
  frequency: option.integer(500, { min: 1 }),
  totalSteps: option.labelled('total steps', option.integer(10000, { min: 1 })),
});
