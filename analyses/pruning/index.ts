/**
 * The pruning lab: pure math (scores, masks, SparseGPT, schedules, allocation, accounting) and the
 * drivers that run it on a model (calibration, sweeps, evaluation, upload, export).
 */
export * from './allocation';
export * from './block-weights';
export * from './linalg';
export * from './patterns';
export * from './reconstruction';
export * from './schedule';
export * from './scores';
export { sparseGpt } from './sparsegpt';
export type { SparseGptOptions, SparseGptResult } from './sparsegpt';
export * from './storage';
export * from './calibration';
export * from './cliff';
export * from './evaluate';
export * from './export';
export * from './prune-block';
export * from './prune-model';
export * from './options';
export * from './sensitivity';
export * from './sweep';
export * from './tables';
export * from './upload';
