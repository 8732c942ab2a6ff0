// The WebAssembly kernels (scripts/wasm-build.mjs compiles this entry).
export { gemmPanels, peakLoop } from './matmul';
export { attentionHeads } from './attention';
export { activationRows } from './activation';
export { layernormRows, rmsnormRows } from './norm';
export { softmaxRows, topkRows } from './rows';
