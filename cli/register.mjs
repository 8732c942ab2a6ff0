// Preload for the CLI and benches: TypeScript via tsx, then WGSL-as-text (registered last, runs first).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';
import { ensureWasmBuild } from '../scripts/wasm-build.mjs';

// The WebAssembly kernels are compiled ahead of time: rebuilt here when a source is newer.
ensureWasmBuild();

registerTsx();
register('./wgsl-loader.mjs', import.meta.url);
