/**
 * The pruning lab's pure math: scores, masks, SparseGPT, schedules, per-layer allocation and
 * efficiency accounting. Everything works on row-major Float32Array weights [out, in]; no runtime.
 */
export * from './allocation';
export * from './linalg';
export * from './patterns';
export * from './reconstruction';
export * from './schedule';
export * from './scores';
export { sparseGpt } from './sparsegpt';
export type { SparseGptOptions, SparseGptResult } from './sparsegpt';
export * from './storage';
